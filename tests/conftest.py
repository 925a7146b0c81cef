"""Fixtures every area shares: the real data folder and the bundled sessions, imported once."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyarb.cli.common import shared_data_dir
from polyarb.recording.imports import import_burst, import_resolvedkit


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data/polymarket``; the tests read real data from there, never from the repo."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.fail(f"shared data folder not found at {path}")
    return path


@pytest.fixture(scope="session")
def bundled_recordings(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A recordings folder holding every bundled session (import once per test run).

    Treat it as read-only: tests that write runs should copy a session first
    (``copy_session``) so they do not disturb each other.
    """
    root = tmp_path_factory.mktemp("bundled") / "recordings"
    import_resolvedkit(shared_data / "resolvedkit_btc15m", root)
    import_burst(shared_data, root)
    return root


@pytest.fixture
def copy_session(bundled_recordings: Path, tmp_path: Path):
    """``copy_session(id) -> Path``: a private writable copy of a bundled session."""
    import shutil

    def _copy(session_id: str) -> Path:
        target = tmp_path / "recordings" / session_id
        shutil.copytree(bundled_recordings / session_id, target)
        return target

    return _copy


BUNDLED_SESSIONS = ("resolvedkit-btc15m", "crossing-burst-2026-09-29")
