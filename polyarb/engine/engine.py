"""The engine: one pure, synchronous function of (ordered rows, market metadata, profile).

Replay and shadow drive the same object row by row::

    engine = Engine(markets, profile, sink)
    for row in rows:
        engine.on_frame(row.seq, row.recv_ns, row.kind, row.payload, row.conn_id)
    summary = engine.finish()

Its clock is the row's ``recv_ns`` (docs/design.md §The clock); timers (breaker cool-down,
alert windows, book marks) advance only on ``tick`` rows, so a replay sees
them exactly where the live run did. It reads no wall clock, environment,
network or global randomness (the venue's latency draws come from the
profile's seeded generator), and iterates only lists and insertion-ordered
dicts, so one session and one profile always give byte-identical decisions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from polyarb.alerts import AlertEvaluator, AlertRules, HealthSnapshot, TickWindow, tick_health
from polyarb.alerts.rules import AlertEvent
from polyarb.config.profile import Profile, micro
from polyarb.detect import Opportunity, build_detectors
from polyarb.engine.books import BookState, OpenEvent
from polyarb.engine.sink import MemorySink, RunSink
from polyarb.events import (
    BUY,
    SELL,
    BookSnapshot,
    ControlText,
    LastTrade,
    LevelChange,
    MarketEvent,
    MarketResolved,
    RejectedFrame,
    TickSizeChange,
)
from polyarb.execution import BasketExecution, Latency, Leg, Order, OrderResult, SimVenue
from polyarb.execution.basket import is_dust
from polyarb.execution.calibration import CalibrationShadow
from polyarb.execution.orders import Fill
from polyarb.execution.venue_api import Venue
from polyarb.ledger import Ledger, LedgerError
from polyarb.ledger.settlement import SETTLEMENT_PREFIX, book_step
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.parser import parse_frame
from polyarb.risk import RiskManager, RiskVerdict
from polyarb.runs.summary import RunSummary
from polyarb.units import SCALE, format_fixed, mul_ceil

EVENT_QUIET_NS = 20_000_000
"""An event with no frame for 20 ms of engine time is over (frames of one match arrive together)."""
BOOK_STATS_EVERY_TICKS = 60
"""Book-health gauges (a scan of every book) go to the metrics table once a minute of ticks."""
_FOREVER = (1 << 63) - 1
_BOOK_GAUGES = ("hash_mismatch", "resyncs_requested", "crossed_at_boundary", "rejected_frames")
SETTLE_WINDOW_NS = 600 * 1_000_000_000
"""How long (engine time) a completed basket of an exchange-driven venue stays known, so a
trade the exchange FAILS after the basket completed is still a leg failure of that basket."""


class BookListener(Protocol):
    """What hears every book change: a venue, or several (:class:`_Fanout`)."""

    def update_market(self, meta: MarketMeta) -> None: ...

    def on_snapshot(
        self, asset_id: str, bids: Mapping[int, int], asks: Mapping[int, int]
    ) -> None: ...

    def on_level(self, asset_id: str, side: str, price: int, size: int) -> None: ...


class _Fanout:
    """Several engines' venues heard as one (engines sharing books)."""

    __slots__ = ("venues",)

    def __init__(self, venues: Sequence[Venue]) -> None:
        self.venues = tuple(venues)

    def update_market(self, meta: MarketMeta) -> None:
        for venue in self.venues:
            venue.update_market(meta)

    def on_snapshot(self, asset_id: str, bids: Mapping[int, int], asks: Mapping[int, int]) -> None:
        for venue in self.venues:
            venue.on_snapshot(asset_id, bids, asks)

    def on_level(self, asset_id: str, side: str, price: int, size: int) -> None:
        for venue in self.venues:
            venue.on_level(asset_id, side, price, size)


class TickCounts:
    """What happened since the previous tick, for the alert windows and the tick's snapshot."""

    __slots__ = ("decisions", "fills", "held", "opportunities", "orders", "rejects", "trades")

    def __init__(self) -> None:
        self.orders = 0
        self.fills = 0
        self.rejects = 0
        self.decisions = 0
        self.trades = 0
        """Baskets completed without a leg failure."""
        self.opportunities = 0
        self.held = 0
        """Legs still held after an unwind gave up (past its slippage bound)."""


class _Basket:
    """An accepted opportunity in flight: its leg coordinator and what to do once filled."""

    __slots__ = ("execution", "failure_counted", "opp", "reopened")

    def __init__(self, execution: BasketExecution, opp: Opportunity) -> None:
        self.execution = execution
        self.opp = opp
        self.reopened = False
        """In flight again after a FAILED trade (its breaker failure is already counted)."""
        self.failure_counted = False
        """A FAILED trade already counted this basket's leg failure for the breaker."""


def engine_markets(metas: Iterable[MarketMeta]) -> list[MarketMeta]:
    """Metadata as the engine may know it at the start: resolution comes only from frames.

    A session's ``markets.parquet`` can carry the final settlement (imports
    of resolved data do); reading it up front would leak the future.
    """
    return [msgspec.structs.replace(m, closed=False, winning_token_id=None) for m in metas]


