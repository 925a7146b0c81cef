"""Synthetic histories shared by the analytics tests (real folders, real schemas)."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyarb.testing.history import write_history


@pytest.fixture(scope="session")
def shadow_week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven days of passing Phase 0 shadow runs with replays. Read-only."""
    root = tmp_path_factory.mktemp("shadow_week") / "recordings"
    write_history(root, days=7, with_replay=True)
    return root
