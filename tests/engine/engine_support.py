"""Engine test helpers shared by the modules here (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from decimal import Decimal

from polyarb.config.profile import Execution, LatencyModel, Profile, RiskLimits


def big_profile(**risk: object) -> Profile:
    """$200 baskets so every neg-risk leg clears the venue's $1 minimum notional."""
    latency = risk.pop("latency", LatencyModel())
    execution = risk.pop("execution", Execution())
    limits = {
        "trade_size_usd": Decimal("200"),
        "max_position_per_market_usd": Decimal("1000"),
        "max_total_position_usd": Decimal("5000"),
        "max_daily_loss_usd": Decimal("100"),
        **risk,
    }
    return Profile(
        name="big",
        detectors=("binary_complete_set", "negrisk_basket"),
        risk=RiskLimits(**limits),  # type: ignore[arg-type]
        latency=latency,  # type: ignore[arg-type]
        execution=execution,  # type: ignore[arg-type]
    )


def book_frame(  # type: ignore[no-untyped-def]
    asset, market, ts, bids, asks, tick="0.01"
) -> str:
    """A ``book`` frame's text: every listed price at size 100."""
    return json.dumps(
        {
            "market": market,
            "asset_id": asset,
            "timestamp": str(ts),
            "hash": "",
            "bids": [{"price": p, "size": "100"} for p in bids],
            "asks": [{"price": p, "size": "100"} for p in asks],
            "tick_size": tick,
            "event_type": "book",
        }
    )
