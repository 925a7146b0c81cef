"""Issue 16, items 2/4/7: the quiet-tick shortcut writes exactly the rows the full tick writes.

``Engine._on_tick`` skips the health snapshot and the alert rules on a tick that repeats
the last one (same health payload, nothing counted, nothing held, same PnL and breaker,
the window sums unchanged, the evaluator idle on a repeat). These tests feed the same
random rows (health flips, disconnects long enough to fire and halt, baskets that order
and fill, marks moving, a diverged book, a resolution) to an engine with the shortcut
and one without it (``_tick_fast = False``), with a 3-tick alert window so counts slide
out within a few ticks, and compare every table, log line and alert line. They fail if
the shortcut ever skips a tick whose alerts, halts, gauges or PnL rows would differ.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from negrisk_rows import MS, T0_MS, bad_delta, group, profile, quotes, resolved

from polyarb.alerts.rules import AlertRules
from polyarb.engine import Engine, MemorySink

METAS = group("q", 2)
RULES = AlertRules.model_validate(
    {
        "window_ticks": 3,
        "rules": {
            "PNL_DRAWDOWN": {"max_drawdown_usd": Decimal("0.5")},
            "POSITION_LIMIT_NEAR": {"max_utilisation_bps": 100},
            "HIGH_REJECT_RATE": {"min_orders": 1, "max_reject_bps": 1},
            "LIVE_NO_FILLS": {"min_orders": 1},
        },
    }
)
PAYLOADS = [
    "",
    json.dumps({"connected": 1, "connections": 1}),
    json.dumps({"connected": 0, "connections": 1}),
    json.dumps({"connected": 1, "connections": 1, "rpc_ok": False}),
    json.dumps({"rpc_ok": True, "latency_p95_us": 600_000}),
    json.dumps({"balance": 1_000_000}),
    "not json",
]
_FRAMES = {
    # every outcome's YES ask at 0.40: a basket (orders, fills, positions held and marked)
    "arb": quotes(METAS, T0_MS, yes=(390_000, 400_000), no=(590_000, 600_000)),
    "flat": quotes(METAS, T0_MS, yes=(490_000, 500_000), no=(490_000, 500_000)),
    "down": quotes(METAS, T0_MS, yes=(100_000, 900_000), no=(100_000, 900_000)),
    "bad": [bad_delta(METAS[0], T0_MS, 380_000)],
    "resolve": [
        resolved(METAS[0], T0_MS, METAS[0].token_ids[0]),
        resolved(METAS[1], T0_MS, METAS[1].token_ids[1]),
    ],
    "empty": [],
}

ops = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(0, len(PAYLOADS) - 1), st.integers(1, 2_500)),
        st.tuples(st.sampled_from(sorted(_FRAMES)), st.just(0), st.integers(0, 400)),
    ),
    max_size=60,
)


def _engine(*, fast: bool, live: bool = False) -> tuple[Engine, MemorySink]:
    sink = MemorySink()
    # one failed basket opens the breaker; it closes on the first tick 2 s later
    prof = profile(consecutive_failures=1, breaker_cooldown_s=2)
    engine = Engine(METAS, prof, sink, alert_rules=RULES, live=live)
    engine._tick_fast = fast
    return engine, sink


def _run(rows: list[tuple[str, str, int]], *, fast: bool, live: bool = False) -> dict[str, Any]:
    engine, sink = _engine(fast=fast, live=live)
    for seq, (kind, payload, at_ns) in enumerate(rows, 1):
        engine.on_frame(seq, T0_MS * MS + at_ns, kind, payload)
    summary = engine.finish()
    return {
        "tables": sink.tables,
        "lines": sink.lines,
        "alerts": sink.alert_lines,
        "summary": summary,
    }


def _rows(steps: list[tuple[str, int, int]], ticks_after: int = 8) -> list[tuple[str, str, int]]:
    rows: list[tuple[str, str, int]] = []
    at_ms = 0
    for kind, payload, dt in steps:
        at_ms += dt
        if kind == "tick":
            rows.append(("tick", PAYLOADS[payload], at_ms * MS))
        else:
            rows.append(("frame", json.dumps(_FRAMES[kind]), at_ms * MS))
    for _ in range(ticks_after):  # let every count slide out of the window
        at_ms += 1_000
        rows.append(("tick", "", at_ms * MS))
    return rows


@settings(max_examples=250, deadline=None)
@given(ops, st.booleans())
def test_quiet_tick_shortcut_writes_the_rows_the_full_tick_writes(
    steps: list[tuple[str, int, int]], live: bool
) -> None:
    rows = _rows(steps)
    assert _run(rows, fast=True, live=live) == _run(rows, fast=False, live=live)


def test_the_shortcut_is_taken_and_still_fires_what_time_and_the_window_bring(
    monkeypatch: Any,
) -> None:
    """Quiet ticks skip the snapshot, yet a disconnect held with the same payload fires
    WS_DISCONNECTED (and halts) at 5 s, rejects leaving the 3-tick window clear
    HIGH_REJECT_RATE on the tick they leave, and the breaker closing after its cool-down
    clears CIRCUIT_BREAKER_OPEN: the same ticks as with every tick evaluated."""
    full_ticks: list[int] = []
    real = Engine._full_tick

    def spy(self: Engine, seq: int, now: int, sums: tuple[int, ...] | None) -> None:
        if self._tick_fast:
            full_ticks.append(seq)
        real(self, seq, now, sums)

    monkeypatch.setattr(Engine, "_full_tick", spy)
    # a basket filled, held two ticks, settled; then down 8 s with one repeated payload
    steps = [("tick", 1, 1_000), ("arb", 0, 10), ("empty", 0, 300)]
    steps += [("tick", 0, 1_000)] * 2 + [("resolve", 0, 10)]
    steps += [("tick", 0, 1_000)] * 6
    steps += [("tick", 2, 1_000)] * 8
    steps += [("tick", 1, 1_000)] * 4
    rows = _rows(steps)
    fast = _run(rows, fast=True)
    assert fast == _run(rows, fast=False)
    ticks = sum(1 for kind, _, _ in rows if kind == "tick")
    assert 0 < len(full_ticks) < ticks  # some ticks took the shortcut, not all
    fired = [(a["rule"], a["state"]) for a in fast["tables"]["alerts"]]
    assert ("WS_DISCONNECTED", "fired") in fired
    assert ("WS_DISCONNECTED", "cleared") in fired
    assert any(d["type"] == "halt" for d in fast["tables"]["decisions"])
    assert fast["summary"].fills == 2 and fast["summary"].settlements == 2
    # the market resolves before the orders arrive: both rejected, then they leave the window
    full_ticks.clear()
    rows = _rows([("tick", 0, 1_000), ("arb", 0, 10), ("empty", 0, 300), ("resolve", 0, 10)])
    fast = _run(rows, fast=True)
    assert fast == _run(rows, fast=False)

    def seqs(rule: str) -> list[tuple[int, str]]:
        return [(a["seq"], a["state"]) for a in fast["tables"]["alerts"] if a["rule"] == rule]

    rejects = seqs("HIGH_REJECT_RATE")
    assert [state for _, state in rejects] == ["fired", "cleared"]
    assert rejects[1][0] - rejects[0][0] == 3  # cleared as they leave the 3-tick window
    breaker = seqs("CIRCUIT_BREAKER_OPEN")
    assert [state for _, state in breaker] == ["fired", "cleared"]
    assert breaker[1][0] - breaker[0][0] == 2  # closed at the first tick 2 s later
    assert len(full_ticks) < sum(1 for kind, _, _ in rows if kind == "tick")
