"""One book-building pass feeding several engines: the core of ``replay_many`` (docs/engine.md).

The books a session's market frames build are the same for every profile that
reads them with the same ``book_integrity`` policy and stale-book limit: applying
a snapshot, closing an event, checking its hash do not depend on trade sizes,
edges, latency or alert rules. :class:`SharedBooks` does that work once, on one
:class:`~polyarb.engine.books.BookState`, and hands each engine only what is its
own: the detectors at every boundary, its venue's view of the levels (the
"taken liquidity" a ``SimVenue`` keeps is per engine), orders, ledger, ticks.

The per-frame steps mirror :meth:`Engine.on_frame <polyarb.engine.engine.Engine.on_frame>`
in the same order, so each engine sees exactly what it would alone; the test
``tests/engine/test_replay_many.py`` compares every engine's decisions with its
single-profile replay and catches any drift between the two paths.

One ordering needs care. An engine closes events whose frames went quiet when one
of its orders arrives (docs/engine.md §Books), and arrival times differ by profile.
The shared pass therefore walks all engines' arrivals in time order, closes (and
verifies) quiet events once at each, and queues the closed events for every
engine; an engine runs its detectors on its queue at its own next arrival or the
next row, in the order the events opened: the point, and the order, at which it
would have closed them alone (the books cannot change between two rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from polyarb.engine.books import BookState, OpenEvent
from polyarb.engine.engine import Engine
from polyarb.events import (
    BookSnapshot,
    ControlText,
    LastTrade,
    LevelChange,
    MarketEvent,
    MarketResolved,
    RejectedFrame,
    TickSizeChange,
)
from polyarb.protocol.markets import MarketMeta

_FOREVER = (1 << 63) - 1

Closed = tuple[int, str, OpenEvent]
"""(opening order, market, event): an event closed and verified, not yet detected on."""


class SharedBooks:
    """One :class:`BookState` built once per row for ``engines`` (all constructed on it)."""

    def __init__(self, engines: Sequence[Engine]) -> None:
        if not engines:
            raise ValueError("SharedBooks needs at least one engine")
        self.state: BookState = engines[0].state
        if any(e.state is not self.state for e in engines):
            raise ValueError("SharedBooks: every engine must be built on the same BookState")
        self.engines = list(engines)
        # Metadata updates are the same rows for every engine: applied here, once.
        self._updates = list(engines[0]._updates)
        self.events_by_type: dict[str, int] = {}
        self.rows_by_kind: dict[str, int] = {}
        for engine in self.engines:
            engine._updates = []
            engine.events_by_type = self.events_by_type  # identical events: one count
            engine.rows_by_kind = self.rows_by_kind
        self._pending: list[list[Closed]] = [[] for _ in self.engines]
        self._opened: dict[str, OpenEvent] = {}
        self._order: dict[str, int] = {}
        self._next_order = 0
        for market in self.state.open:
            self._note_open(market)

    # -- rows ------------------------------------------------------------------------------

    def on_row(
        self,
        seq: int,
        recv_ns: int,
        kind: str,
        payload: str,
        conn_id: int = 0,
        events: list[MarketEvent] | None = None,
    ) -> None:
        """One session row for every engine; ``events`` is ``parse_frame(payload)`` of a frame."""
        engines = self.engines
        state = self.state
        self.rows_by_kind[kind] = self.rows_by_kind.get(kind, 0) + 1
        for engine in engines:
            if recv_ns > engine.now_ns:
                engine.now_ns = recv_ns
            if engine.first_recv_ns is None:
                engine.first_recv_ns = recv_ns
            engine.seq = seq
            engine.frames += 1
        now = engines[0].now_ns
        state.now_ns = now
        if self._updates and self._updates[0][0] <= seq:
            self._apply_updates(seq)
        self._match(now - 1, seq)
        if state.open:
            self._close_quiet(now)
        for i in range(len(engines)):
            if self._pending[i]:
                self._flush(i, seq)
        if kind == "frame":
            self._on_market_frame(seq, now, events if events is not None else [], conn_id)
        elif kind == "tick":
            for engine in engines:
                engine._on_tick(seq, now, payload)
        elif kind == "user":
            for engine in engines:
                engine._on_user(seq, now, payload)
        elif kind == "close":
            state.drop_connection(conn_id)
        elif kind == "gap":
            state.drop_connection(None)

    def finish(self) -> None:
        """Close the events still open (verified once), then finish every engine."""
        state = self.state
        closing = list(state.open.items())
        state.open.clear()
        for market, ev in closing:
            state.verify(market, ev)
        for engine in self.engines:
            seq = max(engine.seq, 0)
            for market, ev in closing:
                engine._detect(market, ev, seq)
            engine.finish()

    # -- boundaries ------------------------------------------------------------------------

    def _note_open(self, market: str) -> None:
        ev = self.state.open[market]
        if self._opened.get(market) is not ev:
            self._opened[market] = ev
            self._order[market] = self._next_order
            self._next_order += 1

    def _close_quiet(self, at_ns: int) -> None:
        state = self.state
        quiet = state.quiet_events(at_ns)
        if not quiet:
            return
        for market, ev in quiet:
            state.verify(market, ev)
        closed = [(self._order[market], market, ev) for market, ev in quiet]
        for pending in self._pending:
            pending.extend(closed)

    def _flush(self, i: int, seq: int) -> None:
        """Engine ``i`` detects on the events closed since its last look, in opening order."""
        pending = self._pending[i]
        self._pending[i] = []
        pending.sort(key=lambda c: c[0])
        engine = self.engines[i]
        for _, market, ev in pending:
            engine._detect(market, ev, seq)

    def _boundary(self, market: str, ev: OpenEvent, seq: int) -> None:
        self.state.verify(market, ev)
        for engine in self.engines:
            engine._detect(market, ev, seq)

    def _match(self, until_ns: int, seq: int) -> None:
        """Every engine's orders arriving up to ``until_ns``, in arrival order across engines."""
        engines = self.engines
        state = self.state
        while True:
            first = -1
            at = _FOREVER
            for i, engine in enumerate(engines):
                arrival = engine.venue.next_arrival_ns()
                if arrival is not None and arrival <= until_ns and arrival < at:
                    first, at = i, arrival
            if first < 0:
                return
            if state.open:
                self._close_quiet(at)
            if self._pending[first]:
                self._flush(first, seq)
            engine = engines[first]
            for result in engine.venue.on_time(at, state, seq):
                engine._on_result(result, seq)

    # -- market frames (mirrors Engine._on_market_frame) ----------------------------------

    def _on_market_frame(self, seq: int, now: int, events: list[MarketEvent], conn_id: int) -> None:
        state = self.state
        books = state.books
        engines = self.engines
        data = False
        latest_ts = 0
        counts = self.events_by_type
        for ev in events:
            t = type(ev)
            name = t.__name__
            counts[name] = counts.get(name, 0) + 1
            if t is BookSnapshot or t is LevelChange or t is LastTrade or t is TickSizeChange:
                asset = ev.asset_id  # type: ignore[union-attr]
                book = books.get(asset)
                if book is None:
                    state.counters["unknown_asset"] += 1
                    continue
                data = True
                market = book.market
                ts = ev.ts_ms  # type: ignore[union-attr]
                if ts > latest_ts:
                    latest_ts = ts
                ended = state.touch(market, ts, seq, now)
                if ended is not None:
                    self._boundary(market, ended, seq)
                    state.touch(market, ts, seq, now)
                if self._opened.get(market) is not state.open[market]:
                    self._note_open(market)
                if t is BookSnapshot:
                    assert isinstance(ev, BookSnapshot)
                    tick = ev.tick_size
                    if tick is not None and tick != state.metas[market].tick_size:
                        self._set_tick(market, tick)
                    book.apply_snapshot(ev.bids, ev.asks, ts, tick, ev.last_trade_price)
                    state.open[market].last_change.pop(asset, None)
                    state.conn_of[asset] = conn_id
                    for engine in engines:
                        engine.venue.on_snapshot(asset, book.bids, book.asks)
                elif t is LevelChange:
                    assert isinstance(ev, LevelChange)
                    if not book.synced:
                        state.counters["delta_before_snapshot"] += 1
                        continue
                    book.apply_level(ev.side, ev.price, ev.size, ts)
                    state.open[market].last_change[asset] = ev
                    for engine in engines:
                        engine.venue.on_level(asset, ev.side, ev.price, ev.size)
                elif t is LastTrade:
                    assert isinstance(ev, LastTrade)
                    book.last_trade_text = ev.price_text
                else:
                    assert isinstance(ev, TickSizeChange)
                    state.counters["tick_size_changes"] += 1
                    self._set_tick(market, ev.new_tick_size)
                    book.new_epoch(ev.new_tick_size)
                    state.open[market].last_change.pop(asset, None)
            elif t is MarketResolved:
                assert isinstance(ev, MarketResolved)
                data = True
                self._resolved(ev, seq, now)
            elif t is ControlText or t is RejectedFrame:
                pass
            else:
                data = True
        if data:
            state.on_data(conn_id, now, latest_ts)

    def _set_tick(self, market: str, tick: int) -> None:
        self._update_market(msgspec.structs.replace(self.state.metas[market], tick_size=tick))

    def _update_market(self, meta: MarketMeta) -> None:
        self.state.add_market(meta)
        for engine in self.engines:
            engine.venue.update_market(meta)

    def _apply_updates(self, seq: int) -> None:
        while self._updates and self._updates[0][0] <= seq:
            self._update_market(self._updates.pop(0)[1])

    def _resolved(self, ev: MarketResolved, seq: int, now: int) -> None:
        state = self.state
        meta = state.metas.get(ev.market)
        if meta is None:
            state.counters["unknown_asset"] += 1
            return
        open_ev = state.open.pop(ev.market, None)
        if open_ev is not None:
            self._boundary(ev.market, open_ev, seq)
        meta = msgspec.structs.replace(meta, closed=True, winning_token_id=ev.winning_asset_id)
        state.add_market(meta)
        state.resolved.add(ev.market)
        for engine in self.engines:
            engine.venue.update_market(meta)
            engine._settle(ev, seq, now)
