"""``polyarb shadow``: feed → recorder + engine in one process, with the simulated venue only.

Every row the feed delivers goes, in one order, to the recorder's journal and
to the engine, numbered with the seq the writer gives it; so a replay of the
recording sees exactly what the shadow engine saw, and ``polyarb parity``
can prove it. There is no live venue in this module: the engine's venue is
the simulated one, whatever the profile says (a live profile is refused).
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from polyarb.alerts import AlertRules
from polyarb.clock import WallClock
from polyarb.config.profile import Profile
from polyarb.engine import Engine
from polyarb.engine.sink import decisions_sha256
from polyarb.errors import PolyarbError
from polyarb.execution.venue_api import Venue
from polyarb.feed import FeedConfig
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.parser import preload_jit
from polyarb.recording.files import write_json_atomic
from polyarb.recording.recorder import Recorder
from polyarb.recording.schema import LIVE_COMPRESSION_LEVEL
from polyarb.recording.writer import SessionWriter
from polyarb.runs.runjson import FeedStats, RunJson, RunMode, build_run_json
from polyarb.runs.uptime import Uptime
from polyarb.shadow.heartbeat import SignsOfLife
from polyarb.shadow.sink import ShadowSink

SHADOW_RUN_ID = "shadow"


class ShadowError(RuntimeError, PolyarbError):
    """A shadow run that cannot start (bad profile mode, existing session…)."""


@dataclass
class ShadowOptions:
    """Everything a shadow run needs; the CLI builds it from flags and the profile."""

    profile: Profile
    rules: AlertRules
    markets: list[MarketMeta]
    assets: list[str]
    recordings: Path
    session_id: str
    feed: FeedConfig = field(default_factory=FeedConfig)
    duration_s: float | None = None
    flush_interval_s: float = 0.5
    status: TextIO | None = None
    notify: Callable[[str], None] | None = None
    """Called with each alerts.jsonl line (log/webhook delivery, off the hot path)."""
    drop_engine_frame: int | None = None
    """Test-only: hide the N-th market frame (0-based) from the engine, not from the recorder,
    to prove parity fails. Counted in frames, not seqs: tick rows land at wall-clock times."""
    health: Callable[[], dict[str, Any]] | None = None
    """Extra tick fields (``balance``, ``rpc_ok``) from a :class:`~polyarb.live.monitors.HealthMonitor`."""
    rng: random.Random | None = None
    """Seeds the reconnect jitter (tests); wall-clock behaviour only, never decisions."""
    heartbeat_log_s: float = 60.0
    """How often run.log gets a heartbeat line (frames, connections, latency, PnL)."""
    heartbeat_file_s: float = 2.0
    """How often heartbeat.json is rewritten for the dashboard's live view."""
    clock: WallClock | None = None
    """The feed's clock (receive times of rows); a breaker drill runs a faster one."""


class _AlertPump:
    """Delivers alert lines on a worker thread so a slow webhook never stalls the engine."""

    def __init__(self, deliver: Callable[[str], None]) -> None:
        self._q: queue.Queue[str | None] = queue.Queue()
        self._deliver = deliver
        self._thread = threading.Thread(target=self._run, name="polyarb-alerts", daemon=True)
        self._thread.start()

    def put(self, line: str) -> None:
        self._q.put(line)

    def _run(self) -> None:
        while (line := self._q.get()) is not None:
            # Delivery problems are logged by the notifier; they never stop the shadow.
            with contextlib.suppress(Exception):
                self._deliver(line)

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=30)


