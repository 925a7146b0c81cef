"""Acceptance 4-6: risk verdicts per decision, breaker on ticks, venue fills, leg failure, ledger."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from engine_support import big_profile

from polyarb.alerts.rules import AlertRules, CircuitBreakerOpen, RuleSet
from polyarb.config.profile import Execution, LatencyModel
from polyarb.engine import MemorySink, replay
from polyarb.units import SCALE


def _decisions(sink, type_=None):
    rows = sink.tables["decisions"]
    return [r for r in rows if type_ is None or r["type"] == type_]


def test_fills_convert_and_settlement_reconcile_with_the_ledger(negrisk_session):
    sink = MemorySink()
    run = replay(negrisk_session, big_profile(), sink=sink)
    s = run["summary"]
    assert s["verdicts"] == {"accept": 2, "reject": 0}
    verdicts = _decisions(sink, "verdict")
    assert [v["reason"] for v in verdicts] == ["ok", "ok"]  # every verdict carries its reason
    assert all(json.loads(v["detail"])["cost"] > 0 for v in verdicts)
    assert s["orders_by_status"] == {"filled": 10} and s["fills"] == 10
    # Cash flows rebuilt from the tables, independently of the ledger's own arithmetic.
    fills = sink.tables["fills"]
    spent = sum(-(-f["price"] * f["size"] // SCALE) + f["fee"] for f in fills)
    opp = {
        o["detail"] and json.loads(o["detail"])["variant"]: o
        for o in _decisions(sink, "opportunity")
    }
    no_size = opp["buy_no"]["size"]
    yes_size = opp["buy_yes"]["size"]
    convert_credit = 4 * no_size  # five named outcomes: n - 1 = 4
    gas = SCALE // 100
    settle = _decisions(sink, "settle")
    payout = sum(r["price"] for r in settle)
    assert payout == yes_size  # exactly one YES of the basket wins, 1 per set
    assert s["cash"] == convert_credit + payout - spent - gas
    assert s["realised_pnl"] == s["cash"] and s["marked_pnl"] == 0
    assert s["realised_pnl"] > 0
    # the pnl table follows every fill, the convert and each settlement
    assert len(sink.tables["pnl"]) == 10 + 1 + 5 + 1
    assert sink.tables["pnl"][-1]["realised_pnl"] == s["realised_pnl"]
    positions = sink.tables["positions"]
    assert positions and all(p["settled"] for p in positions)
    assert sum(p["payout"] for p in positions) == yes_size


def test_leg_failure_is_unwound_and_booked(negrisk_session):
    # 1.5 s latency: the orders arrive after the planted quote was withdrawn (1 s later),
    # so the FOK leg on the moved outcome is killed while the others fill.
    sink = MemorySink()
    profile = big_profile(latency=LatencyModel(mean_ms=1_500))
    run = replay(negrisk_session, profile, sink=sink)
    s = run["summary"]
    assert s["orders_by_status"]["killed"] >= 1
    unwinds = _decisions(sink, "unwind")
    assert unwinds and all(u["side"] == "SELL" for u in unwinds)
    unwind_orders = [o for o in sink.tables["orders"] if "/U" in o["order_id"]]
    assert len(unwind_orders) == len(unwinds)
    assert s["realised_pnl"] < 0  # the round trip lost the spread; the ledger booked it
    assert s["merges"] == 0  # nothing to convert: the NO basket was not complete


def test_hold_policy_keeps_the_residual_to_resolution(negrisk_session):
    sink = MemorySink()
    profile = big_profile(
        latency=LatencyModel(mean_ms=1_500), execution=Execution(leg_failure="hold")
    )
    run = replay(negrisk_session, profile, sink=sink)
    assert _decisions(sink, "unwind") == []
    assert run["summary"]["settlements"] >= 4  # held legs settle at resolution


def test_breaker_opens_on_failures_and_closes_on_a_tick_after_cooldown(negrisk_session):
    # 1.5 s latency: the planted quotes are gone when the orders arrive, so both baskets fail.
    sink = MemorySink()
    rules = AlertRules(rules=RuleSet(CIRCUIT_BREAKER_OPEN=CircuitBreakerOpen(halts=False)))
    slow = LatencyModel(mean_ms=1_500)
    profile = big_profile(latency=slow, consecutive_failures=1, breaker_cooldown_s=100)
    run = replay(negrisk_session, profile, sink=sink, alert_rules=rules)
    verdicts = _decisions(sink, "verdict")
    assert [v["reason"] for v in verdicts] == ["ok", "breaker_open"]
    fired = [a for a in sink.tables["alerts"] if a["rule"] == "CIRCUIT_BREAKER_OPEN"]
    assert [a["state"] for a in fired] == ["fired"]  # 100 s cool-down outlasts the session
    assert run["summary"]["orders_by_status"]["killed"] >= 1

    sink = MemorySink()
    profile = big_profile(latency=slow, consecutive_failures=1, breaker_cooldown_s=10)
    replay(negrisk_session, profile, sink=sink, alert_rules=rules)
    verdicts = _decisions(sink, "verdict")
    assert [v["reason"] for v in verdicts] == ["ok", "ok"]
    fired = [a for a in sink.tables["alerts"] if a["rule"] == "CIRCUIT_BREAKER_OPEN"]
    assert [a["state"] for a in fired] == ["fired", "cleared", "fired", "cleared"]
    opened, closed = fired[0], fired[1]
    assert closed["ts_ns"] - opened["ts_ns"] >= 10 * 10**9  # closed only at a tick past it
    ticks_ns = {(r["seq"]) for r in sink.tables["alerts"]}
    assert closed["seq"] in ticks_ns


def test_unfundable_basket_is_refused_before_any_order(negrisk_session):
    """$2 over five legs puts every leg under the venue's minimums: no basket is even proposed."""
    sink = MemorySink()
    run = replay(negrisk_session, big_profile(trade_size_usd=Decimal("2")), sink=sink)
    assert _decisions(sink, "opportunity") == [] and _decisions(sink, "verdict") == []
    assert run["summary"]["suppressed"]["negrisk_basket"] == {"below_min_size": 2}
    assert sink.tables["orders"] == []


