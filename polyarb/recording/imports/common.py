"""Shared pieces of the importers: synthetic ids, tick rows, frame text."""

from __future__ import annotations

import hashlib
import json
from typing import Any

TICK_INTERVAL_NS = 1_000_000_000
"""Cadence of tick rows in imported sessions, as the live feed inserts them."""


def synthetic_token_id(condition_id: str, outcome: str) -> str:
    """A stable 77-digit decimal token id for data that publishes none (documented as synthetic)."""
    digest = hashlib.sha256(f"{condition_id}:{outcome}".encode()).hexdigest()
    return str(int(digest, 16) % 10**77).rjust(77, "1")


def compact(obj: Any) -> str:
    """Wire-style JSON text: no spaces, keys in the given order."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def subscribe_text(asset_ids: list[str]) -> str:
    """The initial subscribe frame polyarb sends (polymarket-protocol.md §1)."""
    return compact(
        {
            "assets_ids": asset_ids,
            "type": "market",
            "custom_feature_enabled": True,
            "initial_dump": True,
        }
    )
