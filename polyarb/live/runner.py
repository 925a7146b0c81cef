"""``polyarb live``: the shadow loop (feed → recorder + engine) with a real venue.

What differs from shadow (docs/live.md §The live loop):

* **Startup reconciliation** over REST before any session exists: the API
  key, open orders, pUSD balance and the shares of every traded token. Open
  orders this run did not place, or positions other than expected, halt
  (:class:`LiveError`, nothing recorded, no order sent). The answers are the
  session's first ``user`` row.
* **Orders** go through :class:`~polyarb.live.venue.LiveVenue`: posted from a
  worker, answered as recorded ``user`` rows.
* **User channel**: every frame is recorded as a ``user`` row exactly as
  received; when it drops, ``/data/trades`` is read over REST (recorded too)
  and the channel reconnects. The engine books fills only from these rows,
  so ``polyarb parity`` replays a live run with ``UserRowVenue``.
* **Kill switch** (a thread of its own, so a busy engine loop cannot delay
  it): a ``STOP`` file in the run folder (``polyarb stop``), SIGTERM, or a
  halting alert → the sender refuses new orders, ``cancel_all``, and the
  exchange's open orders are read back until empty; ``stopped.json`` says
  what was cancelled and how long it took.
* **Heartbeat** (dead-man switch) from a daemon thread.
* **Automatic settlement** (``settlement.auto``): a market resolved while held is
  merged and redeemed on chain from a worker thread (:class:`~polyarb.chain.settle.SettleWorker`);
  the outcome is a recorded ``user`` row the engine books (docs/chain.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyarb.alerts.rules import AlertEvent
from polyarb.chain.withdraw import OPEN_ORDERS_FILE
from polyarb.env import Secret
from polyarb.execution.venue_api import Venue
from polyarb.live.monitors import HealthMonitor, chain_collateral
from polyarb.live.venue import LiveSender, LiveVenue
from polyarb.recording.files import write_json_atomic
from polyarb.runs.runjson import RunJson, run_json_dict
from polyarb.shadow.runner import ShadowError, ShadowOptions, ShadowRun
from polyarb.units import format_fixed
from polyarb.venues.polymarket import Heartbeat, PolymarketClient, RetryPolicy
from polyarb.venues.polymarket.errors import ClobError

if TYPE_CHECKING:
    from polyarb.chain.settle import SettleWorker

LIVE_RUN_ID = "live"
STOP_FILE = "STOP"
"""``polyarb stop`` writes this file in the run folder; the kill switch polls for it."""
STOPPED_FILE = "stopped.json"
USER_CONN = 1_000
"""``conn_id`` of user rows (market connections count from 0)."""


class LiveError(ShadowError):
    """A live run that must not start or go on (reconciliation mismatch, exchange unreachable)."""


@dataclass
class LiveOptions:
    """A shadow run's options plus the exchange: URL, key (never logged), timings."""

    shadow: ShadowOptions
    clob_url: str
    private_key: str = field(repr=False)
    user_url: str | None = None
    """Default: the CLOB URL with ws(s):// and ``/ws/user``."""
    duration_s: float | None = None
    heartbeat_s: float = 5.0
    kill_poll_s: float = 0.05
    drain_s: float = 10.0
    """At the end, how long to wait for in-flight orders' trades before stopping."""
    reconnect_s: float = 0.5
    expect_positions: dict[str, int] | None = None
    """token id → shares the account should hold at startup. None (default): what the
    previous live run of this wallet under ``recordings`` left in its ledger (none if none)."""
    policy: RetryPolicy | None = None
    rpc_url: str | None = None
    """A Polygon JSON-RPC endpoint to watch (RPC_UNHEALTHY) and to read the wallet's pUSD from."""
    chain_spenders: tuple[str, ...] = ()
    """pUSD spenders whose allowances cap the on-chain balance LOW_BALANCE reads."""
    monitor_interval_s: float = 5.0
    open_orders_poll_s: float = 1.0
    """How often the exchange's resting orders are read for ``open_orders.json``."""
    settle_wait_s: float = 600.0
    """With ``settlement.auto``: how long a resolved market waits for the chain's payouts."""
    settle_poll_s: float = 5.0


