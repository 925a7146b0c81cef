"""Tick rows drive alerts (and halts); a row-by-row drive equals the replay (shadow parity)."""

from __future__ import annotations

import json

import pytest
from engine_support import big_profile

from polyarb.config.profile import Profile, RiskLimits
from polyarb.engine import Engine, MemorySink, canonical_decision, decisions_sha256, replay
from polyarb.engine.replay import split_history
from polyarb.recording import SessionReader

S = 1_000_000_000


@pytest.mark.parametrize(
    ("mode", "halts", "halted_at_end"),
    [
        (None, ["halted"], True),  # the default: the rest of the run
        ("rest_of_run", ["halted"], True),
        ("while_active", ["halted", "resumed"], False),
    ],
)
def test_disconnected_ticks_fire_a_critical_alert_that_halts(mode, halts, halted_at_end):
    """A halting CRITICAL alert stops trading for the rest of the run unless ``halt: while_active``.

    Fails on the old engine for the default: it resumed as soon as the alert cleared.
    """
    sink = MemorySink()
    risk = RiskLimits() if mode is None else RiskLimits(halt=mode)
    engine = Engine([], Profile(name="t", risk=risk), sink)
    for second in range(12):
        connected = 0 if 2 <= second < 9 else 1
        engine.on_frame(
            second, second * S, "tick", json.dumps({"connected": connected, "connections": 1})
        )
    engine.finish()
    alerts = [(a["rule"], a["state"]) for a in sink.tables["alerts"]]
    assert alerts == [("WS_DISCONNECTED", "fired"), ("WS_DISCONNECTED", "cleared")]
    fired = sink.tables["alerts"][0]
    assert fired["ts_ns"] == 7 * S and fired["value"] == 5_000  # 5 s down by frame time
    assert [json.loads(line)["state"] for line in sink.alert_lines] == ["fired", "cleared"]
    assert [d["reason"] for d in sink.tables["decisions"] if d["type"] == "halt"] == halts
    assert engine.summary()["halted_at_end"] is halted_at_end
    connected = [m["value"] for m in sink.tables["metrics"] if m["name"] == "connected"]
    assert connected == [1, 0, 1]  # a gauge row only when the value changes


def test_row_by_row_engine_equals_replay(negrisk_session):
    profile = big_profile()
    sink = MemorySink()
    run = replay(negrisk_session, profile, sink=sink)
    reader = SessionReader(negrisk_session)
    start, later = split_history(reader.market_history())
    live = MemorySink()
    engine = Engine(start, profile, live, updates=later)
    for f in reader.frames():
        engine.on_frame(f.seq, f.recv_ns, f.kind, f.payload, f.conn_id)
    engine.finish()
    a = [canonical_decision(r) for r in sink.tables["decisions"]]
    b = [canonical_decision(r) for r in live.tables["decisions"]]
    assert a == b and len(a) == 20
    assert decisions_sha256(live.tables["decisions"]) == run["decisions_sha256"]
    # and the digest does see a difference
    changed = [dict(r) for r in live.tables["decisions"]]
    changed[3]["size"] += 1
    assert decisions_sha256(changed) != run["decisions_sha256"]
