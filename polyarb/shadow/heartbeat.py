"""Signs of life of a shadow (or live) run: feed events, heartbeat lines and ``heartbeat.json``.

All of it is wall-clock bookkeeping beside the engine, never an input to it: connect and
disconnect go to ``events.jsonl`` and ``run.log``; a heartbeat line (frames, connections,
latency, opportunities, PnL, active alerts) goes to ``run.log`` at each connect and every
``log_s``; ``heartbeat.json`` is rewritten every ``file_s`` for the dashboard's live view,
which calls a run whose heartbeat went stale without a ``run.json`` crashed.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

from polyarb.recording.files import write_json_atomic
from polyarb.units import format_fixed

HEARTBEAT_FILE = "heartbeat.json"
_LATENCY_WINDOW = 20_000
"""Latency samples a heartbeat's percentiles are taken over (the newest since the last one)."""


class SignsOfLife:
    """Bound to one run (``ShadowRun`` or alike: ``opts``, ``sink``, ``engine``, ``recorder``)."""

    def __init__(self, run: Any, file_s: float = 2.0, log_s: float = 60.0) -> None:
        self.run = run
        self.file_s = file_s
        self.log_s = log_s
        self.opens = 0
        self.last_feed_error = ""
        self.started_ns = time.time_ns()
        self._log_mono = 0
        self._file_mono = 0
        self._frames = 0
        self._lat_from = 0

    def feed_event(self, kind: str, payload: str, conn_id: int) -> None:
        """An ``open``/``close``/``error`` row of the feed, as a person wants to see it."""
        sink = self.run.sink
        try:
            info = json.loads(payload) if payload else {}
        except json.JSONDecodeError:
            info = {}
        if kind == "open":
            self.opens += 1
            sink.event("connect", conn=conn_id, attempt=info.get("attempt"))
            sink.log(f"connect conn={conn_id} attempt={info.get('attempt')}")
            self.beat(force=True)
        elif kind == "close":
            why = info.get("why") or f"{info.get('code')} {info.get('reason', '')}".strip()
            sink.event("disconnect", conn=conn_id, code=info.get("code"), why=why)
            sink.log(f"disconnect conn={conn_id}: {why}")
        else:
            error = str(info.get("error", payload))
            if error != self.last_feed_error:  # a refused feed retries forever: log changes
                sink.log(f"feed error conn={conn_id}: {error}")
            self.last_feed_error = error

    def status(self, state: str = "running") -> dict[str, Any]:
        """What heartbeat.json holds: the live view's numbers at this moment."""
        run = self.run
        feed = run.recorder.feed
        engine = run.engine
        lat = sorted(run.sink.lat_ns[self._lat_from :][-_LATENCY_WINDOW:])

        def pct(q: int) -> int | None:
            return lat[min(len(lat) - 1, len(lat) * q // 100)] // 1000 if lat else None

        connected_pct = run.uptime.pct(engine.now_ns)  # time-weighted, as view_uptime.sql
        return {
            "session_id": run.opts.session_id,
            "run_id": run.sink.dir.name,
            "mode": run.run_mode(),
            "profile_name": run.opts.profile.name,
            "state": state,
            "pid": os.getpid(),
            "started_ns": self.started_ns,
            "ts_ns": time.time_ns(),
            "frames": feed.frames,
            "connected": feed.connected,
            "connections": len(feed.connections),
            "reconnects": feed.gaps,
            "connected_pct": None if connected_pct is None else round(connected_pct, 2),
            "latency_p50_us": pct(50),
            "latency_p95_us": pct(95),
            "latency_p99_us": pct(99),
            "opportunities": sum(engine.opportunities.values()),
            "orders": sum(engine.orders_by_status.values()),
            "fills": engine.fills,
            "pnl_micro": engine.ledger.total_pnl(),
            "active_alerts": list(engine.alerts.active),
            # with their levels, so the dashboard's alert centre can rank a running run's alerts
            "alerts": [
                {"rule": e.rule, "level": e.level, "since_ns": e.ts_ns, "message": e.message}
                for e in engine.alerts.active_events
            ],
            "feed_error": self.last_feed_error,
        }

    def beat(self, *, force: bool = False) -> None:
        """On each tick: rewrite heartbeat.json when due, and the run.log line when due."""
        mono = time.monotonic_ns()
        file_due = mono - self._file_mono >= self.file_s * 1e9
        log_due = mono - self._log_mono >= self.log_s * 1e9
        if not (force or file_due or log_due):
            return
        status = self.status()
        elapsed = (mono - self._file_mono) / 1e9 if self._file_mono else 0.0
        status["frames_per_s"] = (
            round((status["frames"] - self._frames) / elapsed, 1) if elapsed else 0.0
        )
        self._frames = status["frames"]
        self._lat_from = len(self.run.sink.lat_ns)
        self._file_mono = mono
        write_json_atomic(self.run.sink.dir / HEARTBEAT_FILE, status)
        if force or log_due:
            self._log_mono = mono
            self.run.sink.log(heartbeat_line(status))

    def final(self, state: str) -> None:
        """The last heartbeat.json: ``finished`` or ``failed`` (never left saying running)."""
        # The run's own result matters more than its heartbeat: never fail the run for it.
        with contextlib.suppress(OSError):
            write_json_atomic(self.run.sink.dir / HEARTBEAT_FILE, self.status(state))


def heartbeat_line(status: dict[str, Any]) -> str:
    """The run.log heartbeat: one line a person can scan (units on every number)."""

    def ms(us: int | None) -> str:
        return "-" if us is None else f"{us / 1000:.1f}ms"

    pct = status.get("connected_pct")
    return (
        f"heartbeat frames={status['frames']} ({status.get('frames_per_s', 0)}/s) "
        f"connections={status['connected']}/{status['connections']} up "
        f"reconnects={status['reconnects']} "
        f"connected={'-' if pct is None else f'{pct}%'} "
        f"latency p50={ms(status['latency_p50_us'])} p95={ms(status['latency_p95_us'])} "
        f"p99={ms(status['latency_p99_us'])} "
        f"opportunities={status['opportunities']} orders={status['orders']} "
        f"pnl_usd={format_fixed(status['pnl_micro'])} "
        f"alerts={','.join(status['active_alerts']) or 'none'}"
    )
