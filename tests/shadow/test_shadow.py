"""Shadow mode against `polyarb serve`: parity PASS on every bundled session and under every
injected fault, the faults visible in metrics and alerts, and parity able to fail."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from shadow_support import run_shadow

from polyarb.recording import SessionReader
from polyarb.server import FaultPlan
from polyarb.shadow.parity import run_parity
from polyarb.shadow.runner import ShadowRun

pytestmark = pytest.mark.slow

# Accelerated pace. Baskets need other markets' events closed (20 ms of quiet or their next
# timestamp); at --max everything lands within milliseconds and the detector rightly waits.
BUNDLED = {
    "resolvedkit-btc15m": None,
    "crossing-burst-2026-09-29": 100.0,
    "negrisk-2028-dem-nominee": 20.0,
}


@pytest.fixture(scope="module")
def sources(bundled_recordings: Path, shared_data: Path) -> Path:
    from polyarb.recording.imports.negrisk import import_negrisk

    if not (bundled_recordings / "negrisk-2028-dem-nominee").exists():
        import_negrisk(shared_data, bundled_recordings)
    return bundled_recordings


def _metrics(run_dir: Path) -> dict[str, int]:
    rows = pq.read_table(str(run_dir / "metrics.parquet")).to_pylist()
    out: dict[str, int] = {}
    for r in rows:
        if r["name"] != "frame_latency_ns":
            out[r["name"]] = r["value"]  # gauges: the last value wins
    return out


@pytest.mark.parametrize("session_id", list(BUNDLED))
def test_shadow_equals_replay_on_every_bundled_session(
    sources: Path, tmp_path: Path, session_id: str
) -> None:
    run = run_shadow(sources / session_id, tmp_path, speed=BUNDLED[session_id])
    assert run["clean_exit"] and run["mode"] == "shadow"
    served = SessionReader(sources / session_id).manifest["counts"]["frame"]
    rec = SessionReader(tmp_path / "sh")
    assert rec.sealed
    # every served frame was recorded (plus the initial dump array)
    assert rec.manifest["counts"]["frame"] >= served
    result = run_parity(tmp_path / "sh")
    assert result.passed, result.first_divergence
    assert result.shadow_decisions == run["summary"]["decisions"]
    run_dir = tmp_path / "sh" / "runs" / "shadow"
    assert json.loads((run_dir / "parity.json").read_text())["status"] == "PASS"
    # per-frame processing latency was measured for every market frame
    lat = pq.read_table(
        str(run_dir / "metrics.parquet"), filters=[("name", "=", "frame_latency_ns")]
    )
    assert lat.num_rows == rec.manifest["counts"]["frame"]
    assert min(lat.column("value").to_pylist()) > 0
    events = (run_dir / "events.jsonl").read_text().splitlines()
    assert (
        len([e for e in events if json.loads(e)["table"] == "decisions"]) == result.shadow_decisions
    )
    if session_id.startswith("negrisk"):
        assert result.shadow_decisions > 0 and run["summary"]["fills"] > 0


FAULTS = {
    "disconnect": FaultPlan(disconnect_after=4_000, connections=1),
    "freeze": FaultPlan(freeze_after=4_000, connections=1),
    "garbage": FaultPlan(garbage_every=500),
    "duplicates": FaultPlan(duplicate_every=500),
    "delay": FaultPlan(delay_every=5_000, delay_ms=400),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_parity_holds_under_each_fault_and_the_fault_shows(
    sources: Path, tmp_path: Path, fault: str
) -> None:
    from polyarb.alerts.rules import AlertRules, RuleSet, WsDisconnected

    rules = AlertRules(rules=RuleSet(WS_DISCONNECTED=WsDisconnected(after_ms=0)))
    run = run_shadow(
        sources / "resolvedkit-btc15m",
        tmp_path,
        faults=FAULTS[fault],
        rules=rules,
        silence_s=1.0 if fault == "freeze" else 60.0,
        # the fault's reconnect may come after the server's end: wait for it, then the grace
        settle_until=_reconnected if fault in ("disconnect", "freeze") else None,
    )
    result = run_parity(tmp_path / "sh")
    assert result.passed, result.first_divergence
    run_dir = tmp_path / "sh" / "runs" / "shadow"
    metrics = _metrics(run_dir)
    alerts = pq.read_table(str(run_dir / "alerts.parquet")).to_pylist()
    if fault in ("disconnect", "freeze"):
        assert metrics["reconnect"] >= 1 and run["feed"]["reconnects"] >= 1
        assert run["summary"]["rows_by_kind"]["gap"] >= 1
        states = [a["state"] for a in alerts if a["rule"] == "WS_DISCONNECTED"]
        assert states[:2] == ["fired", "cleared"]
        assert metrics["connected_ratio_bps"] < 10_000
        if fault == "disconnect":
            _assert_uptime_is_time_weighted(tmp_path, tmp_path / "sh", run)
    elif fault == "garbage":
        assert metrics["rejected_frames"] > 0
        assert run["summary"]["events_by_type"]["RejectedFrame"] > 0
    elif fault == "duplicates":
        assert metrics["duplicate_frames"] > 0
    else:
        _assert_delays_show(tmp_path / "sh", metrics, FAULTS[fault])


def _reconnected(shadow: ShadowRun) -> bool:
    feed = shadow.recorder.feed
    return feed.gaps >= 1 and feed.connected >= 1


def _assert_uptime_is_time_weighted(recordings: Path, session: Path, run: dict) -> None:
    """Issue 11 item 15: promote-check, the daily report and the dashboard read one
    time-weighted uptime (connected time / observed time). The old average of the
    "connected" change rows (1, 0, 1) read 67 % whatever the outage lasted."""
    from polyarb.analytics.promotion import PromotionRules, evaluate
    from polyarb.analytics.views import connect
    from polyarb.dashboard.api import Api

    # Expected, from the recording alone: the health each tick carried holds until the next
    # tick, the last until the run's end (what the engine's change rows encode).
    ticks = [
        (f.recv_ns, json.loads(f.payload)["connected"] > 0)
        for f in SessionReader(session).frames()
        if f.kind == "tick"
    ]
    ends = [t for t, _ in ticks[1:]] + [run["last_recv_ns"]]
    observed = ends[-1] - ticks[0][0]
    up = sum(end - t for (t, ok), end in zip(ticks, ends, strict=True) if ok)
    expected = 100 * up / observed
    changes = pq.read_table(
        str(session / "runs" / "shadow" / "metrics.parquet"), filters=[("name", "=", "connected")]
    ).column("value")
    naive = 100 * sum(v > 0 for v in changes.to_pylist()) / len(changes)
    assert naive <= 100 * 2 / 3  # 1, 0, 1 (or worse): the number the old SQL printed
    assert 50 < expected < 100
    assert expected > naive + 10

    reports = recordings / "reports"
    result = evaluate(1, PromotionRules(), recordings=recordings, reports=reports)
    crit = next(c for c in result.criteria if c.name == "connected_pct")
    con = connect(recordings, reports)
    window = {
        "day_start": run["first_recv_ns"],
        "day_end": run["last_recv_ns"] + 1,
        "modes": ["shadow"],
    }
    from polyarb.analytics.promotion import run_sql

    run_sql(con, "daily_runs", window)
    daily = run_sql(con, "daily_summary", window).fetchone()
    daily_pct = daily[[d[0] for d in con.description].index("uptime_pct")]
    dashboard = Api(recordings, reports).run("sh", "shadow")["connected_pct"]
    for got in (crit.value, daily_pct, dashboard):
        assert got == pytest.approx(expected, abs=1e-9)


def _assert_delays_show(session: Path, metrics: dict[str, int], plan: FaultPlan) -> None:
    """The stalls, from recorded timestamps only (no wall-clock slack).

    A loaded client reads frames sent before a stall during it, so the largest gap it sees
    can be far below ``delay_ms`` (a 400 ms stall was measured as 0.23 s): that is not
    asserted. What holds on any machine: the metric is the recording's own largest gap,
    and the recording spans every stall its delivered frames went through, because the
    server sends nothing before the subscribe that follows the ``open`` row.
    """
    rows = [f for f in SessionReader(session).frames() if f.kind in ("open", "frame")]
    opened = next(f.recv_ns for f in rows if f.kind == "open")
    frames = [f for f in rows if f.kind == "frame"]
    recv = [f.recv_ns for f in frames]
    assert metrics["max_frame_gap_ns"] == max(b - a for a, b in itertools.pairwise(recv))
    delivered = sum(1 for f in frames if f.payload.startswith("{"))  # not the dump, not PONG
    stalls = delivered // plan.delay_every
    assert stalls >= 1
    assert recv[-1] - opened >= stalls * plan.delay_ms * 1_000_000


def test_parity_catches_an_engine_that_missed_a_frame(sources: Path, tmp_path: Path) -> None:
    source = sources / "negrisk-2028-dem-nominee"
    clean = run_shadow(source, tmp_path / "a", speed=20.0)
    assert clean["summary"]["decisions"] > 0
    first_opp = next(
        r
        for r in pq.read_table(str(tmp_path / "a/sh/runs/shadow/decisions.parquet")).to_pylist()
        if r["type"] == "opportunity"
    )
    # The opportunity is decided where its event closed; the mispriced quote is the last frame
    # before that touching one of the basket's legs. Hide that frame from the engine.
    frames = [f for f in SessionReader(tmp_path / "a/sh").frames() if f.kind == "frame"]
    legs = set(first_opp["assets"])
    index = max(
        i
        for i, f in enumerate(frames)
        if f.seq <= first_opp["seq"] and any(a in f.payload for a in legs)
    )

    run_shadow(source, tmp_path / "b", speed=20.0, drop_engine_frame=index)
    result = run_parity(tmp_path / "b/sh")
    assert not result.passed and result.status == "FAIL"
    div = result.first_divergence
    dropped = [f for f in SessionReader(tmp_path / "b/sh").frames() if f.kind == "frame"][index]
    assert dropped.payload == frames[index].payload  # the same frame, whatever its seq
    # the replay saw the dropped frame and found the opportunity; the shadow did not
    assert div is not None and div.expected is not None
    assert div.expected["type"] == "opportunity" and div.expected["assets"] == first_opp["assets"]
    assert div.seq >= dropped.seq
    assert div.actual is None or div.actual != div.expected
    assert div.frame is not None and div.frame["seq"] == div.seq
    report = json.loads((tmp_path / "b/sh/runs/shadow/parity.json").read_text())
    assert report["status"] == "FAIL" and report["first_divergence"]["seq"] == div.seq


def _corrupted(source: Path, root: Path) -> Path:
    """``source`` with one price_change size altered, its hash left as the exchange sent it."""
    from polyarb.recording import SessionWriter
    from polyarb.units import SCALE, format_fixed, parse_fixed

    reader = SessionReader(source)
    rows = [(f.kind, f.payload, f.recv_ns, f.mono_ns, f.conn_id) for f in reader.frames()]
    at = next(i for i, r in enumerate(rows) if '"price_changes"' in r[1])
    frame = json.loads(rows[at][1])
    entry = frame["price_changes"][0]
    # a size the book will not have had: the exchange's hash no longer matches
    entry["size"] = format_fixed(parse_fixed(entry["size"]) + 7 * SCALE)
    rows[at] = (rows[at][0], json.dumps(frame, separators=(",", ":")), *rows[at][2:])
    with SessionWriter.fresh(root, "corrupted", source=reader.manifest["source"]) as writer:
        writer.set_assets(reader.manifest["assets"])
        writer.write_markets(reader.markets(), valid_from_seq=0)
        writer.append_rows(rows)
    return root / "corrupted"


def test_a_book_that_stops_matching_its_hash_is_resynced(sources: Path, tmp_path: Path) -> None:
    # The engine flags the book at its event boundary; shadow reconnects that connection for
    # a fresh snapshot (the gap row says why), and parity still holds.
    source = _corrupted(sources / "negrisk-2028-dem-nominee", tmp_path / "src")
    run = run_shadow(source, tmp_path, speed=20.0, grace_s=2.0)
    assert run["clean_exit"]
    assert run["summary"]["book"]["resyncs_requested"] >= 1
    assert run["feed"]["resyncs"] >= 1 and run["feed"]["reconnects"] >= 1
    gaps = [
        json.loads(f.payload) for f in SessionReader(tmp_path / "sh").frames() if f.kind == "gap"
    ]
    assert gaps and gaps[0]["reason"].startswith("resync: book hash mismatch")
    result = run_parity(tmp_path / "sh")
    assert result.passed, result.first_divergence
