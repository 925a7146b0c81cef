"""Hand-built neg-risk rows for engine tests: groups, book snapshots, deltas, resolutions.

Small enough to read in a test: every outcome's YES and NO book has one level a
side (1000 shares), and :class:`Feed` hands rows to a real :class:`Engine` with
increasing ``seq`` at the receive times the test names.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from polyarb.config.profile import LatencyModel, Profile, RiskLimits
from polyarb.engine import Engine, MemorySink
from polyarb.protocol.markets import MarketMeta
from polyarb.units import SCALE, format_fixed

T0_MS = 1_800_000_000_000
MS = 1_000_000


def group(
    name: str, n: int, *, placeholder: bool = False, augmented: bool = False, fee_rate: int = 0
) -> list[MarketMeta]:
    """``n`` outcomes of one neg-risk event (the last one a ``negRiskOther`` if asked)."""
    last = n - 1
    return [
        outcome(
            name, i, placeholder=placeholder and i == last, augmented=augmented, fee_rate=fee_rate
        )
        for i in range(n)
    ]


def outcome(
    name: str, i: int, *, placeholder: bool = False, augmented: bool = False, fee_rate: int = 0
) -> MarketMeta:
    cid = f"0x{name}{i}"
    return MarketMeta(
        condition_id=cid,
        question=f"Will outcome {i} of {name} win?",
        slug=f"{name}-{i}",
        token_ids=(cid + "-yes", cid + "-no"),
        outcomes=("Yes", "No"),
        tick_size=10_000,
        min_order_size=5 * SCALE,
        neg_risk=True,
        neg_risk_augmented=augmented,
        neg_risk_market_id=f"0xnr-{name}",
        neg_risk_other=placeholder,
        fee_rate=fee_rate,
    )


def profile(**risk: Any) -> Profile:
    """Only the basket detector; $200 baskets; 50 ms latency unless ``latency=`` says otherwise."""
    latency = risk.pop("latency", LatencyModel(mean_ms=50))
    limits: dict[str, Any] = {
        "trade_size_usd": Decimal("200"),
        "max_position_per_market_usd": Decimal("1000"),
        "max_total_position_usd": Decimal("5000"),
        "max_daily_loss_usd": Decimal("100"),
        **risk,
    }
    return Profile(
        name="rows",
        detectors=("negrisk_basket",),
        risk=RiskLimits(**limits),
        latency=latency,
    )


def book(asset: str, market: str, ts_ms: int, bid: int, ask: int) -> dict[str, Any]:
    """A ``book`` snapshot with one level a side (prices in micro units, 1000 shares)."""
    return {
        "event_type": "book",
        "market": market,
        "asset_id": asset,
        "timestamp": str(ts_ms),
        "hash": "",
        "bids": [{"price": format_fixed(bid), "size": "1000"}],
        "asks": [{"price": format_fixed(ask), "size": "1000"}],
        "tick_size": "0.01",
        "last_trade_price": "",
    }


def quotes(
    metas: list[MarketMeta], ts_ms: int, yes: tuple[int, int], no: tuple[int, int]
) -> list[dict[str, Any]]:
    """Snapshots of every outcome's YES book at ``yes`` (bid, ask) and NO book at ``no``."""
    out = []
    for m in metas:
        out.append(book(m.token_ids[0], m.condition_id, ts_ms, *yes))
        out.append(book(m.token_ids[1], m.condition_id, ts_ms, *no))
    return out


def bad_delta(meta: MarketMeta, ts_ms: int, bid: int) -> dict[str, Any]:
    """A ``price_change`` on the YES bid whose hash cannot match (a diverged book)."""
    return {
        "event_type": "price_change",
        "market": meta.condition_id,
        "timestamp": str(ts_ms),
        "price_changes": [
            {
                "asset_id": meta.token_ids[0],
                "price": format_fixed(bid),
                "size": "777",
                "side": "BUY",
                "hash": "0xbad",
                "best_bid": format_fixed(bid),
                "best_ask": "1",
            }
        ],
    }


def resolved(meta: MarketMeta, ts_ms: int, winner: str) -> dict[str, Any]:
    return {
        "event_type": "market_resolved",
        "market": meta.condition_id,
        "assets_ids": list(meta.token_ids),
        "winning_asset_id": winner,
        "winning_outcome": meta.outcome_of(winner),
        "timestamp": str(ts_ms),
    }


class Feed:
    """Rows into an engine: ``frame(events, at_ms)`` and ``tick(at_ms)``, ms after T0."""

    def __init__(
        self,
        metas: list[MarketMeta],
        prof: Profile,
        *,
        updates: list[tuple[int, MarketMeta]] | None = None,
    ) -> None:
        self.sink = MemorySink()
        self.engine = Engine(metas, prof, self.sink, updates=updates or [])
        self.seq = 0

    def frame(self, events: list[dict[str, Any]], at_ms: int, conn: int = 0) -> int:
        """One WebSocket message received ``at_ms`` after T0; returns its seq."""
        return self._row("frame", json.dumps(events), at_ms * MS, conn)

    def tick(self, at_ms: int) -> int:
        return self._row("tick", "", at_ms * MS, 0)

    def at_ns(self, recv_ns: int, kind: str, payload: str = "") -> int:
        """A row at an exact receive time (ns after T0)."""
        return self._row(kind, payload, recv_ns, 0)

    def _row(self, kind: str, payload: str, offset_ns: int, conn: int) -> int:
        self.seq += 1
        self.engine.on_frame(self.seq, T0_MS * MS + offset_ns, kind, payload, conn)
        return self.seq

    def decisions(self, type_: str) -> list[dict[str, Any]]:
        return [d for d in self.sink.tables["decisions"] if d["type"] == type_]

    def reasons(self) -> list[str]:
        return [d["reason"] for d in self.decisions("verdict")]