class ShadowRun:
    """One shadow session: build with options, ``await run()``, ``stop()`` from a signal."""

    RUN_ID = SHADOW_RUN_ID
    MODE = "dry_run"
    """The profile mode this runner accepts (``polyarb.live.runner.LiveRun``: live)."""

    def make_venue(self) -> Venue | None:
        """The engine's venue; None = the profile's simulated venue."""
        return None

    def run_mode(self) -> RunMode:
        """run.json's ``mode`` and the session source's (``polyarb.ops.drill``: ``drill``)."""
        return "shadow" if self.MODE == "dry_run" else "live"

    def accepts(self, profile: Profile) -> bool:
        """Whether this runner runs ``profile`` (the breaker drill runs live ones dry)."""
        return profile.mode == self.MODE

    def __init__(self, opts: ShadowOptions) -> None:
        if not self.accepts(opts.profile):
            raise ShadowError(
                f"profile {opts.profile.name!r} has mode {opts.profile.mode!r}: shadow runs "
                "dry_run profiles only (live trading is not reachable from shadow mode)"
            )
        target = opts.recordings / opts.session_id
        if target.exists():
            raise ShadowError(
                f"session {opts.session_id!r} already exists under {opts.recordings}: a shadow "
                "run starts its own session (parity replays it from the first row)"
            )
        self.opts = opts
        preload_jit()  # numba loads now, not mid-session (docs/engine.md §Performance)
        self.writer = SessionWriter(
            opts.recordings,
            opts.session_id,
            feed_url=opts.feed.url,
            source={"mode": self.run_mode(), "profile": opts.profile.name},
            compression_level=LIVE_COMPRESSION_LEVEL,
        )
        self.pump = _AlertPump(opts.notify) if opts.notify is not None else None
        self.sink = ShadowSink(
            self.writer.dir / "runs" / self.RUN_ID,
            on_alert=self.pump.put if self.pump is not None else None,
        )
        self.engine = Engine(
            opts.markets,
            opts.profile,
            self.sink,
            alert_rules=opts.rules,
            live=self.MODE == "live",
            venue=self.make_venue(),
        )
        self.signs = SignsOfLife(self, opts.heartbeat_file_s, opts.heartbeat_log_s)
        self._seq = self.writer.next_seq
        self._frames = 0
        self._last_payload: dict[int, str] = {}
        self._last_frame_ns: int | None = None
        self.duplicates = 0
        self.resyncs = 0
        self._resync_wanted: set[str] = set()
        self.max_frame_gap_ns = 0
        self._ticks = 0
        self._connected_ticks = 0
        self._connections_ticks = 0
        self.uptime = Uptime()
        self.error: BaseException | None = None
        self.recorder = Recorder(
            self.writer,
            opts.assets,
            markets=opts.markets,
            config=opts.feed,
            flush_interval_s=opts.flush_interval_s,
            status=opts.status,
            rng=opts.rng,
            clock=opts.clock,
            tap=self._on_row,
        )
        self.recorder.feed.extra_health = opts.health

    def stop(self) -> None:
        """End the run cleanly (SIGINT/SIGTERM): the session is sealed and the run written."""
        self.recorder.stop()

    def _on_row(self, kind: str, payload: str, recv_ns: int, mono_ns: int, conn_id: int) -> None:
        seq = self._seq
        self._seq = seq + 1
        if self.error is not None:
            return
        try:
            if kind == "frame":
                index = self._frames
                self._frames = index + 1
                if index != self.opts.drop_engine_frame:
                    self.engine.on_frame(seq, recv_ns, kind, payload, conn_id)
                self.sink.latency(recv_ns, seq, time.monotonic_ns() - mono_ns)
                self._watch_feed(payload, recv_ns, conn_id)
            else:
                self.engine.on_frame(seq, recv_ns, kind, payload, conn_id)
                if kind == "tick":
                    self._count_tick(payload, recv_ns)
                    self._resync()
                    self.signs.beat()
                elif kind in ("open", "close", "error"):
                    self.signs.feed_event(kind, payload, conn_id)
        except Exception as exc:  # an engine bug: stop, seal what was recorded, report it
            self.error = exc
            self.sink.log(f"engine error at seq={seq}: {type(exc).__name__}: {exc}")
            self.recorder.stop()

    def _resync(self) -> None:
        # Books whose hash stopped matching the exchange's are rebuilt from a fresh
        # snapshot: their connection reconnects (rate-limited), as after a gap. The
        # engine's decisions depend only on the recorded rows, so parity still holds.
        self._resync_wanted.update(self.engine.drain_resync())
        if not self._resync_wanted:
            return
        done = self.recorder.feed.resync(self._resync_wanted, "resync: book hash mismatch")
        if done:
            self._resync_wanted -= done
            self.resyncs += 1
            self.sink.log(f"resync: reconnecting for a fresh snapshot of {len(done)} asset(s)")

    def _watch_feed(self, payload: str, recv_ns: int, conn_id: int) -> None:
        # Feed faults the engine is right to ignore still belong in the metrics: a repeated
        # frame, and the longest silence between frames (a stalled stream).
        if self._last_payload.get(conn_id) == payload:
            self.duplicates += 1
        self._last_payload[conn_id] = payload
        if self._last_frame_ns is not None:
            self.max_frame_gap_ns = max(self.max_frame_gap_ns, recv_ns - self._last_frame_ns)
        self._last_frame_ns = recv_ns

    def _count_tick(self, payload: str, recv_ns: int) -> None:
        self._ticks += 1
        try:
            health = json.loads(payload) if payload else {}
        except json.JSONDecodeError:
            return
        if "connected" in health:  # the live view's connected %, defined as the SQL view's
            self.uptime.observe(recv_ns, int(health["connected"]))
        self._connected_ticks += int(health.get("connected", 0))
        self._connections_ticks += int(health.get("connections", 0))

    @property
    def never_connected(self) -> bool:
        """True when no connection ever opened (the feed was unreachable the whole run)."""
        return self.signs.opens == 0

    @property
    def last_feed_error(self) -> str:
        return self.signs.last_feed_error

    async def run(self) -> RunJson:
        """Run until stopped or ``duration_s``; returns the shadow run's run.json."""
        wall_start = time.time_ns()
        try:
            await self.recorder.run(self.opts.duration_s)
        finally:
            if self.pump is not None:
                self.pump.close()
            self.signs.final("failed" if self.error or self.never_connected else "finished")
        summary = self.engine.finish()
        wall_end = time.time_ns()
        feed = self.recorder.feed
        now = self.engine.now_ns
        self.sink.metric(now, self.engine.seq, "reconnect", feed.gaps)
        self.sink.metric(now, self.engine.seq, "duplicate_frames", self.duplicates)
        self.sink.metric(now, self.engine.seq, "max_frame_gap_ns", self.max_frame_gap_ns)
        if self._connections_ticks:
            ratio = self._connected_ticks * 10_000 // self._connections_ticks
            self.sink.metric(now, self.engine.seq, "connected_ratio_bps", ratio)
        profile = self.opts.profile
        run_json = build_run_json(
            self.engine,
            summary,
            profile,
            run_id=self.RUN_ID,
            session_id=self.opts.session_id,
            mode=self.run_mode(),
            counts=self.sink.counts(),
            decisions_sha256=decisions_sha256(self.sink.tables["decisions"]),
        )
        run_json.wall_start_ns = wall_start
        run_json.wall_end_ns = wall_end
        run_json.clean_exit = self.error is None
        run_json.feed = FeedStats(
            frames=feed.frames,
            bytes=feed.bytes,
            reconnects=feed.gaps,
            resyncs=self.resyncs,
            connections=len(feed.connections),
            connected_ticks=self._connected_ticks,
            connection_ticks=self._connections_ticks,
            duplicate_frames=self.duplicates,
            max_frame_gap_ns=self.max_frame_gap_ns,
        )
        if self.error is not None:
            run_json.error = f"{type(self.error).__name__}: {self.error}"
        # What parity needs to replay with exactly these settings.
        write_json_atomic(self.sink.dir / "profile.json", profile.model_dump(mode="json"))
        write_json_atomic(
            self.sink.dir / "alert_rules.json", self.opts.rules.model_dump(mode="json")
        )
        self.sink.close(run_json)
        run_json.run_dir = str(self.sink.dir)
        return run_json
