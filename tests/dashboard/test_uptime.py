"""The live view's connected % is the one definition promote-check and the reports read.

A running shadow run has no metrics table yet, so the dashboard's live view reads
heartbeat.json; that number is now counted by :class:`polyarb.runs.uptime.Uptime`, the
Python twin of view_uptime.sql, over the same ticks the SQL view reads once the run is done.
"""

from __future__ import annotations

import json
from pathlib import Path

from dashboard_support import REPO

from polyarb.alerts.rules import load_alert_rules
from polyarb.config.profile import load_profile
from polyarb.dashboard.api import Api
from polyarb.engine import replay
from polyarb.feed import FeedConfig
from polyarb.recording.imports.negrisk import import_negrisk
from polyarb.recording.reader import SessionReader
from polyarb.recording.writer import SessionWriter
from polyarb.runs.uptime import connected_pct
from polyarb.shadow.runner import ShadowOptions, ShadowRun

S = 1_000_000_000


def _ticks(start_ns: int) -> list[tuple[int, str]]:
    """61 ticks a second apart over 60 s; the connection is down for the one second at 30 s."""
    out = []
    for sec in range(61):
        up = 0 if sec == 30 else 1
        payload = json.dumps({"connected": up, "connections": 1}, separators=(",", ":"))
        out.append((start_ns + sec * S, payload))
    return out


def test_uptime_function_is_time_weighted() -> None:
    """Proves 1 s down in 60 s is 98.33 % (tick counting read 60/61 = 98.36 %), and that
    the time after the last sample counts until the end given."""
    samples = [(sec * S, 0 if sec == 30 else 1) for sec in range(61)]
    assert round(connected_pct(samples) or 0, 2) == 98.33
    assert connected_pct([]) is None and connected_pct([(5, 1)]) is None
    assert connected_pct([(0, 0), (S, 2)], end_ns=4 * S) == 75.0


def test_live_view_and_sql_view_agree(tmp_path: Path, shared_data: Path) -> None:
    """Proves the dashboard API's live view (heartbeat of a real ShadowRun fed 60 s of ticks
    with 1 s down) reads 98.3 %, the same number run_uptime (view_uptime.sql) gives for a
    replay of those ticks. Old code counted ticks (60 of 61 = 98.36 %, shown as 98.4)."""
    recordings = tmp_path / "recordings"
    session = import_negrisk(shared_data, recordings)
    reader = SessionReader(session)
    start = max(f.recv_ns for f in reader.frames()) + S
    ticks = _ticks(start)
    with SessionWriter(session.parent, session.name) as w:
        for ts, payload in ticks:
            w.append("tick", payload, ts, ts)
    replay(session, load_profile(REPO / "profiles" / "live_shadow_negrisk_v1.yaml"), run_id="done")

    shadow = _shadow(recordings, reader)
    for ts, payload in ticks:
        shadow._on_row("tick", payload, ts, ts, -1)
    shadow.signs.beat(force=True)

    api = Api(recordings, tmp_path / "reports", profiles=REPO / "profiles")
    (live,) = [r for r in api.live()["runs"] if r["session_id"] == "running"]
    assert live["state"] == "running"
    finished = api.run(session.name, "done")["connected_pct"]
    assert round(live["connected_pct"], 1) == round(finished, 1) == 98.3
    assert abs(live["connected_pct"] - finished) < 0.01


def _shadow(recordings: Path, reader: SessionReader, session_id: str = "running") -> ShadowRun:
    """A real shadow run, not started: the test hands it the rows its feed would."""
    return ShadowRun(
        ShadowOptions(
            profile=load_profile(REPO / "profiles" / "live_shadow_negrisk_v1.yaml"),
            rules=load_alert_rules(REPO / "profiles" / "alerts.production.yaml"),
            markets=reader.markets(),
            assets=list(reader.manifest["assets"]),
            recordings=recordings,
            session_id=session_id,
            feed=FeedConfig(url="ws://127.0.0.1:9/ws/market"),
        )
    )


def test_running_runs_alerts_carry_their_level(tmp_path: Path, shared_data: Path) -> None:
    """Proves a running run's active alert reaches heartbeat.json and /api/alerts/state with
    its level (old code: the heartbeat named the rule only, and the alert centre showed
    level None)."""
    recordings = tmp_path / "recordings"
    reader = SessionReader(import_negrisk(shared_data, recordings))
    shadow = _shadow(recordings, reader)
    start = max(f.recv_ns for f in reader.frames()) + S
    down = json.dumps({"connected": 0, "connections": 1}, separators=(",", ":"))
    for sec in range(120):  # two minutes with the feed down
        shadow._on_row("tick", down, start + sec * S, start + sec * S, -1)
    shadow.signs.beat(force=True)
    assert "WS_DISCONNECTED" in shadow.engine.alerts.active

    beat = json.loads((recordings / "running/runs/shadow/heartbeat.json").read_text())
    (alert,) = [a for a in beat["alerts"] if a["rule"] == "WS_DISCONNECTED"]
    assert alert["level"] == "CRITICAL" and alert["since_ns"] >= start
    api = Api(recordings, tmp_path / "reports", profiles=REPO / "profiles")
    active = [a for a in api.alerts_state(50)["active"] if a["session_id"] == "running"]
    (row,) = [a for a in active if a["rule"] == "WS_DISCONNECTED"]
    assert row["level"] == "CRITICAL" and row["run_state"] == "running"
    assert row["since_ns"] == alert["since_ns"]
