"""One book-building pass feeding several engines: the core of ``replay_many`` (docs/engine.md).

The books a session's market frames build are the same for every profile that
reads them with the same ``book_integrity`` policy and stale-book limit: applying
a snapshot, closing an event, checking its hash do not depend on trade sizes,
edges, latency or alert rules. :class:`SharedBooks` does that work once, on one
:class:`~polyarb.engine.books.BookState`, and hands each engine only what is its
own: the detectors at every boundary, its venue's view of the levels (the
"taken liquidity" a ``SimVenue`` keeps is per engine), orders, ledger, ticks.

The per-row steps mirror :meth:`Engine.on_frame <polyarb.engine.engine.Engine.on_frame>`
in the same order and market frames go through the lead engine's own path, so
each engine sees exactly what it would alone; the test
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

from polyarb.engine.books import BookState, OpenEvent
from polyarb.engine.engine import Engine
from polyarb.events import MarketEvent

_FOREVER = (1 << 63) - 1

Closed = tuple[int, str, OpenEvent]
"""(opening order, market, event): an event closed and verified, not yet detected on."""


class SharedBooks:
    """One :class:`BookState` built once per row for ``engines`` (all constructed on it).

    The first engine leads (:meth:`Engine.lead`): its own market-frame path builds the
    books and fans every change and boundary out to all engines, so there is one copy
    of that path.
    """

    def __init__(self, engines: Sequence[Engine]) -> None:
        if not engines:
            raise ValueError("SharedBooks needs at least one engine")
        self.state: BookState = engines[0].state
        if any(e.state is not self.state for e in engines):
            raise ValueError("SharedBooks: every engine must be built on the same BookState")
        self.engines = list(engines)
        self._lead = self.engines[0]
        self._lead.lead(self.engines)
        self.events_by_type: dict[str, int] = {}
        self.rows_by_kind: dict[str, int] = {}
        for engine in self.engines:
            engine.events_by_type = self.events_by_type  # identical events: one count
            engine.rows_by_kind = self.rows_by_kind
        self._pending: list[list[Closed]] = [[] for _ in self.engines]

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
        lead = self._lead
        self.rows_by_kind[kind] = self.rows_by_kind.get(kind, 0) + 1
        for engine in engines:
            if recv_ns > engine.now_ns:
                engine.now_ns = recv_ns
            if engine.first_recv_ns is None:
                engine.first_recv_ns = recv_ns
            engine.seq = seq
            engine.frames += 1
        now = lead.now_ns
        state.now_ns = now
        if lead._updates and lead._updates[0][0] <= seq:
            lead._apply_updates(seq)
        self._match(now - 1, seq)
        if state.open:
            self._close_quiet(now)
        for i in range(len(engines)):
            if self._pending[i]:
                self._flush(i, seq)
        if kind == "frame":
            lead._on_market_frame(seq, now, payload, conn_id, events)
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

    def _close_quiet(self, at_ns: int) -> None:
        state = self.state
        quiet = state.quiet_events(at_ns)
        if not quiet:
            return
        for market, ev in quiet:
            state.verify(market, ev)
        closed = [(ev.opened, market, ev) for market, ev in quiet]
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
