"""The simulated venue: orders arrive after a latency and match the book *at arrival*.

The engine owns time. It calls :meth:`SimVenue.submit` when it decides and
:meth:`SimVenue.on_time` as its clock moves; the venue matches every order
whose arrival time has come against the :class:`BookView` it is handed then,
never the book that triggered the decision (docs/execution.md §Simulated venue).

Our own fills take liquidity away, and it stays taken until the exchange's
own data says otherwise (:meth:`SimVenue.on_level`, :meth:`SimVenue.on_snapshot`).
A binary market is one book seen from two tokens (docs/protocol.md §Mirrored books:
a YES ask at p is a NO bid at 1 − p), so what we take is recorded once per
market, on the first token's side and price, and is gone from both tokens.
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
    UserUpdate,
)
from polyarb.protocol.markets import MarketMeta
from polyarb.units import SCALE, mul

SIZE_QUANTUM = 10_000
"""Order sizes have 2 decimals on every tick regime (docs/protocol.md §Tick sizes)."""
MIN_MARKETABLE_NOTIONAL = SCALE
"""A marketable order needs at least 1 pUSD of notional at its limit (docs/protocol.md §Minimum sizes: "invalid
amount for a marketable BUY order … min size: $1"); applied to SELLs too (limit × shares), the
stricter reading, so a simulated fill is never one the exchange could refuse."""

_MIRROR = {"asks": "bids", "bids": "asks"}


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
    fee schedule); keep it current with :meth:`update_market`. Every order,
    BUY or SELL, must reach the market's ``min_order_size`` in shares and
    :data:`MIN_MARKETABLE_NOTIONAL` at its limit.
    """

    simulated = True

    def __init__(self, latency: Latency, markets: Mapping[str, MarketMeta]) -> None:
        self._latency = latency
        self._markets: dict[str, MarketMeta] = {}
        # asset → (book id, first token?): both tokens of a binary market share one book id.
        self._book_of: dict[str, tuple[str, bool]] = {}
        for meta in markets.values():
            self.update_market(meta)
        self._pending: list[tuple[int, int, Order, int]] = []
        self._counter = 0
        # (book id, side "asks"/"bids" as the first token sees it, price) → shares we took
        # there that the exchange's data has not yet shown gone.
        self._consumed: dict[tuple[str, str, int], int] = {}

    # --- engine-facing API -------------------------------------------------

    def update_market(self, meta: MarketMeta) -> None:
        """Replace a market's metadata (tick size change, resolution, new market)."""
        self._markets[meta.condition_id] = meta
        tokens = meta.token_ids
        if len(tokens) == 2:
            self._book_of[tokens[0]] = (meta.condition_id, True)
            self._book_of[tokens[1]] = (meta.condition_id, False)

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

    def on_user(self, seq: int, now_ns: int, payload: str) -> UserUpdate:
        """User-channel rows mean nothing to a simulated venue (fills come from matching)."""
        return UserUpdate()

    def on_level(self, asset_id: str, side: str, price: int, size: int) -> None:
        """A ``price_change``: the level now holds ``size`` (``side`` BUY = bids, SELL = asks).

        What we took there stays taken unless the new size says it cannot
        be: the level holds ``size`` now, so at most ``size`` of the orders
        we took can still be resting (``consumed = min(consumed, size)``).
        A rise is new orders (ours stay taken); a fall may have removed
        ours, but only what falls below what we took is known to be gone.
        """
        if not self._consumed:
            return
        key = self._key(asset_id, "bids" if side == "BUY" else "asks", price)
        took = self._consumed.get(key)
        if took is not None and size < took:
            if size:
                self._consumed[key] = size
            else:
                del self._consumed[key]

    def on_snapshot(self, asset_id: str, bids: Mapping[int, int], asks: Mapping[int, int]) -> None:
        """A ``book`` snapshot of ``asset_id``: every level we took from is re-stated.

        The same rule as :meth:`on_level` for each level of the book (a level
        absent from the snapshot holds 0), so a snapshot never gives back
        more than it shows. It covers the other token of the market too.
        """
        if not self._consumed:
            return
        book_id, first = self._book_of.get(asset_id, (asset_id, True))
        for key in [k for k in self._consumed if k[0] == book_id]:
            _, side, price = key
            if not first:
                side, price = _MIRROR[side], SCALE - price
            size = (bids if side == "bids" else asks).get(price, 0)
            if size < self._consumed[key]:
                if size:
                    self._consumed[key] = size
                else:
                    del self._consumed[key]

    def match(
        self, order: Order, submit_ns: int, arrive_ns: int, book: BookView, seq: int
    ) -> OrderResult:
        """Match ``order`` against ``book`` now, as arrived at ``arrive_ns`` (no queue, no draw).

        What it takes stays taken in this venue, as for any fill; a throwaway instance
        predicts without touching a running venue (docs/calibration.md).
        """
        return self._execute(order, submit_ns, arrive_ns, book, seq)

    def consumed(self, asset_id: str, book_side: str, price: int) -> int:
        """Shares we have taken at one level (``asks``/``bids`` of ``asset_id``) still held gone."""
        return self._consumed.get(self._key(asset_id, book_side, price), 0)

    def _key(self, asset_id: str, book_side: str, price: int) -> tuple[str, str, int]:
        """One key per resting level of the market's single book, whichever token shows it."""
        book_id, first = self._book_of.get(asset_id, (asset_id, True))
        if first:
            return book_id, book_side, price
        return book_id, _MIRROR[book_side], SCALE - price

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
        if size < meta.min_order_size:
            return done(REJECTED, "below_min_size", limit, size)
        if mul(limit, size) < MIN_MARKETABLE_NOTIONAL:
            return done(REJECTED, "below_min_notional", limit, size)

        buying = order.side == "BUY"
        book_side = "asks" if buying else "bids"
        levels = book.asks(order.asset_id) if buying else book.bids(order.asset_id)
        takes: list[tuple[int, int]] = []
        remaining = size
        for price, level_size in levels:
            if remaining == 0 or (price > limit if buying else price < limit):
                break
            free = level_size - self._consumed.get(self._key(order.asset_id, book_side, price), 0)
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
            key = self._key(order.asset_id, book_side, price)
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
