"""What polyarb writes in the wire's own style: compact JSON and the subscribe frame."""

from __future__ import annotations

import json
from typing import Any


def compact(obj: Any) -> str:
    """Wire-style JSON text: no spaces, keys in the given order."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def subscribe_text(asset_ids: list[str]) -> str:
    """The initial subscribe frame polyarb sends (docs/protocol.md §Subscribing)."""
    return compact(
        {
            "assets_ids": asset_ids,
            "type": "market",
            "custom_feature_enabled": True,
            "initial_dump": True,
        }
    )
