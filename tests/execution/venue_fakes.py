"""A tiny in-memory book and market metadata for the execution tests (not a test module)."""

from __future__ import annotations

from collections.abc import Sequence

from polyarb.events import Level
from polyarb.protocol.markets import MarketMeta

YES, NO = "tok-yes", "tok-no"
MARKET = "0xcond"


class FakeBook:
    """``BookView`` over plain dicts: asset → {price: size}; mutate between calls."""

    def __init__(self) -> None:
        self.ask: dict[str, dict[int, int]] = {}
        self.bid: dict[str, dict[int, int]] = {}

    def asks(self, asset_id: str) -> Sequence[Level]:
        return sorted(self.ask.get(asset_id, {}).items())

    def bids(self, asset_id: str) -> Sequence[Level]:
        return sorted(self.bid.get(asset_id, {}).items(), reverse=True)


def meta(fee_rate: int = 0, tick: int = 10_000, **kw: object) -> MarketMeta:
    return MarketMeta(
        condition_id=MARKET,
        question="q",
        slug="s",
        token_ids=(YES, NO),
        outcomes=("Yes", "No"),
        tick_size=tick,
        min_order_size=5_000_000,
        fee_rate=fee_rate,
        fee_exponent=1,
        **kw,  # type: ignore[arg-type]
    )
