"""Every book of a run, event boundaries, hash checks and the tradability rules (docs/engine.md §Books).

Frames sharing one exchange timestamp for one market form one matching
event; the books are only consistent once it is over. An event closes when
a later frame of the same market carries another timestamp, or when the
engine clock has moved ``quiet_ns`` past the event's last frame (checked on
every row, ticks included, so a replay closes it at the same row as live).
At the boundary each asset changed by deltas is verified against the last
delta the feed sent for it (docs/protocol.md §Book hash: only the boundary
state reproduces; mid-event entries may carry the event's final one), by the
profile's ``book_integrity`` policy: ``hash`` (the 10-field hash), ``quotes``
(the ``best_bid``/``best_ask`` the change carries: for eras whose hash rule we
do not reproduce, where every delta hash fails but the books are right) or
``off``.
"""

from __future__ import annotations

from collections.abc import Sequence

from polyarb.book import OrderBook
from polyarb.events import Level, LevelChange
from polyarb.protocol.markets import MarketMeta

_NO_LEVELS: list[Level] = []

INTEGRITY_POLICIES = ("hash", "quotes", "off")
"""``Profile.book_integrity`` values: what verifies a delta-built book at a boundary."""


class OpenEvent:
    """A matching event in progress for one market."""

    __slots__ = ("last_change", "last_recv_ns", "last_seq", "opened", "ts_ms")

    def __init__(self, ts_ms: int, seq: int, recv_ns: int, opened: int = 0) -> None:
        self.ts_ms = ts_ms
        self.last_seq = seq
        self.last_recv_ns = recv_ns
        self.opened = opened
        """Opening order among the state's events (engines sharing books detect in it)."""
        self.last_change: dict[str, LevelChange] = {}
        """Asset → its last delta in this event, whose hash or quotes the boundary checks
        (absent once a snapshot replaced it)."""


