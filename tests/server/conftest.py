"""Server test fixtures: a client that speaks the market channel to a ServerThread."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def burst(bundled_recordings: Path) -> Path:
    return bundled_recordings / "crossing-burst-2026-09-29"


@pytest.fixture
def resolvedkit(bundled_recordings: Path) -> Path:
    return bundled_recordings / "resolvedkit-btc15m"
