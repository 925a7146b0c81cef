"""A minimal MarketView over hand-built books, for detector tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from polyarb.book import OrderBook
from polyarb.config.profile import Profile, RiskLimits
from polyarb.protocol.markets import MarketMeta


class FakeView:
    """Books and metadata with every book tradable unless listed in ``bad``."""

    def __init__(self, metas: Sequence[MarketMeta]) -> None:
        self.metas = {m.condition_id: m for m in metas}
        self.books: dict[str, OrderBook] = {}
        self.bad: dict[str, str] = {}
        self.as_of: dict[str, int] = {}
        for m in metas:
            for t in m.token_ids:
                self.books[t] = OrderBook(t, m.condition_id, m.tick_size)

    def meta(self, condition_id: str) -> MarketMeta:
        return self.metas[condition_id]

    def book(self, asset_id: str) -> OrderBook | None:
        return self.books.get(asset_id)

    def untradable(self, asset_id: str) -> str | None:
        return self.bad.get(asset_id)

    def markets_in_group(self, neg_risk_market_id: str) -> Sequence[MarketMeta]:
        return [m for m in self.metas.values() if m.neg_risk_market_id == neg_risk_market_id]

    def as_of_ms(self, asset_id: str) -> int:
        return self.as_of.get(asset_id, self.books[asset_id].ts_ms)

    def set(self, asset_id: str, bids=(), asks=(), ts_ms: int = 1) -> None:
        self.books[asset_id].apply_snapshot(
            tuple(sorted(bids)), tuple(sorted(asks, reverse=True)), ts_ms
        )


def profile(min_edge: str = "0.005", trade_size: str = "2", skew_ms: int = 1000) -> Profile:
    return Profile(
        name="t",
        detectors=("binary_complete_set", "negrisk_basket"),
        risk=RiskLimits(
            min_edge=Decimal(min_edge),
            trade_size_usd=Decimal(trade_size),
            max_position_per_market_usd=Decimal(trade_size) * 10,
            max_total_position_usd=Decimal(trade_size) * 100,
            max_leg_skew_ms=skew_ms,
        ),
    )


def binary_meta(cid: str = "0xm", fee_rate: int = 0, fee_exponent: int = 1) -> MarketMeta:
    return MarketMeta(
        condition_id=cid,
        question="q",
        slug="s",
        token_ids=(cid + "-yes", cid + "-no"),
        outcomes=("Yes", "No"),
        tick_size=1_000,
        min_order_size=5_000_000,
        fee_rate=fee_rate,
        fee_exponent=fee_exponent,
    )