class BookState:
    """Books by asset plus what the engine knows about their trustworthiness.

    Implements the detectors' :class:`~polyarb.detect.MarketView` and the
    venue's ``BookView`` (levels only while tradable).
    """

    def __init__(
        self,
        markets: Sequence[MarketMeta],
        stale_ns: int,
        quiet_ns: int,
        integrity: str = "hash",
    ) -> None:
        if integrity not in INTEGRITY_POLICIES:
            raise ValueError(f"book_integrity {integrity!r} (allowed: {INTEGRITY_POLICIES})")
        self.integrity = integrity
        self.stale_ns = stale_ns
        self.quiet_ns = quiet_ns
        self.metas: dict[str, MarketMeta] = {}
        self.market_of: dict[str, str] = {}
        self.books: dict[str, OrderBook] = {}
        self.groups: dict[str, list[MarketMeta]] = {}
        self.conn_of: dict[str, int] = {}
        self.last_data_ns: dict[int, int] = {}
        self.conn_ts_ms: dict[int, int] = {}
        """Connection → the latest exchange timestamp among its data frames."""
        self.open: dict[str, OpenEvent] = {}
        self._opened = 0
        self.quiet_floor_ns = 0
        """At most every open event's ``last_recv_ns``: while the clock is within ``quiet_ns``
        of it no event can be quiet, so a row skips the scan (touches only raise the minimum)."""
        self.resolved: set[str] = set()
        self.now_ns = 0
        self.counters: dict[str, int] = {
            "boundaries": 0,
            "hash_checked": 0,
            "hash_mismatch": 0,
            "crossed_at_boundary": 0,
            "resyncs_requested": 0,
            "delta_before_snapshot": 0,
            "unknown_asset": 0,
            "tick_size_changes": 0,
        }
        if integrity == "quotes":
            # Only under this policy: the hash-policy summary (and its goldens) stay as they were.
            self.counters["quotes_checked"] = 0
            self.counters["quotes_mismatch"] = 0
        self.resync_queue: list[str] = []
        for meta in markets:
            self.add_market(meta)

    def add_market(self, meta: MarketMeta) -> None:
        """Register (or update) a market's metadata and create its books."""
        self.metas[meta.condition_id] = meta
        for token in meta.token_ids:
            self.market_of[token] = meta.condition_id
            if token not in self.books:
                self.books[token] = OrderBook(token, meta.condition_id, meta.tick_size)
        if meta.neg_risk_market_id:
            group = self.groups.setdefault(meta.neg_risk_market_id, [])
            # An update keeps its place: leg order (and so order ids) must not depend on it.
            at = [i for i, m in enumerate(group) if m.condition_id == meta.condition_id]
            if at:
                group[at[0]] = meta
            else:
                group.append(meta)

    # -- MarketView ------------------------------------------------------------------

    def meta(self, condition_id: str) -> MarketMeta:
        return self.metas[condition_id]

    def book(self, asset_id: str) -> OrderBook | None:
        return self.books.get(asset_id)

    def markets_in_group(self, neg_risk_market_id: str) -> Sequence[MarketMeta]:
        return self.groups.get(neg_risk_market_id, ())

    def as_of_ms(self, asset_id: str) -> int:
        """The latest exchange time its connection delivered: an unchanged book is current."""
        book = self.books[asset_id]
        return max(book.ts_ms, self.conn_ts_ms.get(self.conn_of.get(asset_id, 0), 0))

    def untradable(self, asset_id: str) -> str | None:
        """Why ``asset_id``'s book may not be traded on now (None: it may)."""
        book = self.books.get(asset_id)
        if book is None:
            return "unknown_asset"
        market = book.market
        if market in self.resolved:
            return "resolved"
        if not book.synced:
            return "no_snapshot"
        if not book.verified:
            return "unverified"
        if market in self.open:
            return "mid_event"
        if book.crossed():
            return "crossed"
        last = self.last_data_ns.get(self.conn_of.get(asset_id, 0))
        if last is None or self.now_ns - last > self.stale_ns:
            return "stale"
        return None

    # -- venue BookView ----------------------------------------------------------------

    def asks(self, asset_id: str) -> Sequence[Level]:
        if self.untradable(asset_id) is not None:
            return _NO_LEVELS
        return self.books[asset_id].asks_best_first()

    def bids(self, asset_id: str) -> Sequence[Level]:
        if self.untradable(asset_id) is not None:
            return _NO_LEVELS
        return self.books[asset_id].bids_best_first()

    # -- events ------------------------------------------------------------------------

    def touch(self, market: str, ts_ms: int, seq: int, recv_ns: int) -> OpenEvent | None:
        """Note a frame of ``market`` at exchange time ``ts_ms``.

        If ``market`` has an open event with another timestamp, that event is
        removed and returned *without* noting this frame: the caller closes
        it (boundary), then calls ``touch`` again.
        """
        ev = self.open.get(market)
        if ev is None:
            if not self.open or recv_ns < self.quiet_floor_ns:
                self.quiet_floor_ns = recv_ns
            self.open[market] = OpenEvent(ts_ms, seq, recv_ns, self._opened)
            self._opened += 1
            return None
        if ev.ts_ms != ts_ms:
            return self.open.pop(market)
        ev.last_seq = seq
        ev.last_recv_ns = recv_ns
        return None

    def quiet_events(self, now_ns: int) -> list[tuple[str, OpenEvent]]:
        """Remove and return the events silent for ``quiet_ns`` (in the order they opened)."""
        if not self.open or now_ns - self.quiet_floor_ns < self.quiet_ns:
            return []
        done = [(m, ev) for m, ev in self.open.items() if now_ns - ev.last_recv_ns >= self.quiet_ns]
        for market, _ in done:
            del self.open[market]
        if self.open:
            self.quiet_floor_ns = min(ev.last_recv_ns for ev in self.open.values())
        else:
            self.quiet_floor_ns = 0
        return done

    def verify(self, market: str, ev: OpenEvent) -> None:
        """Boundary checks of delta-updated books by the integrity policy; crossed books (counted)."""
        counters = self.counters
        counters["boundaries"] += 1
        meta = self.metas[market]
        policy = self.integrity
        for asset, delta in ev.last_change.items():
            book = self.books[asset]
            if policy == "off" or not book.synced:
                continue
            if policy == "hash":
                if delta.hash is None:
                    continue
                counters["hash_checked"] += 1
                ok = delta.hash == book.hash(
                    ev.ts_ms, min_order_size=meta.min_order_size, neg_risk=meta.neg_risk
                )
                if not ok:
                    counters["hash_mismatch"] += 1
            else:
                if delta.best_bid is None and delta.best_ask is None:
                    # G1/G2 changes carry no quotes (nor does a G3 change of a book emptied on
                    # both sides, which cannot be traded anyway): nothing to check against.
                    continue
                counters["quotes_checked"] += 1
                ok = delta.best_bid == book.best_bid() and delta.best_ask == book.best_ask()
                if not ok:
                    counters["quotes_mismatch"] += 1
            if not ok and book.verified:  # one resync request per divergence, not per boundary
                book.verified = False
                counters["resyncs_requested"] += 1
                self.resync_queue.append(asset)
        books = self.books
        for token in meta.token_ids:
            if books[token].crossed():
                counters["crossed_at_boundary"] += 1

    # -- connection-level state ----------------------------------------------------------

    def on_data(self, conn_id: int, now_ns: int, ts_ms: int = 0) -> None:
        """A data frame arrived on ``conn_id`` (control texts such as PONG do not count).

        ``ts_ms`` is the latest exchange timestamp it carried (0: none).
        """
        self.last_data_ns[conn_id] = now_ns
        if ts_ms > self.conn_ts_ms.get(conn_id, 0):
            self.conn_ts_ms[conn_id] = ts_ms

    def drop_connection(self, conn_id: int | None) -> None:
        """A closed connection (or a gap, ``None``: all) leaves its books unknown until resync."""
        for asset, book in self.books.items():
            if conn_id is None or self.conn_of.get(asset, 0) == conn_id:
                book.clear()
        if conn_id is None:
            self.open.clear()

    def stats(self) -> dict[str, int]:
        """Book-health gauges for the metrics table."""
        unverified = sum(1 for b in self.books.values() if b.synced and not b.verified)
        crossed = sum(1 for b in self.books.values() if b.synced and b.crossed())
        synced = sum(1 for b in self.books.values() if b.synced)
        return {"synced_books": synced, "unverified_books": unverified, "crossed_books": crossed}