class Engine:
    """Books, detectors, risk, simulated venue, ledger and alerts behind one ``on_frame``."""

    def __init__(
        self,
        markets: Sequence[MarketMeta],
        profile: Profile,
        sink: RunSink | None = None,
        *,
        alert_rules: AlertRules | None = None,
        updates: Sequence[tuple[int, MarketMeta]] = (),
        initial_cash: int = 0,
        live: bool = False,
        event_quiet_ns: int = EVENT_QUIET_NS,
        venue: Venue | None = None,
        books: BookState | None = None,
    ) -> None:
        """``venue`` defaults to the profile's :class:`SimVenue`; a live run passes its own.

        ``books`` is a :class:`BookState` shared with other engines, built by
        :class:`~polyarb.engine.shared.SharedBooks` (``replay_many``); such an engine is
        fed through that, not :meth:`on_frame`.
        """
        metas = engine_markets(markets)
        self.profile = profile
        self.sink: RunSink = sink if sink is not None else MemorySink()
        self.live = live
        self.state = (
            books
            if books is not None
            else BookState(
                metas,
                profile.risk.stale_book_ms * 1_000_000,
                event_quiet_ns,
                profile.book_integrity,
            )
        )
        self.detectors = build_detectors(profile, metas)
        self.venue: Venue = (
            venue
            if venue is not None
            else SimVenue(Latency.from_profile(profile.latency), self.state.metas)
        )
        for meta in self.state.metas.values():
            self.venue.update_market(meta)
        # Who hears about book changes and boundaries: this engine alone, unless it leads
        # engines sharing its books (:meth:`lead`, ``replay_many``).
        self._book_venue: BookListener = self.venue
        self._book_engines: list[Engine] = [self]
        # Real fills: every order also gets SimVenue's prediction (docs/calibration.md).
        self._calibration = None if self.venue.simulated else CalibrationShadow(profile.latency)
        self.ledger = Ledger(initial_cash)
        self.risk = RiskManager.from_profile(profile)
        self.alerts = AlertEvaluator(alert_rules)
        self._window = TickWindow(self.alerts.rules.window_ticks)
        self._updates = sorted(engine_markets_updates(updates), key=lambda u: u[0])
        self._gas = micro(profile.execution.gas_cost_usd)
        self._max_unwind_slippage = micro(profile.execution.max_unwind_slippage)
        self._max_market = micro(profile.risk.max_position_per_market_usd)
        self._baskets: dict[str, _Basket] = {}
        self._trading: dict[str, str] = {}
        """Opportunity key (:func:`opportunity_key`) → id of its basket still in flight."""
        self._orders_out: dict[str, Order] = {}
        """Orders submitted and not yet answered by the venue, by order id."""
        self._settling: dict[str, tuple[int, _Basket]] = {}
        """Completed baskets whose trades the exchange may still FAIL: decision id →
        (engine time it is forgotten, basket). Kept only for exchange-driven venues
        (a simulated fill is final) and for :data:`SETTLE_WINDOW_NS`, in completion order."""
        self._halt_mode = profile.risk.halt
        self.now_ns = 0
        self.seq = -1
        self.first_recv_ns: int | None = None
        self.frames = 0
        self.rows_by_kind: dict[str, int] = {}
        self.events_by_type: dict[str, int] = {}
        self.opportunities: dict[str, int] = {}
        self.verdicts: dict[str, int] = {"accept": 0, "reject": 0}
        self.rejects: dict[str, int] = {}
        self.orders_by_status: dict[str, int] = {}
        self.order_rejects: dict[str, int] = {}
        self.fills = 0
        self.decisions = 0
        self.merges = 0
        self.settlements = 0
        self.alerts_fired = 0
        self.halts = 0
        self.trade_failures = 0
        self.finished = False
        self._tick_counts = TickCounts()
        self._ticks = 0
        # What the last tick's snapshot was made of, for the quiet-tick shortcut (_on_tick);
        # _tick_fast False sends every tick the full way (the equivalence tests' reference).
        self._tick_fast = True
        self._tick_payload: str | None = None
        self._tick_health: dict[str, Any] = {}
        self._tick_repeat = False
        self._tick_pnl = 0
        self._tick_breaker = False
        self._tick_sums: tuple[int, ...] = ()
        self._down_since_ns: int | None = None
        self._peak_pnl = 0
        self._metric_last: dict[str, int] = {}
        self._book_counts: tuple[int, ...] = ()
        # Live with settlement.auto: the runner merges and settles on chain and records the
        # outcome as a settlement user row; only that row books it (docs/chain.md).
        self._chain_settles = profile.settlement.auto and not self.venue.simulated
        self._awaiting: dict[str, str | None] = {}
        """Resolved markets held, waiting for their settlement row: market → feed's winner."""
        self._to_settle: list[str] = []
        self._to_merge: list[tuple[str, int, str]] = []
        """Live ``merge`` baskets' complete sets for the runner to merge on chain:
        (market, sets, merge decision id); booked when the settlement row arrives."""

    # -- the one entry point ---------------------------------------------------------

    def on_frame(
        self,
        seq: int,
        recv_ns: int,
        kind: str,
        payload: str,
        conn_id: int = 0,
        events: list[MarketEvent] | None = None,
    ) -> None:
        """Process one session row. Rows must come in ``seq`` order.

        ``events`` is ``parse_frame(payload)`` when the caller already has it (several
        engines fed from one parse, :func:`~polyarb.engine.replay.replay_many`).
        """
        if recv_ns > self.now_ns:
            self.now_ns = recv_ns
        now = self.now_ns
        if self.first_recv_ns is None:
            self.first_recv_ns = recv_ns
        self.seq = seq
        self.frames += 1
        self.rows_by_kind[kind] = self.rows_by_kind.get(kind, 0) + 1
        state = self.state
        state.now_ns = now
        if self._updates and self._updates[0][0] <= seq:
            self._apply_updates(seq)
        arrival = self.venue.next_arrival_ns()
        if arrival is not None and arrival < now:
            # An order arriving at t sees every row received before t and none after.
            self._match(now - 1, seq)
        if state.open and now - state.quiet_floor_ns >= state.quiet_ns:
            quiet = state.quiet_events(now)
            if quiet:
                self._boundaries(quiet, seq)
        if kind == "frame":
            self._on_market_frame(seq, now, payload, conn_id, events)
        elif kind == "tick":
            self._on_tick(seq, now, payload)
        elif kind == "user":
            self._on_user(seq, now, payload)
        elif kind == "close":
            state.drop_connection(conn_id)
        elif kind == "gap":
            state.drop_connection(None)

    def lead(self, engines: Sequence[Engine]) -> None:
        """Build the books on this engine's rows for ``engines`` too (all on its state).

        Its market-frame path then tells every engine's venue about each book change
        and runs every engine's detectors at each boundary; each ``Engine`` keeps its own
        venue, orders, ledger and ticks (:class:`~polyarb.engine.shared.SharedBooks`).
        """
        self._book_engines = list(engines)
        self._book_venue = _Fanout([engine.venue for engine in engines])
        for engine in self._book_engines:
            if engine is not self:
                engine._updates = []  # metadata updates reach every venue through this one

    def finish(self) -> RunSummary:
        """End of input: close open events, let in-flight orders arrive, write final rows.

        Orders still in flight are matched against the last known books (the
        session holds nothing later). Returns the run summary.
        """
        if self.finished:
            return self.summary()
        self.finished = True
        seq = max(self.seq, 0)
        closing = list(self.state.open.items())
        self.state.open.clear()
        self._boundaries(closing, seq)
        self._match(_FOREVER, seq)
        self._mark()
        self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))
        for row in self.ledger.position_rows():
            self.sink.row("positions", row)
        self._book_metrics(seq, force=True)
        summary = self.summary()
        self.sink.log(f"finish seq={seq} " + json.dumps(summary.to_dict(), sort_keys=True))
        return summary

    def drain_settlements(self) -> list[str]:
        """Markets resolved while held since the last call: a live runner settles them on chain."""
        out, self._to_settle = self._to_settle, []
        return out

    def drain_merges(self) -> list[tuple[str, int, str]]:
        """Completed live ``merge`` baskets since the last call: (market, sets, decision id)."""
        out, self._to_merge = self._to_merge, []
        return out

    def drain_resync(self) -> list[str]:
        """Assets whose book failed its hash since the last call: a live feed resubscribes them."""
        out, self.state.resync_queue = self.state.resync_queue, []
        return out

    # -- market frames ---------------------------------------------------------------

    def _on_market_frame(
        self, seq: int, now: int, payload: str, conn_id: int, events: list[MarketEvent] | None
    ) -> None:
        # The hot path of a replay (one call per frame, ~all of them one book snapshot):
        # everything it reads more than once is a local, and a frame that continues its
        # market's open event updates it here (BookState.touch handles the rest).
        state = self.state
        books = state.books
        open_events = state.open
        venue = self._book_venue
        data = False
        latest_ts = 0
        counts = self.events_by_type
        for ev in parse_frame(payload) if events is None else events:
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
                current = open_events.get(market)
                if current is not None and current.ts_ms == ts:
                    current.last_seq = seq
                    current.last_recv_ns = now
                else:
                    ended = state.touch(market, ts, seq, now)
                    if ended is not None:
                        self._boundary(market, ended, seq)
                        state.touch(market, ts, seq, now)
                    current = open_events[market]
                if t is BookSnapshot:
                    assert isinstance(ev, BookSnapshot)
                    tick = ev.tick_size
                    if tick is not None and tick != state.metas[market].tick_size:
                        # The venue and the detectors price on the grid the exchange announced.
                        self._set_tick(market, tick)
                    book.apply_snapshot(ev.bids, ev.asks, ts, tick, ev.last_trade_price)
                    if current.last_change:
                        current.last_change.pop(asset, None)
                    state.conn_of[asset] = conn_id
                    venue.on_snapshot(asset, book.bid_levels, book.ask_levels)
                elif t is LevelChange:
                    assert isinstance(ev, LevelChange)
                    if not book.synced:
                        state.counters["delta_before_snapshot"] += 1
                        continue
                    book.apply_level(ev.side, ev.price, ev.size, ts)
                    current.last_change[asset] = ev
                    venue.on_level(asset, ev.side, ev.price, ev.size)
                elif t is LastTrade:
                    assert isinstance(ev, LastTrade)
                    book.last_trade_text = ev.price_text
                else:
                    assert isinstance(ev, TickSizeChange)
                    self._tick_size_change(book.market, ev)
            elif t is MarketResolved:
                assert isinstance(ev, MarketResolved)
                data = True
                self._resolved(ev, seq, now)
            elif t is ControlText:
                pass  # PONG and friends prove the socket, not the data (docs/protocol.md §Feed pitfalls)
            elif t is RejectedFrame:
                pass
            else:
                data = True
        if data:
            state.on_data(conn_id, now, latest_ts)

    def _tick_size_change(self, market: str, ev: TickSizeChange) -> None:
        state = self.state
        state.counters["tick_size_changes"] += 1
        self._set_tick(market, ev.new_tick_size)
        book = state.books[ev.asset_id]
        book.new_epoch(ev.new_tick_size)
        state.open[market].last_change.pop(ev.asset_id, None)
        # What we took stays taken: the next snapshot re-states every level (SimVenue.on_snapshot).

    def _set_tick(self, market: str, tick: int) -> None:
        """One tick size for the market's metadata, detectors' view and venue, at once."""
        meta = msgspec.structs.replace(self.state.metas[market], tick_size=tick)
        self.state.add_market(meta)
        self._book_venue.update_market(meta)

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
        self._book_venue.update_market(meta)
        for engine in self._book_engines:
            engine._settle(ev, seq, now)

    def _settle(self, ev: MarketResolved, seq: int, now: int) -> None:
        """Pay out what this engine holds in a market that just resolved."""
        held = [a for a, m in self.ledger.open_assets().items() if m == ev.market]
        if not held:
            # The ledger still learns the winner: a live fill answered after this settles then.
            self.ledger.settle(ev.market, ev.winning_asset_id)
            return
        if self._chain_settles:
            self._awaiting[ev.market] = ev.winning_asset_id
            self._to_settle.append(ev.market)
            self.sink.log(f"settle {ev.market}: on chain, booked when its settlement row arrives")
            return
        cost = self.ledger.exposure(ev.market)
        payout = self.ledger.settle(ev.market, ev.winning_asset_id)
        self._settled(seq, ev.market, held, cost, payout, {"winning_asset_id": ev.winning_asset_id})

    def _book_steps(self, market: str, row: dict[str, Any]) -> list[dict[str, Any]]:
        """Book a settlement row's steps in order; returns those the ledger could book."""
        booked = []
        for step in row.get("steps") or []:
            try:
                book_step(self.ledger, step, market)
            except LedgerError as exc:
                # The chain moved what the ledger does not hold: say so, keep trading.
                self.sink.log(f"{market}: ledger disagrees with the chain: {exc}")
                continue
            booked.append(step)
        return booked

    def _merged_on_chain(self, seq: int, market: str, row: dict[str, Any]) -> None:
        gas = self.ledger.gas_paid
        sets = 0
        assets: list[str] = []
        for step in self._book_steps(market, row):
            if step["do"] == "merge":
                sets += int(step["size"])
                assets = list(step["token_ids"])
        if sets:
            self.merges += 1
            self._decision(
                seq,
                str(row["decision"]),
                "merge",
                market=market,
                assets=assets,
                size=sets,
                detail={"via": "merge", "chain": True, "gas": self.ledger.gas_paid - gas},
            )
        if row.get("steps"):
            self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))

    def _settled(
        self, seq: int, market: str, held: list[str], cost: int, payout: int, detail: dict[str, Any]
    ) -> None:
        self.settlements += 1
        self._decision(
            seq,
            f"settle:{market}:{seq}",
            "settle",
            market=market,
            assets=sorted(held),
            price=payout,
            detail={**detail, "cost": cost, "payout": payout},
        )
        self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))

    def _on_settlement(self, seq: int, payload: str) -> None:
        """A live run's on-chain settlement (:mod:`polyarb.ledger.settlement`): book its steps
        (the receipts' gas), close the market when it settled, write its alerts."""
        row = json.loads(payload)
        market = str(row["market"])
        for data in row.get("alerts") or []:
            alert = AlertEvent(**data)
            self.sink.row("alerts", alert.row())
            self.sink.alert(alert.to_json())
            self.sink.log(f"alert {alert.state} {alert.level} {alert.message}")
            self.alerts_fired += alert.state == "fired"
        if row.get("error"):
            self.sink.log(f"settle {market} on chain: {row['error']}")
        if row.get("decision"):
            self._merged_on_chain(seq, market, row)
            return
        if market not in self._awaiting:
            self.sink.log(f"settle {market}: settlement row for a market not awaiting one")
            return
        held = sorted(a for a, m in self.ledger.open_assets().items() if m == market)
        cost = self.ledger.exposure(market)
        cash, gas = self.ledger.cash, self.ledger.gas_paid
        booked = self._book_steps(market, row)
        closed = any(step["do"] in ("redeem", "close") for step in booked)
        if closed:
            winner = self._awaiting.pop(market)
            payout = self.ledger.cash - cash + self.ledger.gas_paid - gas
            detail = {"winning_asset_id": winner, "via": "chain", "gas": self.ledger.gas_paid - gas}
            self._settled(seq, market, held, cost, payout, detail)
        elif row.get("steps"):
            self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))

    # -- boundaries and opportunities ------------------------------------------------

    def _boundary(self, market: str, ev: OpenEvent, seq: int) -> None:
        """The one event that ends on this row (see :meth:`_boundaries`)."""
        self.state.verify(market, ev)
        for engine in self._book_engines:
            engine._detect(market, ev, seq)

    def _boundaries(self, closing: Sequence[tuple[str, OpenEvent]], seq: int) -> None:
        """Events that end on this row: verify every one of them, only then detect.

        A basket spans several markets whose events often end on the same row;
        detecting after the first hash check would price the others' books
        before their own check could mark them unverified.
        """
        for market, ev in closing:
            self.state.verify(market, ev)
        for market, ev in closing:
            self._detect(market, ev, seq)

    def _detect(self, market: str, ev: OpenEvent, seq: int) -> None:
        state = self.state
        if market in state.resolved:
            return
        meta = state.metas[market]
        for detector in self.detectors:
            for opp in detector.on_boundary(state, meta, ev.last_seq):
                self._on_opportunity(opp, seq)

    def _on_opportunity(self, opp: Opportunity, seq: int) -> None:
        key = f"{opp.detector}/{opp.variant}"
        self.opportunities[key] = self.opportunities.get(key, 0) + 1
        self._tick_counts.opportunities += 1
        state = self.state
        refs = []
        for leg in opp.legs:
            book = state.books[leg.asset_id]
            refs.append((book.best_ask() if opp.side != SELL else book.best_bid()) or 0)
        self._decision(
            seq,
            opp.opportunity_id,
            "opportunity",
            detector=opp.detector,
            market=opp.market,
            assets=list(opp.assets),
            side=opp.side,
            size=opp.size,
            price=opp.cash * SCALE // opp.size,
            edge=opp.edge,
            detail={
                "variant": opp.variant,
                "boundary_seq": opp.boundary_seq,
                "ts_ms": opp.ts_ms,
                "cash": opp.cash,
                "payout": opp.payout,
                "fees": opp.fees,
                "legs": [
                    {"asset_id": f.asset_id, "cash": f.cash, "fee": f.fee, "worst": f.worst_price}
                    for f in opp.legs
                ],
            },
        )
        legs = [
            Leg(f.market, f.asset_id, opp.side, opp.size, f.worst_price, ref)  # type: ignore[arg-type]
            for f, ref in zip(opp.legs, refs, strict=True)
        ]
        reasons = {a: state.untradable(a) for a in opp.assets}
        stale = [a for a, r in reasons.items() if r == "stale"]
        unverified = [a for a, r in reasons.items() if r is not None and r != "stale"]
        key = opportunity_key(opp)
        trading = self._trading.get(key)
        if trading is not None:
            # One basket per mispricing until it is done: its orders are in flight or its
            # legs unfilled, so the same edge seen again is the one already being taken.
            verdict = RiskVerdict(False, "in_flight", {"basket": trading})
        elif self.halted:
            verdict = RiskVerdict(False, "halted", self._halt_detail())
        else:
            verdict = self.risk.check(
                legs,
                opp.edge,
                self.now_ns,
                self.ledger,
                stale=stale,
                unverified=unverified,
                cost=opp.payout if opp.side == SELL else opp.cash,
                split_first=opp.side == SELL,
                in_flight=self._in_flight_exposure(),
            )
        self._decision(
            seq,
            f"{opp.opportunity_id}/verdict",
            "verdict",
            detector=opp.detector,
            market=opp.market,
            assets=list(opp.assets),
            side=opp.side,
            size=opp.size,
            edge=opp.edge,
            verdict="accept" if verdict.accept else "reject",
            reason=verdict.reason,
            detail=verdict.detail,
        )
        if not verdict.accept:
            self.verdicts["reject"] += 1
            self.rejects[verdict.reason] = self.rejects.get(verdict.reason, 0) + 1
            return
        self.verdicts["accept"] += 1
        if opp.side == SELL:
            # Sell-both needs the sets first: split collateral, then sell every token.
            self.ledger.split(opp.market, opp.assets, opp.size, self._gas)
            self._decision(
                seq,
                f"{opp.opportunity_id}/split",
                "split",
                market=opp.market,
                assets=list(opp.assets),
                size=opp.size,
                detail={"gas": self._gas},
            )
        execution = BasketExecution(
            opp.opportunity_id,
            legs,
            self.profile.execution.order_type,
            self.profile.execution.leg_failure,
            seq,
            max_unwind_slippage=self._max_unwind_slippage,
        )
        self._baskets[opp.opportunity_id] = _Basket(execution, opp)
        self._trading[key] = opp.opportunity_id
        for order in execution.orders():
            self._submit(order, seq, "order")

    def _submit(self, order: Order, seq: int, kind: str) -> None:
        if self._calibration is not None:
            meta = self.state.metas.get(order.market)
            self._calibration.predict(order, self.now_ns, self.state, meta)
        arrive = self.venue.submit(order, self.now_ns)
        self._orders_out[order.order_id] = order
        if not self.live:
            self._tick_counts.orders += 1
        self._decision(
            seq,
            order.order_id,
            kind,
            market=order.market,
            assets=[order.asset_id],
            side=order.side,
            size=order.size,
            price=order.limit_price,
            detail={"order_type": order.order_type, "arrive_ns": arrive},
        )

    # -- venue results -----------------------------------------------------------------

    def _match(self, until_ns: int, seq: int) -> None:
        """Match orders arriving up to ``until_ns``, each against the book at its own arrival.

        An event whose frames stopped ``quiet_ns`` before an order arrives is
        over by then: it is closed first (boundary, hashes, detectors), so the
        order sees its book; ``mid_event`` only covers events still receiving frames.
        """
        state = self.state
        venue = self.venue
        while True:
            arrival = venue.next_arrival_ns()
            if arrival is None or arrival > until_ns:
                return
            if state.open:
                quiet = state.quiet_events(arrival)
                if quiet:
                    self._boundaries(quiet, seq)
            for result in venue.on_time(arrival, state, seq):
                self._on_result(result, seq)

    def _on_result(self, result: OrderResult, seq: int) -> None:
        self._orders_out.pop(result.order.order_id, None)
        if self.live:
            # Live answers take a network round trip: an order counts toward LIVE_NO_FILLS and
            # the reject rate once answered, not while its fills may still be on the way.
            self._tick_counts.orders += 1
        self.sink.row("orders", result.row(self.venue.simulated))
        if self._calibration is not None:
            row = self._calibration.outcome(result)
            if row is not None:
                self.sink.row("calibration", row)
        self.orders_by_status[result.status] = self.orders_by_status.get(result.status, 0) + 1
        self.sink.log(
            f"order {result.order.order_id} {result.status} {result.reason} "
            f"filled={format_fixed(result.filled_size)}"
        )
        for fill in result.fills:
            if fill.market in self.state.resolved:
                # Matched before resolution, answered after it: the ledger settles it on the spot.
                self._fill_decision(seq, f"settle_late:{fill.fill_id}", "settle_late", fill)
            # The exchange's matching is the truth: its fills book even when a FAILED reported
            # earlier took back the shares a SELL spent (that SELL's FAILED follows).
            self.ledger.apply_fill(fill, short_ok=not self.venue.simulated)
            self.sink.row("fills", fill.row(self.venue.simulated))
            self.fills += 1
            self._tick_counts.fills += 1
            self.sink.row("pnl", self.ledger.snapshot(seq, fill.ts_ns))
        if result.status == "rejected":
            self._tick_counts.rejects += 1
            self.order_rejects[result.reason] = self.order_rejects.get(result.reason, 0) + 1
        basket = self._baskets.get(result.order.decision_id)
        if basket is None:
            return
        for order in basket.execution.on_result(result, seq):
            self._submit(order, seq, "unwind")
        if basket.execution.done:
            del self._baskets[result.order.decision_id]
            key = opportunity_key(basket.opp)
            if self._trading.get(key) == result.order.decision_id:
                del self._trading[key]
            if not self.venue.simulated:
                self._settling[result.order.decision_id] = (self.now_ns + SETTLE_WINDOW_NS, basket)
            if basket.reopened:
                self._held_after_unwind(basket, seq)
            else:
                self._basket_done(basket, seq)

    def _on_user(self, seq: int, now: int, payload: str) -> None:
        """A user-channel frame or recorded REST answer: the only source of live fills."""
        if self._chain_settles and payload.startswith(SETTLEMENT_PREFIX):
            self._on_settlement(seq, payload)
            return
        update = self.venue.on_user(seq, now, payload)
        for note in update.notes:
            self.sink.log(note)
        for carry in update.carried:
            self.ledger.carry(carry.market, carry.asset_id, carry.size, carry.cost)
            self._decision(
                seq,
                f"carry:{carry.asset_id}",
                "carry",
                market=carry.market,
                assets=[carry.asset_id],
                size=carry.size,
                price=carry.cost * SCALE // carry.size,
                detail={"cost": carry.cost},
            )
        if update.carried:
            self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))
        for fill in update.reversed:
            self._reverse(fill, seq)
        for result in update.results:
            self._on_result(result, seq)

    def _reverse(self, fill: Fill, seq: int) -> None:
        """The exchange FAILED a trade we booked at MATCHED: undo it, count a leg failure.

        A basket in flight or completed within :data:`SETTLE_WINDOW_NS` then treats it as
        a leg failure (:meth:`BasketExecution.reverse`): the other legs' excess shares are
        unwound within ``execution.max_unwind_slippage`` or held, per the profile.
        """
        self.ledger.reverse_fill(fill)
        self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))
        self.trade_failures += 1
        decision_id = fill.order_id.rsplit("/", 1)[0]
        basket = self._baskets.get(decision_id)
        settled = self._settling.pop(decision_id, None) if basket is None else None
        if settled is not None:
            basket = settled[1]
        orders: list[Order] = []
        action = "none"
        if basket is not None and basket.execution.owns(fill.order_id):
            orders = basket.execution.reverse(fill, seq)
            if orders:
                action = "unwind"
            elif basket.execution.done:
                outcome = basket.execution.outcome
                action = "hold" if outcome is not None and outcome.held else "none"
            else:
                action = "in_flight"
        self._fill_decision(
            seq,
            f"failed:{fill.fill_id}",
            "trade_failed",
            fill,
            reason="trade_failed",
            detail={"basket": decision_id if basket is not None else "", "action": action},
        )
        self._breaker_failure()
        if basket is None:
            return
        basket.failure_counted = True
        if orders:
            basket.reopened = True
            self._baskets[decision_id] = basket
            self._trading.setdefault(opportunity_key(basket.opp), decision_id)
            for order in orders:
                self._submit(order, seq, "unwind")
        elif settled is not None:
            self._settling[decision_id] = (self.now_ns + SETTLE_WINDOW_NS, basket)
            self._held_after_unwind(basket, seq)

    def _held_after_unwind(self, basket: _Basket, seq: int) -> None:
        """A basket reopened by a FAILED trade is settled again: show what it holds."""
        if self.risk.note_pnl(self.now_ns, self.ledger):
            self.sink.log(f"daily loss limit hit at seq={seq}: no new trades this UTC day")
        outcome = basket.execution.outcome
        if outcome is None or not outcome.held:
            return
        self._tick_counts.held += len(outcome.held)
        self._mark()
        self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))

    def _basket_done(self, basket: _Basket, seq: int) -> None:
        outcome = basket.execution.outcome
        assert outcome is not None
        opp = basket.opp
        if outcome.leg_failed:
            if not basket.failure_counted:
                self._breaker_failure()
            for res in outcome.held:
                self.sink.log(
                    f"basket {outcome.decision_id} holds {format_fixed(res.size)} of "
                    f"{res.asset_id}{' (dust: under $1, no order can sell it)' if is_dust(res.size) else ''}"
                )
            if outcome.held and self.profile.execution.leg_failure == "unwind":
                # Held past the unwind bound: the loss shows now, at the best bids, not later.
                self._tick_counts.held += len(outcome.held)
                self._mark()
                self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))
            if self.risk.note_pnl(self.now_ns, self.ledger):
                self.sink.log(f"daily loss limit hit at seq={seq}: no new trades this UTC day")
        else:
            self.risk.breaker.record_success()
            self._tick_counts.trades += 1
        if not self.profile.execution.merge_complete_sets:
            return
        if opp.settles == "merge":
            sets = min(self.ledger.position(a) for a in opp.assets)
            if sets > 0 and self._chain_settles:
                # Live, settlement.auto: a transaction the runner sends; its row books it.
                self._to_merge.append((opp.market, sets, f"{opp.opportunity_id}/merge"))
            elif sets > 0:
                self.ledger.merge(opp.market, opp.assets, sets, self._gas)
                self._after_merge(opp, seq, sets, "merge")
        elif opp.settles == "convert" and outcome.matched_size > 0:
            # Convert only what is held, and only while every outcome is still open: an
            # outcome that resolved mid-flight has settled its NO, and the remaining NOs
            # settle leg by leg to the same n − 1 (docs/execution.md, neg-risk).
            if any(leg.market in self.state.resolved for leg in opp.legs):
                return
            size = min(outcome.matched_size, *(self.ledger.position(a) for a in opp.assets))
            if size > 0:
                pairs = [(leg.market, leg.asset_id) for leg in opp.legs]
                self.ledger.convert_all(pairs, size, self._gas)
                self._after_merge(opp, seq, size, "convert")
        # "hold": the tokens stay until resolution pays them (a YES basket: exactly one leg pays 1).

    def _after_merge(self, opp: Opportunity, seq: int, sets: int, how: str) -> None:
        self.merges += 1
        self._decision(
            seq,
            f"{opp.opportunity_id}/{how}",
            "merge",
            detector=opp.detector,
            market=opp.market,
            assets=list(opp.assets),
            size=sets,
            detail={"via": how, "gas": self._gas},
        )
        self.sink.row("pnl", self.ledger.snapshot(seq, self.now_ns))

    def _in_flight_exposure(self) -> dict[str, int]:
        """Cost each market gains if every BUY order still in flight fills at its limit."""
        out: dict[str, int] = {}
        for order in self._orders_out.values():
            if order.side == BUY:
                out[order.market] = out.get(order.market, 0) + mul_ceil(
                    order.limit_price, order.size
                )
        return out

    @property
    def halted(self) -> bool:
        """True while new trades are stopped by a halting CRITICAL alert (see ``risk.halt``)."""
        return self.risk.breaker.halted or self.alerts.halted

    def _halt_detail(self) -> dict[str, Any]:
        return {"alerts": list(self.alerts.active), "why": self.risk.breaker.halt_reason or ""}

    def _breaker_failure(self) -> None:
        if self.risk.breaker.record_failure(self.now_ns) == "opened":
            self.sink.log(f"breaker opened at seq={self.seq}")

    # -- ticks: timers, marks, alerts ----------------------------------------------------

    def _on_tick(self, seq: int, now: int, payload: str) -> None:
        """The one place timers fire: breaker cool-down, marks, alert rules, gauges."""
        self._ticks += 1
        while self._settling:
            first = next(iter(self._settling))
            if self._settling[first][0] > now:
                break
            del self._settling[first]
        if self.risk.on_tick(now, self.ledger) == "closed":
            self.sink.log(f"breaker closed at seq={seq}")
        if payload != self._tick_payload:  # tick payloads repeat (a replay's are all "")
            self._tick_payload = payload
            self._tick_health = tick_health(payload)
            self._tick_repeat = False
        counts = self._tick_counts
        sums = None
        # The common tick: same health, nothing counted, nothing held, same PnL and breaker,
        # and the alert evaluator idle on a repeat of the last snapshot. The snapshot would
        # equal the last one but for ts/seq, so no alert, halt or gauge can change unless
        # a count leaves the window; tests/engine/test_quiet_ticks.py checks the rows equal.
        if (
            self._tick_repeat
            and not (
                counts.orders
                or counts.fills
                or counts.rejects
                or counts.decisions
                or counts.held
                or counts.trades
                or counts.opportunities
            )
            and self.ledger.realised_pnl == self._tick_pnl
            and not self.ledger.open_assets()
            and self.risk.breaker.is_open == self._tick_breaker
        ):
            sums = self._window.quiet()
            if sums is self._tick_sums:
                self._book_metrics(seq, self._ticks % BOOK_STATS_EVERY_TICKS == 0)
                return
        self._full_tick(seq, now, sums)

    def _full_tick(self, seq: int, now: int, sums: tuple[int, ...] | None) -> None:
        """A tick's snapshot, alert rules and halt check (``sums``: the window, if pushed)."""
        health = self._tick_health
        connected = health.get("connected")
        if connected == 0:
            if self._down_since_ns is None:
                self._down_since_ns = now
        elif connected is not None:
            self._down_since_ns = None
        down_ms = 0 if self._down_since_ns is None else (now - self._down_since_ns) // 1_000_000
        open_assets = self.ledger.open_assets()
        if open_assets:
            self._mark()
            pnl = self.ledger.total_pnl()
        else:  # nothing open: the marked part is zero, the total is what was realised
            pnl = self.ledger.realised_pnl
        self._peak_pnl = max(self._peak_pnl, pnl)
        counts, self._tick_counts = self._tick_counts, TickCounts()
        if sums is None:
            sums = self._window.push(
                counts.orders, counts.fills, counts.rejects, counts.decisions, counts.held
            )
        orders, fills, rejects, decisions, held = sums
        breaker_open = self.risk.breaker.is_open
        snapshot = HealthSnapshot(
            ts_ns=now,
            seq=seq,
            connected=connected,
            connections=health.get("connections"),
            disconnected_for_ms=down_ms,
            breaker_open=breaker_open,
            live=self.live,
            orders_in_window=orders,
            fills_in_window=fills,
            rejects_in_window=rejects,
            decisions_in_window=decisions,
            latency_p95_us=health.get("latency_p95_us"),
            drawdown=self._peak_pnl - pnl,
            balance=health.get("balance"),
            rpc_ok=health.get("rpc_ok"),
            position_utilisation_bps=self._utilisation_bps(open_assets),
            unwinds_held_in_window=held,
            new_trades=counts.trades,
            new_opportunities=counts.opportunities,
        )
        was_halted = self.halted
        alerts = self.alerts.evaluate(snapshot)
        for alert in alerts:
            self.sink.row("alerts", alert.row())
            self.sink.alert(alert.to_json())
            self.sink.log(f"alert {alert.state} {alert.level} {alert.message}")
            if alert.state == "fired":
                self.alerts_fired += 1
                if alert.halts and self._halt_mode == "rest_of_run":
                    # The default: a halting alert stops new trades for good, even once it clears.
                    self.risk.breaker.halt(f"alert {alert.rule} {alert.level}")
        # Only an alert transition can halt or resume: a tick without one skips the re-check.
        if alerts and self.halted != was_halted:
            state = "halted" if self.halted else "resumed"
            self.halts += self.halted
            self._decision(
                seq,
                f"halt:{state}:{seq}",
                "halt",
                reason=state,
                detail={"active": list(self.alerts.active), "mode": self._halt_mode},
            )
        if connected is not None:
            self._metric(seq, "connected", connected)
        self._book_metrics(seq, self._ticks % BOOK_STATS_EVERY_TICKS == 0)
        self._tick_repeat = (
            self._tick_fast
            and self._down_since_ns is None
            and not open_assets
            and self.alerts.repeat_idle
        )
        self._tick_pnl = pnl
        self._tick_breaker = breaker_open
        self._tick_sums = sums

    def _mark(self) -> None:
        marks = {}
        for asset in self.ledger.open_assets():
            book = self.state.books.get(asset)
            bid = book.best_bid() if book is not None else None
            if bid is not None:
                marks[asset] = bid
        self.ledger.mark(marks)

    def _utilisation_bps(self, open_assets: dict[str, str]) -> int:
        markets = sorted(set(open_assets.values()))
        if not markets:
            return 0
        return max(self.ledger.exposure(m) for m in markets) * 10_000 // self._max_market

    def _book_metrics(self, seq: int, force: bool) -> None:
        c = self.state.counters
        counts = (
            c["hash_mismatch"],
            c["resyncs_requested"],
            c["crossed_at_boundary"],
            self.events_by_type.get("RejectedFrame", 0),
        )
        # Gauges are written only on change: counts equal to the last ones written are a no-op.
        if counts != self._book_counts:
            self._book_counts = counts
            for name, value in zip(_BOOK_GAUGES, counts, strict=True):
                self._metric(seq, name, value)
        if force:
            for name, value in self.state.stats().items():
                self._metric(seq, name, value)

    def _metric(self, seq: int, name: str, value: int) -> None:
        """A gauge row, only when it changed: keeps the table small and deterministic."""
        if self._metric_last.get(name) == value:
            return
        self._metric_last[name] = value
        self.sink.row(
            "metrics", {"ts_ns": self.now_ns, "seq": seq, "name": name, "value": value, "label": ""}
        )

    # -- rows ------------------------------------------------------------------------------

    def _decision(
        self,
        seq: int,
        decision_id: str,
        type_: str,
        *,
        detector: str = "",
        market: str = "",
        assets: Sequence[str] = (),
        side: str = "",
        size: int | None = None,
        price: int | None = None,
        edge: int | None = None,
        verdict: str = "",
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.decisions += 1
        self._tick_counts.decisions += 1
        self.sink.row(
            "decisions",
            {
                "seq": seq,
                "recv_ns": self.now_ns,
                "decision_id": decision_id,
                "type": type_,
                "detector": detector,
                "market": market,
                "assets": list(assets),
                "side": side,
                "size": size,
                "price": price,
                "edge": edge,
                "verdict": verdict,
                "reason": reason,
                "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":")),
            },
        )
        self.sink.log(f"decision seq={seq} {type_} {decision_id} {verdict} {reason}".rstrip())

    def _fill_decision(
        self, seq: int, decision_id: str, type_: str, fill: Fill, **extra: Any
    ) -> None:
        """A decision about one fill: its market, asset, side, size and price."""
        self._decision(
            seq,
            decision_id,
            type_,
            market=fill.market,
            assets=[fill.asset_id],
            side=fill.side,
            size=fill.size,
            price=fill.price,
            **extra,
        )

    def _apply_updates(self, seq: int) -> None:
        while self._updates and self._updates[0][0] <= seq:
            _, meta = self._updates.pop(0)
            self.state.add_market(meta)
            self._book_venue.update_market(meta)

    # -- summary -----------------------------------------------------------------------------

    def summary(self) -> RunSummary:
        """The run's headline numbers (run.json ``summary`` and what ``replay`` prints)."""
        ledger = self.ledger
        return RunSummary(
            frames=self.frames,
            rows_by_kind=dict(sorted(self.rows_by_kind.items())),
            events_by_type=dict(sorted(self.events_by_type.items())),
            book=dict(self.state.counters),
            opportunities=dict(sorted(self.opportunities.items())),
            opportunities_total=sum(self.opportunities.values()),
            suppressed={
                d.name: dict(sorted(d.suppressed.items())) for d in self.detectors if d.suppressed
            },
            verdicts=dict(self.verdicts),
            rejects_by_reason=dict(sorted(self.rejects.items())),
            decisions=self.decisions,
            orders=sum(self.orders_by_status.values()),
            orders_by_status=dict(sorted(self.orders_by_status.items())),
            order_rejects_by_reason=dict(sorted(self.order_rejects.items())),
            fills=self.fills,
            fees=ledger.fees_paid,
            gas=ledger.gas_paid,
            merges=self.merges,
            settlements=self.settlements,
            cash=ledger.cash,
            realised_pnl=ledger.realised_pnl,
            marked_pnl=ledger.marked_pnl(),
            total_pnl=ledger.total_pnl(),
            alerts_fired=self.alerts_fired,
            halts=self.halts,
            halted_at_end=self.halted,
        )


def opportunity_key(opp: Opportunity) -> str:
    """One mispricing across boundaries: ``<detector>/<variant>:<market or group>``."""
    return f"{opp.detector}/{opp.variant}:{opp.market}"


def engine_markets_updates(
    updates: Sequence[tuple[int, MarketMeta]],
) -> list[tuple[int, MarketMeta]]:
    """Later metadata rows, without look-ahead resolution (see :func:`engine_markets`)."""
    return [(seq, m) for seq, (m,) in ((s, engine_markets([m])) for s, m in updates)]