def test_critical_alert_halts_until_cleared(negrisk_session):
    """Default rules: the breaker alert is CRITICAL and halts new trades while it is active."""
    sink = MemorySink()
    profile = big_profile(latency=LatencyModel(mean_ms=1_500), consecutive_failures=1)
    replay(negrisk_session, profile, sink=sink)
    verdicts = _decisions(sink, "verdict")
    assert [v["reason"] for v in verdicts] == ["ok", "halted"]
    halts = _decisions(sink, "halt")
    assert [h["reason"] for h in halts] == ["halted"]
    assert sink.alert_lines and json.loads(sink.alert_lines[0])["rule"]


@pytest.mark.parametrize(("mode", "second"), [(None, "halted"), ("while_active", "ok")])
def test_halt_lasts_the_rest_of_the_run_unless_while_active(negrisk_session, mode, second):
    """Item 13. The breaker alert (CRITICAL, halts) fires after the first basket fails and clears
    10 s later. By default trading stays halted for the rest of the run; with ``risk.halt:
    while_active`` the second basket trades once the alert has cleared.

    The old engine resumed on clearing whatever the profile said (the default failed).
    """
    sink = MemorySink()
    extra = {} if mode is None else {"halt": mode}
    profile = big_profile(
        latency=LatencyModel(mean_ms=1_500), consecutive_failures=1, breaker_cooldown_s=10, **extra
    )
    run = replay(negrisk_session, profile, sink=sink)
    fired = [a["state"] for a in sink.tables["alerts"] if a["rule"] == "CIRCUIT_BREAKER_OPEN"]
    assert fired[:2] == ["fired", "cleared"]
    assert [v["reason"] for v in _decisions(sink, "verdict")] == ["ok", second]
    halts = [h["reason"] for h in _decisions(sink, "halt")]
    assert halts[:2] == (["halted"] if mode is None else ["halted", "resumed"])
    assert run["summary"]["halted_at_end"] is (mode is None)
