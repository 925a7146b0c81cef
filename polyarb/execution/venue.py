"""The simulated venue: orders arrive after a latency and match the book *at arrival*.

The engine owns time. It calls :meth:`SimVenue.submit` when it decides and
:meth:`SimVenue.on_time` as its clock moves; the venue matches every order
whose arrival time has come against the :class:`BookView` it is handed then,
never the book that triggered the decision (docs/execution.md §Simulated venue). Our own fills take
liquidity away until the engine reports that level changed
(:meth:`SimVenue.on_book_update`), so two orders cannot both eat one level.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from typing import Protocol

from polyarb.events import Level
from polyarb.execution.fees import taker_fee
from polyarb.execution.latency import Latency
from polyarb.execution.orders import (
    FILLED,
    KILLED,
    PARTIAL,
    REJECTED,
    Fill,
    Order,
    OrderResult,
    Status,
)
from polyarb.protocol.markets import MarketMeta
from polyarb.units import SCALE, mul

SIZE_QUANTUM = 10_000
"""Order sizes have 2 decimals on every tick regime (docs/protocol.md §Tick sizes)."""
MIN_MARKETABLE_NOTIONAL = SCALE
"""A marketable BUY needs at least 1 pUSD of notional (docs/protocol.md §Minimum sizes: "invalid amount for a
marketable BUY order … min size: $1"); a SELL is sized in shares and has no such floor."""


class BookView(Protocol):
    """What the venue needs of the order book: levels **best first**.

    ``asks`` ascending by price, ``bids`` descending. An untradable book
    (stale, unverified, mid-event, new tick epoch) should return no levels.
    """

    def asks(self, asset_id: str) -> Sequence[Level]: ...

    def bids(self, asset_id: str) -> Sequence[Level]: ...


def round_limit(price: int, tick: int, side: str) -> int:
    """Round a limit price onto the tick grid toward the conservative side.

    A BUY never pays more than asked (round down); a SELL never accepts less
    (round up).
    """
    if side == "BUY":
        return price // tick * tick
    return -(-price // tick) * tick


class SimVenue:
    """Simulated CLOB for replay and shadow.

    ``markets`` maps condition id → :class:`MarketMeta` (tick, minimum size,
    fee schedule); keep it current with :meth:`update_market`.
    ``min_shares_marketable`` also applies the market's ``orderMinSize``
    share minimum (5 shares, documented for resting orders) to FOK/FAK
    orders; off by default, because it would make every $2 two-leg trade
    impossible, on when a run wants the stricter reading.
    """

    def __init__(
        self,
        latency: Latency,
        markets: Mapping[str, MarketMeta],
        *,
        min_shares_marketable: bool = False,
    ) -> None:
        self._latency = latency
        self._markets: dict[str, MarketMeta] = dict(markets)
        self._min_shares = min_shares_marketable
        self._pending: list[tuple[int, int, Order, int]] = []
        self._counter = 0
        # (asset, book side "asks"/"bids", price) → shares we already took there.
        self._consumed: dict[tuple[str, str, int], int] = {}

    # --- engine-facing API -------------------------------------------------

    def update_market(self, meta: MarketMeta) -> None:
        """Replace a market's metadata (tick size change, resolution, new market)."""
        self._markets[meta.condition_id] = meta

    def submit(self, order: Order, now_ns: int) -> int:
        """Queue ``order`` decided at ``now_ns``; returns its arrival time in ns."""
        arrive = now_ns + self._latency.draw_ns()
        # The counter keeps submission order among equal arrival times: deterministic.
        heapq.heappush(self._pending, (arrive, self._counter, order, now_ns))
        self._counter += 1
        return arrive

    def next_arrival_ns(self) -> int | None:
        """The earliest pending arrival, or None when nothing is in flight."""
        return self._pending[0][0] if self._pending else None

    def pending(self) -> int:
        """Number of orders in flight."""
        return len(self._pending)

    def on_time(self, now_ns: int, book: BookView, seq: int) -> list[OrderResult]:
        """Match every order with arrival ≤ ``now_ns`` against ``book`` as it is now.

        Call it before applying a frame received at ``t`` with ``now_ns = t - 1``
        (so an order sees every frame received up to its arrival and none
        after), and on tick rows. ``seq`` is recorded on the results and fills.
        Results come in arrival order, ties in submission order.
        """
        results: list[OrderResult] = []
        while self._pending and self._pending[0][0] <= now_ns:
            arrive, _, order, submit_ns = heapq.heappop(self._pending)
            results.append(self._execute(order, submit_ns, arrive, book, seq))
        return results

    def on_book_update(
        self, asset_id: str, side: str | None = None, price: int | None = None
    ) -> None:
        """Forget the liquidity we consumed where the book changed.

        ``side`` uses the feed's convention (``BUY`` = bid side, ``SELL`` = ask
        side); with ``price`` it resets one level (a ``price_change``), without
        it the whole asset (a ``book`` snapshot or tick-size change).
        """
        if side is None:
            for key in [k for k in self._consumed if k[0] == asset_id]:
                del self._consumed[key]
            return
        book_side = "bids" if side == "BUY" else "asks"
        if price is None:
            for key in [k for k in self._consumed if k[0] == asset_id and k[1] == book_side]:
                del self._consumed[key]
        else:
            self._consumed.pop((asset_id, book_side, price), None)

    def consumed(self, asset_id: str, book_side: str, price: int) -> int:
        """Shares we have taken at one level since it last updated (``asks``/``bids``)."""
        return self._consumed.get((asset_id, book_side, price), 0)

    # --- matching ----------------------------------------------------------

    def _execute(
        self, order: Order, submit_ns: int, arrive: int, book: BookView, seq: int
    ) -> OrderResult:
        meta = self._markets.get(order.market)

        def done(
            status: Status, reason: str, limit: int, size: int, fills: tuple[Fill, ...] = ()
        ) -> OrderResult:
            return OrderResult(order, status, reason, submit_ns, arrive, seq, limit, size, fills)

        if meta is None:
            return done(REJECTED, "unknown_market", order.limit_price, order.size)
        if meta.closed or meta.winning_token_id is not None:
            return done(REJECTED, "market_closed", order.limit_price, order.size)
        tick = meta.tick_size
        limit = round_limit(order.limit_price, tick, order.side)
        size = order.size // SIZE_QUANTUM * SIZE_QUANTUM
        if size <= 0:
            return done(REJECTED, "size_not_positive", limit, size)
        if not tick <= limit <= SCALE - tick:
            return done(REJECTED, "price_out_of_range", limit, size)
        if self._min_shares and size < meta.min_order_size:
            return done(REJECTED, "below_min_size", limit, size)
        if order.side == "BUY" and mul(limit, size) < MIN_MARKETABLE_NOTIONAL:
            return done(REJECTED, "below_min_notional", limit, size)

        buying = order.side == "BUY"
        book_side = "asks" if buying else "bids"
        levels = book.asks(order.asset_id) if buying else book.bids(order.asset_id)
        takes: list[tuple[int, int]] = []
        remaining = size
        for price, level_size in levels:
            if remaining == 0 or (price > limit if buying else price < limit):
                break
            free = level_size - self._consumed.get((order.asset_id, book_side, price), 0)
            # Sizes on the wire can be finer than the order grid; take whole grid units only.
            take = min(remaining, free) // SIZE_QUANTUM * SIZE_QUANTUM
            if take > 0:
                takes.append((price, take))
                remaining -= take
        if remaining and order.order_type == "FOK":
            return done(KILLED, "insufficient_liquidity", limit, size)
        if not takes:
            return done(KILLED, "insufficient_liquidity", limit, size)
        fills = []
        for i, (price, take) in enumerate(takes):
            key = (order.asset_id, book_side, price)
            self._consumed[key] = self._consumed.get(key, 0) + take
            fee = taker_fee(take, price, meta.fee_rate, meta.fee_exponent)
            fills.append(
                Fill(
                    f"{order.order_id}-f{i}",
                    order.order_id,
                    order.market,
                    order.asset_id,
                    order.side,
                    price,
                    take,
                    fee,
                    arrive,
                    seq,
                )
            )
        if remaining:
            return done(PARTIAL, "partial_liquidity", limit, size, tuple(fills))
        return done(FILLED, "ok", limit, size, tuple(fills))