def _ws_url(clob_url: str) -> str:
    base = clob_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + "/ws/user"
    return "ws://" + base.removeprefix("http://") + "/ws/user"


class LiveRun(ShadowRun):
    """One live session: ``LiveRun(opts)`` reconciles (or raises), then ``await run()``."""

    RUN_ID = LIVE_RUN_ID
    MODE = "live"

    def __init__(self, opts: LiveOptions) -> None:
        self.live_opts = opts
        if opts.shadow.profile.settlement.auto and not opts.rpc_url:
            # Refused before any exchange call: the ledger would wait for rows never sent.
            raise LiveError("settlement.auto: true needs a Polygon RPC (POLYGON_RPC_URL) to settle")
        self.client = PolymarketClient(opts.clob_url, opts.private_key, policy=opts.policy)
        self.startup = self._reconcile_startup(opts)
        creds = self.client.creds
        # Its own connections: the kill switch and REST reconciliation never wait behind a
        # slow order post (the client sends one request at a time).
        self.aux = PolymarketClient(
            opts.clob_url, opts.private_key, creds=creds, policy=opts.policy
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._early: list[str] = []
        self.sender = LiveSender(self.client, self._push_threadsafe)
        self.venue: LiveVenue | None = None
        self._kill_reason = ""
        self._kill_request = threading.Event()
        self._done = threading.Event()
        self.kill: dict[str, Any] | None = None
        self.user_frames = 0
        self.user_drops = 0
        self.rest_reconciles = 0
        self.late_rows = 0
        self._sealing = False
        self._stopping = False
        self._resting: list[str] = []
        """Order ids the exchange last listed as open for this key (``open_orders.json``)."""
        self._listed: list[str] | None = None
        rpc = None
        chain_balance = None
        if opts.rpc_url:
            from polyarb.chain.client import ChainClient  # web3: only when a node is watched

            rpc = ChainClient(opts.rpc_url)
            chain_balance = chain_collateral(
                rpc, opts.shadow.profile.chain.collateral, self.client.address, opts.chain_spenders
            )
        self.monitor = HealthMonitor(
            balance=lambda: int(str(self.aux.balance_allowance().get("balance") or "0")),
            rpc=rpc,
            chain_balance=chain_balance,
            interval_s=opts.monitor_interval_s,
        )
        self.monitor.poll_once()
        opts.shadow.health = self.monitor.fields
        self.settle_worker = self._settle_worker(opts)
        self._settling: list[Future[None]] = []
        self.settlements_sent = 0
        super().__init__(opts.shadow)

    # -- wiring -------------------------------------------------------------------------

    def _settle_worker(self, opts: LiveOptions) -> SettleWorker | None:
        """With ``settlement.auto``: the wallet's on-chain settler (docs/chain.md)."""
        profile = opts.shadow.profile
        if not profile.settlement.auto or not opts.rpc_url:
            return None
        from polyarb.chain.ctf import Ctf  # web3: only when settling on chain
        from polyarb.chain.settle import Settler, SettleWorker
        from polyarb.chain.wallet import Wallet

        wallet = Wallet(
            opts.rpc_url, Secret(opts.private_key), expect_chain_id=profile.chain.chain_id
        )
        settler = Settler(Ctf(wallet, profile.chain), profile.settlement, rules=opts.shadow.rules)
        return SettleWorker(
            settler, self._push_threadsafe, wait_s=opts.settle_wait_s, poll_s=opts.settle_poll_s
        )

    def _on_row(self, kind: str, payload: str, recv_ns: int, mono_ns: int, conn_id: int) -> None:
        super()._on_row(kind, payload, recv_ns, mono_ns, conn_id)
        worker = self.settle_worker
        if worker is not None and kind in ("frame", "user"):
            # The engine only marks the market; the transactions run on the worker's thread.
            for market in self.engine.drain_settlements():
                self.settlements_sent += 1
                self._settling.append(worker.submit(market, market))
            for market, sets, decision in self.engine.drain_merges():
                self._settling.append(worker.submit_merge(market, market, sets, decision))

    def settling(self) -> bool:
        """A settlement is still on its way to the chain (its row not yet recorded)."""
        self._settling = [f for f in self._settling if not f.done()]
        return bool(self._settling)

    def make_venue(self) -> Venue | None:
        self.venue = LiveVenue({}, self.sender)
        return self.venue

    def _push(self, payload: str) -> None:
        """Record one user row and hand it to the engine (on the loop's thread)."""
        if self._sealing or self.engine.finished:
            # An answer after the session was sealed (drain_s ran out): neither recorded nor
            # acted on, so the run stays equal to its recording; run.json lists it unanswered.
            self.late_rows += 1
            return
        self.recorder.push("user", payload, time.time_ns(), time.monotonic_ns(), USER_CONN)

    def _push_threadsafe(self, payload: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self._early.append(payload)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._push, payload)

    def request_kill(self, reason: str) -> None:
        """From a signal handler or any thread: the kill switch thread acts on it."""
        if not self._kill_reason:
            self._kill_reason = reason
        self._kill_request.set()

    @property
    def stop_file(self) -> Path:
        return self.sink.dir / STOP_FILE

    # -- startup ------------------------------------------------------------------------

    def _reconcile_startup(self, opts: LiveOptions) -> dict[str, Any]:
        """Open orders and positions from REST against what this wallet should hold.

        Expected: ``opts.expect_positions``, else the previous live run's ledger
        (:func:`previous_holdings`), else nothing. Equal → those positions are
        carried into this run's ledger (the startup row's ``carry``); any open
        order, or any token whose shares differ → :class:`LiveError` naming it.
        """
        client = self.client
        try:
            client.create_or_derive_api_key()
        except ClobError as exc:
            raise LiveError(f"startup reconciliation failed: {exc}") from None
        previous = previous_holdings(opts.shadow.recordings, client.address)
        source = previous[0] if previous is not None else "none"
        carry = previous[1] if previous is not None else []
        if opts.expect_positions is not None:
            source = "expect_positions"
            markets = {t: m.condition_id for m in opts.shadow.markets for t in m.token_ids}
            # The previous ledger's cost basis where it agrees on the size; else unknown (0).
            known = {(c["asset_id"], int(c["size"])): int(c["cost"]) for c in carry}
            carry = [
                {
                    "market": markets.get(t, ""),
                    "asset_id": t,
                    "size": n,
                    "cost": known.get((t, n), 0),
                }
                for t, n in sorted(opts.expect_positions.items())
            ]
        expected = {c["asset_id"]: int(c["size"]) for c in carry}
        tokens = [t for m in opts.shadow.markets for t in m.token_ids]
        tokens += [t for t in expected if t not in tokens]
        try:
            open_orders = client.open_orders()
            collateral = client.balance_allowance()
            held: dict[str, int] = {}
            for token in tokens:
                answer = client.balance_allowance("CONDITIONAL", token)
                shares = int(str(answer.get("balance") or "0"))
                if shares:
                    held[token] = shares
        except ClobError as exc:
            raise LiveError(f"startup reconciliation failed: {exc}") from None
        problems = []
        if open_orders:
            ids = ", ".join(str(o.get("id", "?")) for o in open_orders[:3])
            problems.append(
                f"{len(open_orders)} open order(s) on the exchange this run did not place ({ids})"
            )
        for token in tokens:
            have, want = held.get(token, 0), expected.get(token, 0)
            if have != want:
                problems.append(
                    f"asset {token}: the exchange holds {format_fixed(have)} shares, the "
                    f"previous live run's ledger ({source}) {format_fixed(want)}"
                )
        if problems:
            raise LiveError("startup reconciliation mismatch, halting: " + "; ".join(problems))
        return {
            "rest": "startup",
            "open_orders": open_orders,
            "balance": int(str(collateral.get("balance") or "0")),
            "positions": held,
            "previous": source,
            "carry": [c for c in carry if int(c["size"]) > 0 and c.get("market")],
        }

    # -- the run ------------------------------------------------------------------------

    async def run(self) -> RunJson:
        """Trade until stopped, the duration, or the kill switch; returns run.json."""
        self._loop = asyncio.get_running_loop()
        self._push(json.dumps(self.startup, sort_keys=True, separators=(",", ":")))
        for payload in self._early:
            self._push(payload)
        self._early.clear()
        beat_stop = threading.Event()
        beat = threading.Thread(
            target=Heartbeat(self.aux, self.live_opts.heartbeat_s).run,
            args=(beat_stop,),
            name="polyarb-heartbeat",
            daemon=True,
        )
        beat.start()
        self.monitor.start()
        killer = threading.Thread(target=self._watch, name="polyarb-kill-switch", daemon=True)
        killer.start()
        user_task = asyncio.create_task(self._user_channel(), name="user-channel")
        orders_task = asyncio.create_task(self._watch_open_orders(), name="open-orders")
        timer = None
        if self.live_opts.duration_s is not None:
            timer = asyncio.get_running_loop().call_later(
                self.live_opts.duration_s, lambda: asyncio.ensure_future(self.finish_trading())
            )
        try:
            run_json = await super().run()
        finally:
            if timer is not None:
                timer.cancel()
            self._done.set()
            beat_stop.set()
            self.monitor.stop()
            user_task.cancel()
            orders_task.cancel()
            for task in (user_task, orders_task):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.sender.close()
            if self.settle_worker is not None:
                self.settle_worker.close(wait=False)
            killer.join(timeout=10)
            beat.join(timeout=10)
            await self._read_resting(log=False)  # the run log is sealed by now
            self._list_open_orders()
        return self._finish_run_json(run_json)

    def stop(self) -> None:
        """A clean stop (SIGINT): finish trading, drain, then seal."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.finish_trading()))
        else:
            super().stop()

    async def finish_trading(self) -> None:
        """No new orders; wait for in-flight orders and for booked trades to be CONFIRMED
        or FAILED (a FAILED one is a leg failure the run must still act on; REST
        reconciliation helps), at most ``drain_s``; then seal."""
        if self._stopping:
            return
        self._stopping = True
        self.sender.halt()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.live_opts.drain_s
        venue = self.venue
        while loop.time() < deadline and (
            (venue is not None and (venue.pending() or venue.unsettled())) or self.settling()
        ):
            await asyncio.sleep(0.2)
            if venue is not None and venue.pending() and self.sender.idle():
                await self._reconcile_trades()
            elif venue is not None and venue.unsettled() and self.sender.idle():
                await asyncio.sleep(0.8)  # statuses come on the user channel; ask REST now and then
                await self._reconcile_trades()
        self._metrics()
        self._sealing = True
        super().stop()

    async def _reconcile_trades(self) -> None:
        try:
            answer = await asyncio.to_thread(self.aux.trades)
        except ClobError as exc:
            self.sink.log(f"trades reconciliation failed: {exc}")
            return
        self.rest_reconciles += 1
        self._push(json.dumps({"rest": "trades", "answer": answer}, separators=(",", ":")))

    async def _user_channel(self) -> None:
        from polyarb.venues.polymarket.user_channel import user_frames

        creds = self.client.creds
        assert creds is not None
        url = self.live_opts.user_url or _ws_url(self.live_opts.clob_url)
        markets = [m.condition_id for m in self.opts.markets]
        while True:
            try:
                async for frame in user_frames(url, creds, markets, ping_s=5.0):
                    self.user_frames += 1
                    self._push(frame)
            except (TimeoutError, OSError) as exc:
                self.sink.log(f"user channel error: {type(exc).__name__}")
            except Exception as exc:  # websockets' handshake errors: reconnect like a drop
                self.sink.log(f"user channel error: {type(exc).__name__}")
            self.user_drops += 1
            self._fault("user channel dropped: reconciling trades over REST")
            await self._reconcile_trades()
            await asyncio.sleep(self.live_opts.reconnect_s)

    def _fault(self, message: str) -> None:
        """A venue fault as an alert row (runner-level: parity compares decisions only)."""
        event = AlertEvent(
            self.engine.now_ns, max(self.engine.seq, 0), "LIVE_VENUE_FAULT", "WARNING",
            "fired", message, 1, 0,
        )  # fmt: skip
        self.sink.row("alerts", event.row())
        self.sink.alert(event.to_json())
        self.sink.log(f"alert fired WARNING {message}")

    # -- open orders (the withdraw guard) -----------------------------------------------

    def _list_open_orders(self) -> None:
        """Rewrite ``open_orders.json`` when the set changed: orders sent and not answered
        (client ids) and orders resting on the exchange (exchange ids). ``polyarb withdraw``
        refuses while it lists any; a clean stop leaves it empty."""
        venue = self.venue
        ids = sorted(set(venue.open_orders() if venue is not None else []) | set(self._resting))
        if ids == self._listed:
            return
        self._listed = ids
        write_json_atomic(self.sink.dir / OPEN_ORDERS_FILE, {"orders": ids})

    async def _read_resting(self, *, log: bool = True) -> None:
        """The exchange's open orders of this key; unreadable → the last list stays."""
        try:
            answer = await asyncio.to_thread(self.aux.open_orders)
        except ClobError as exc:
            if log:
                self.sink.log(f"open orders read failed: {exc}")
            return
        self._resting = [str(o.get("id", "")) for o in answer]

    async def _watch_open_orders(self) -> None:
        poll = self.live_opts.open_orders_poll_s
        loop = asyncio.get_running_loop()
        next_read = 0.0
        while True:
            if loop.time() >= next_read:
                await self._read_resting()
                next_read = loop.time() + poll
            self._list_open_orders()
            await asyncio.sleep(0.05)

    # -- kill switch --------------------------------------------------------------------

    def _watch(self) -> None:
        poll = self.live_opts.kill_poll_s
        while not self._done.is_set():
            if self.stop_file.exists():
                self.request_kill("polyarb stop")
            elif self.engine.halted:
                self.request_kill("halting alert")
            if self._kill_request.is_set():
                self._kill(self._kill_reason or "requested")
                return
            self._kill_request.wait(poll)

    def _kill(self, reason: str) -> None:
        start = time.monotonic()
        self.sender.halt()
        cancelled: list[str] = []
        left: list[dict[str, Any]] = []
        error = ""
        for _ in range(20):
            try:
                answer = self.aux.cancel_all()
                cancelled.extend(str(x) for x in answer.get("canceled", []) or [])
                left = self.aux.open_orders()
            except ClobError as exc:
                error = str(exc)
                time.sleep(0.05)
                continue
            if not left:
                break
        self.kill = {
            "reason": reason,
            "cancelled": cancelled,
            "open_after": len(left),
            "confirmed": not left,
            "elapsed_ms": int((time.monotonic() - start) * 1000),
            "error": error,
        }
        write_json_atomic(self.sink.dir / STOPPED_FILE, self.kill)
        self._push_threadsafe(json.dumps({"rest": "cancel_all", **self.kill}, sort_keys=True))
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.finish_trading()))

    # -- the end ------------------------------------------------------------------------

    def _metrics(self) -> None:
        now, seq = self.engine.now_ns, max(self.engine.seq, 0)
        stats = self.client.stats
        for name, value in (
            ("live_orders_sent", self.sender.sent),
            ("user_frames", self.user_frames),
            ("user_channel_drops", self.user_drops),
            ("rest_reconciliations", self.rest_reconciles),
            ("trade_failures", self.engine.trade_failures),
            *((f"clob_{k}", v) for k, v in sorted(_stats(stats).items())),
            *((f"clob_error_{k}", v) for k, v in sorted(self.sender.errors.items())),
        ):
            self.sink.metric(now, seq, name, value)
        for name, value in sorted(_stats(stats).items()):
            if value and name in (
                "throttled",
                "timeouts",
                "server_errors",
                "reconciles",
                "resends",
            ):
                self._fault(f"exchange {name}: {value}")
        if self.engine.trade_failures:
            self._fault(f"{self.engine.trade_failures} trade(s) FAILED after matching: reversed")

    def _finish_run_json(self, run_json: RunJson) -> RunJson:
        venue = self.venue
        run_json.live = {
            "clob_url": self.live_opts.clob_url,
            "address": self.client.address,
            "startup": {k: v for k, v in self.startup.items() if k != "rest"},
            "orders_sent": self.sender.sent,
            "orders_unanswered": venue.open_orders() if venue is not None else [],
            "trade_statuses": venue.trade_statuses if venue is not None else {},
            "user_frames": self.user_frames,
            "user_channel_drops": self.user_drops,
            "rest_reconciliations": self.rest_reconciles,
            "late_rows": self.late_rows,
            "settlements_sent": self.settlements_sent,
            "client": _stats(self.client.stats),
            "kill": self.kill,
            "account": {
                "cash_delta": venue.cash_delta if venue is not None else 0,
                "shares": dict(venue.shares) if venue is not None else {},
            },
            "ledger": {
                "cash_delta": self.engine.ledger.cash - self.engine.ledger.initial_cash,
                "carried_cost": sum(int(c["cost"]) for c in self.startup.get("carry", [])),
                "positions": {
                    r["asset_id"]: r["size"]
                    for r in self.engine.ledger.position_rows()
                    if not r["settled"]
                },
                "holdings": [
                    {k: r[k] for k in ("market", "asset_id", "size", "cost")}
                    for r in self.engine.ledger.position_rows()
                    if not r["settled"]
                ],
            },
        }
        write_json_atomic(self.sink.dir / "run.json", run_json_dict(run_json))
        return run_json


