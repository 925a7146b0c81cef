"""Live-loop fixtures: the bundled neg-risk session (imported once) and a served exchange double."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def negrisk_source(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    from polyarb.recording.imports.negrisk import import_negrisk

    return import_negrisk(shared_data, tmp_path_factory.mktemp("negrisk"))


@pytest.fixture
def serve() -> Iterator[object]:
    """``serve(session, *flags) -> (ws_url, clob_url)``: a real `polyarb serve --clob` process."""
    from live_support import start_serve

    procs: list[subprocess.Popen[str]] = []

    def _start(session: Path, *flags: str) -> tuple[str, str]:
        proc, ws, clob = start_serve(session, *flags)
        procs.append(proc)
        return ws, clob

    yield _start
    for proc in procs:
        proc.terminate()
        proc.wait(30)
