"""Server test fixtures: a client that speaks the market channel to a ServerThread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def burst(bundled_recordings: Path) -> Path:
    return bundled_recordings / "crossing-burst-2026-09-29"


@pytest.fixture
def resolvedkit(bundled_recordings: Path) -> Path:
    return bundled_recordings / "resolvedkit-btc15m"


def subscribe(assets: list[str], *, custom: bool = True, dump: bool = True) -> str:
    return json.dumps(
        {
            "assets_ids": assets,
            "type": "market",
            "custom_feature_enabled": custom,
            "initial_dump": dump,
        }
    )
