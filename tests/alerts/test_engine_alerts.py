"""End to end: tick rows with adapter health in a real session → engine replay → alerts written.

The ticks are appended to a real imported session with ``SessionWriter``; the
engine evaluates the production rules on them, writes ``alerts.jsonl`` and the
``alerts`` table, halts on the CRITICAL rule (for the rest of the run, or until it
clears with ``risk.halt: while_active``), and a
second replay writes the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from polyarb.alerts.rules import rules_for_profile
from polyarb.config.profile import load_profile
from polyarb.engine.replay import replay
from polyarb.recording.imports import import_burst
from polyarb.recording.reader import SessionReader
from polyarb.recording.writer import SessionWriter

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "profiles" / "live_shadow_atomic_v1.yaml"
S = 1_000_000_000

OK = {"connected": 1, "connections": 1, "rpc_ok": True, "latency_p95_us": 1_000,
      "balance": 100_000_000}  # fmt: skip
# second -> health observed on that tick (the rest as OK)
TICKS: dict[int, dict[str, object]] = {
    1: {},
    2: {"connected": 0},                                   # down from here
    3: {"connected": 0, "rpc_ok": False},
    4: {"connected": 0, "rpc_ok": False, "latency_p95_us": 900_000},
    5: {"connected": 0, "rpc_ok": False, "balance": 5_000_000},  # RPC 3rd bad tick
    6: {"connected": 0, "rpc_ok": False, "balance": 5_000_000},
    7: {"connected": 0, "balance": 5_000_000},             # 5 s down: WS_DISCONNECTED
    8: {"connected": 0},
    9: {},                                                 # all healthy again
}  # fmt: skip


@pytest.fixture
def session(tmp_path: Path, shared_data: Path) -> Path:
    root = tmp_path / "recordings"
    import_burst(shared_data, root)
    (sid,) = [p.name for p in root.iterdir()]
    last = max(f.recv_ns for f in SessionReader(root / sid).frames())
    with SessionWriter(root, sid) as w:
        for sec, health in TICKS.items():
            payload = json.dumps(OK | health, separators=(",", ":"))
            w.append("tick", payload, last + sec * S, last + sec * S)
    return root / sid


def _alerts(run_dir: Path) -> list[tuple[str, str]]:
    return [(a["rule"], a["state"]) for a in map(json.loads, (run_dir / "alerts.jsonl").open())]


def test_tick_health_raises_and_clears_alerts_through_the_engine(session: Path) -> None:
    profile = load_profile(PROFILE)
    rules = rules_for_profile(PROFILE, profile.alerts)
    run = replay(session, profile, run_id="a", alert_rules=rules)
    run_dir = Path(run["run_dir"])
    seen = _alerts(run_dir)
    for rule in ("WS_DISCONNECTED", "RPC_UNHEALTHY", "LATENCY_P95_HIGH", "LOW_BALANCE"):
        assert seen.count((rule, "fired")) == 1, (rule, seen)
        assert seen.count((rule, "cleared")) == 1, (rule, seen)
        assert seen.index((rule, "fired")) < seen.index((rule, "cleared"))
    table = pq.read_table(run_dir / "alerts.parquet").to_pylist()
    assert [(r["rule"], r["state"]) for r in table] == seen
    ws = next(r for r in table if r["rule"] == "WS_DISCONNECTED" and r["state"] == "fired")
    assert ws["level"] == "CRITICAL" and ws["value"] == 5_000 and ws["threshold"] == 5_000
    rpc = next(r for r in table if r["rule"] == "RPC_UNHEALTHY" and r["state"] == "fired")
    assert rpc["level"] == "WARNING" and rpc["value"] == 3
    halts = [r["reason"] for r in pq.read_table(run_dir / "decisions.parquet").to_pylist()
             if r["type"] == "halt"]  # fmt: skip
    assert halts == ["halted"]  # the shipped profile halts for the rest of the run
    lenient = profile.model_copy(
        update={"risk": profile.risk.model_copy(update={"halt": "while_active"})}
    )
    run_dir = Path(replay(session, lenient, run_id="w", alert_rules=rules)["run_dir"])
    halts = [r["reason"] for r in pq.read_table(run_dir / "decisions.parquet").to_pylist()
             if r["type"] == "halt"]  # fmt: skip
    assert halts == ["halted", "resumed"]


def test_alerts_replay_byte_identically(session: Path) -> None:
    profile = load_profile(PROFILE)
    rules = rules_for_profile(PROFILE, profile.alerts)
    a = Path(replay(session, profile, run_id="a", alert_rules=rules)["run_dir"])
    b = Path(replay(session, profile, run_id="b", alert_rules=rules)["run_dir"])
    assert (a / "alerts.jsonl").read_bytes() == (b / "alerts.jsonl").read_bytes()
    assert (a / "alerts.jsonl").read_bytes()
