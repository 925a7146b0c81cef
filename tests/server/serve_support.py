"""Helpers for the serve tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json


def subscribe(assets: list[str], *, custom: bool = True, dump: bool = True) -> str:
    """The initial subscribe frame a market-channel client sends."""
    return json.dumps(
        {
            "assets_ids": assets,
            "type": "market",
            "custom_feature_enabled": custom,
            "initial_dump": dump,
        }
    )
