"""Binary complete set: buy YES and NO below 1, or sell both above 1 (docs/engine.md §Detectors).

The exchange matches both tokens on one book, so YES and NO are mirror images
(``ask_NO = 1 − bid_YES``, docs/protocol.md §Mirrored books) and Σ asks = 1 + spread.
A visible edge therefore needs a stale leg or a crossed state; the guards
refuse both, including two legs that are not each other's mirror (they
describe different moments even when their timestamps are close: the
resolvedkit sample polls the tokens ms apart). On real data this detector
essentially never fires. That is the correct answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from polyarb.book import OrderBook
from polyarb.config.profile import Profile, micro
from polyarb.detect.base import MarketView, Opportunity, sized_opportunity
from polyarb.detect.guards import legs_guard
from polyarb.detect.sizing import LegBook
from polyarb.events import BUY, SELL
from polyarb.protocol.markets import MarketMeta
from polyarb.units import ONE, SCALE


def top_clears(
    prices: Sequence[int], meta: Sequence[MarketMeta], side: str, payout: int, min_edge: int
) -> bool:
    """The exact marginal test on the best level of every leg: cheap enough to run every boundary."""
    # A fee never lowers a buyer's cost nor raises a seller's proceeds (rate >= 0, price in
    # [0, 1]), so bare prices that already miss the bound decide it without the big-int fee
    # arithmetic: the answer at almost every boundary of a mirrored book (sum of asks >= 1).
    bare = sum(prices)
    if bare > payout - min_edge if side == BUY else bare < payout + min_edge:
        for price, m in zip(prices, meta, strict=True):
            if m.fee_rate < 0 or not 0 <= price <= SCALE:
                break
        else:
            return False
    return _fees_clear(prices, meta, side, payout, min_edge)


def _fees_clear(
    prices: Sequence[int], meta: Sequence[MarketMeta], side: str, payout: int, min_edge: int
) -> bool:
    exponent = max(m.fee_exponent for m in meta)
    scale = SCALE ** (2 * exponent)
    total = 0
    for price, m in zip(prices, meta, strict=True):
        fee = m.fee_rate * (price * (SCALE - price)) ** m.fee_exponent
        fee *= scale // SCALE ** (2 * m.fee_exponent)
        total += price * scale + (fee if side == BUY else -fee)
    if side == BUY:
        return total <= (payout - min_edge) * scale
    return total >= (payout + min_edge) * scale


def mirrored(a: OrderBook, b: OrderBook) -> bool:
    """True when ``b``'s top of book is ``a``'s seen from the other token (one matching book)."""
    a_bid, a_ask, b_bid, b_ask = a.best_bid(), a.best_ask(), b.best_bid(), b.best_ask()
    if (a_bid is None) != (b_ask is None) or (a_ask is None) != (b_bid is None):
        return False
    if a_bid is not None and b_ask is not None and a_bid + b_ask != ONE:
        return False
    return not (a_ask is not None and b_bid is not None and a_ask + b_bid != ONE)


class BinaryCompleteSet:
    """``binary_complete_set``: both tokens of one two-outcome market, equal shares."""

    name = "binary_complete_set"

    def __init__(
        self, profile: Profile, markets: Sequence[MarketMeta], *, require_mirror: bool = True
    ) -> None:
        self.require_mirror = require_mirror
        self.min_edge = micro(profile.risk.min_edge)
        self.max_cash = micro(profile.risk.trade_size_usd)
        self.max_skew_ms = profile.risk.max_leg_skew_ms
        self._suppressed: dict[str, int] = {}

    @property
    def suppressed(self) -> dict[str, int]:
        return self._suppressed

    def on_boundary(self, view: MarketView, market: MarketMeta, seq: int) -> list[Opportunity]:
        tokens = market.token_ids
        if len(tokens) != 2:
            return []
        a = view.book(tokens[0])
        b = view.book(tokens[1])
        if a is None or b is None:
            return []
        out = []
        a_ask = a.best_ask()
        b_ask = b.best_ask()
        if a_ask is not None and b_ask is not None and self._clears(a_ask, b_ask, market, BUY):
            opp = self._sized(view, market, seq, BUY)
            if opp is not None:
                out.append(opp)
        a_bid = a.best_bid()
        b_bid = b.best_bid()
        if a_bid is not None and b_bid is not None and self._clears(a_bid, b_bid, market, SELL):
            opp = self._sized(view, market, seq, SELL)
            if opp is not None:
                out.append(opp)
        return out

    def _clears(self, x: int, y: int, market: MarketMeta, side: str) -> bool:
        """:func:`top_clears` for the two legs of one market, its bare-price shortcut first.

        Runs at every boundary, where the shortcut nearly always decides (asks sum to
        1 + spread); spelled out for two prices so that case builds no tuples.
        """
        bare = x + y
        min_edge = self.min_edge
        if (
            (bare > ONE - min_edge if side == BUY else bare < ONE + min_edge)
            and market.fee_rate >= 0
            and 0 <= x <= SCALE
            and 0 <= y <= SCALE
        ):
            return False
        return top_clears((x, y), (market, market), side, ONE, min_edge)

    def _sized(
        self, view: MarketView, market: MarketMeta, seq: int, side: str
    ) -> Opportunity | None:
        books, reason = legs_guard(view, market.token_ids, self.max_skew_ms)
        if reason is not None:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
            return None
        if self.require_mirror and not mirrored(books[0], books[1]):
            self._suppressed["unmirrored"] = self._suppressed.get("unmirrored", 0) + 1
            return None
        legs = [
            LegBook(
                b.asset_id,
                market.condition_id,
                b.asks_best_first() if side == BUY else b.bids_best_first(),
                market.fee_rate,
                market.fee_exponent,
                market.min_order_size,
            )
            for b in books
        ]
        return sized_opportunity(
            self.name,
            "buy_both" if side == BUY else "sell_both",
            market.condition_id,
            side,
            legs,
            payout=ONE,
            min_edge=self.min_edge,
            max_cash=self.max_cash,
            seq=seq,
            ts_ms=max(b.ts_ms for b in books),
            suppressed=self._suppressed,
            # a failed SELL leg leaves whole sets too: merging them recovers the collateral
            settles="merge",
        )
