"""Engine test fixtures: the neg-risk session built once per test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyarb.recording.imports.negrisk import import_negrisk


@pytest.fixture(scope="session")
def negrisk_session(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    return import_negrisk(shared_data, tmp_path_factory.mktemp("negrisk"))