def previous_holdings(recordings: Path, address: str) -> tuple[str, list[dict[str, Any]]] | None:
    """The open positions the last finished live run of ``address`` left in its ledger.

    ``(session id, [{market, asset_id, size, cost}])`` from the newest (``wall_end_ns``)
    ``<session>/runs/live/run.json`` of that wallet, or None when it never ran live here.
    """
    best: tuple[int, str, list[dict[str, Any]]] | None = None
    for path in sorted(recordings.glob(f"*/runs/{LIVE_RUN_ID}/run.json")):
        try:
            run = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        live = run.get("live") or {}
        if str(live.get("address", "")).lower() != address.lower():
            continue
        end = int(run.get("wall_end_ns") or 0)
        holdings = (live.get("ledger") or {}).get("holdings") or []
        if best is None or end > best[0]:
            best = (end, path.parent.parent.parent.name, list(holdings))
    return None if best is None else (best[1], best[2])


def _stats(stats: object) -> dict[str, int]:
    out: dict[str, int] = {}
    for name in getattr(stats, "__dataclass_fields__", {}):
        value = getattr(stats, name)
        if isinstance(value, int) and not isinstance(value, bool):
            out[name] = value
    return out


__all__ = ["LIVE_RUN_ID", "STOPPED_FILE", "STOP_FILE", "LiveError", "LiveOptions", "LiveRun"]
