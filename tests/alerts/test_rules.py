"""The evaluator: each rule fires on entering breach and clears on leaving it, from snapshots only."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from polyarb.alerts.rules import (
    RULE_NAMES,
    RULES,
    AlertEvaluator,
    AlertRules,
    AlertRulesError,
    HealthSnapshot,
    Level,
    Rule,
    RuleContext,
    RuleSet,
    TickWindow,
    load_alert_rules,
    parse_alert_rules,
    rule_set_model,
    tick_health,
)

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = REPO / "profiles" / "alerts.production.yaml"

OK = HealthSnapshot(
    ts_ns=0,
    seq=0,
    connected=2,
    connections=2,
    rpc_ok=True,
    latency_p95_us=1_000,
    balance=100_000_000,
)

# rule -> (fields that breach it, fields that bring it back to health)
BREACH: dict[str, dict[str, object]] = {
    "WS_DISCONNECTED": {"connected": 1, "disconnected_for_ms": 6_000},
    "LIVE_NO_FILLS": {"live": True, "orders_in_window": 6, "fills_in_window": 0},
    "CIRCUIT_BREAKER_OPEN": {"breaker_open": True},
    "UNWIND_HELD": {"unwinds_held_in_window": 1},
    "HIGH_REJECT_RATE": {"orders_in_window": 10, "fills_in_window": 3, "rejects_in_window": 7},
    "LATENCY_P95_HIGH": {"latency_p95_us": 900_000},
    "PNL_DRAWDOWN": {"drawdown": 6_000_000},
    "LOW_BALANCE": {"balance": 5_000_000},
    "POSITION_LIMIT_NEAR": {"position_utilisation_bps": 9_000},
}


def _run(ev: AlertEvaluator, snaps: list[HealthSnapshot]) -> list[tuple[int, str, str]]:
    out = []
    for s in snaps:
        out += [(e.seq, e.rule, e.state) for e in ev.evaluate(s)]
    return out


def _at(i: int, **kw: object) -> HealthSnapshot:
    return dataclasses.replace(OK, ts_ns=i * 1_000_000_000, seq=i, **kw)  # type: ignore[arg-type]


def test_production_rules_file_has_ten_rules_at_three_levels() -> None:
    rules = load_alert_rules(PRODUCTION)
    levels = {name: rules.rule(name).level for name in RULE_NAMES}
    assert {n for n, lv in levels.items() if lv == "CRITICAL"} == {
        "WS_DISCONNECTED",
        "LIVE_NO_FILLS",
        "CIRCUIT_BREAKER_OPEN",
        "UNWIND_HELD",
    }
    assert {n for n, lv in levels.items() if lv == "INFO"} == {
        "TRADE_EXECUTED",
        "OPPORTUNITY_DETECTED",
    }
    assert {n for n, lv in levels.items() if lv == "WARNING"} == {
        "RPC_UNHEALTHY",
        "HIGH_REJECT_RATE",
        "LATENCY_P95_HIGH",
        "PNL_DRAWDOWN",
        "LOW_BALANCE",
        "POSITION_LIMIT_NEAR",
        "SETTLEMENT_GAS_HIGH",
    }
    assert all(rules.rule(n).halts for n in levels if levels[n] == "CRITICAL")


@pytest.mark.parametrize("rule", sorted(BREACH))
def test_each_threshold_rule_fires_once_and_clears(rule: str) -> None:
    ev = AlertEvaluator(load_alert_rules(PRODUCTION))
    bad = BREACH[rule]
    seen = _run(ev, [_at(1), _at(2, **bad), _at(3, **bad), _at(4)])
    assert seen == [(2, rule, "fired"), (4, rule, "cleared")]
    assert ev.active == ()


def test_rpc_unhealthy_needs_consecutive_ticks_and_unknown_keeps_state() -> None:
    ev = AlertEvaluator(parse_alert_rules({"rules": {"RPC_UNHEALTHY": {"after_ticks": 3}}}))
    snaps = [
        _at(1, rpc_ok=False),
        _at(2, rpc_ok=False),
        _at(3, rpc_ok=True),
        _at(4, rpc_ok=False),
        _at(5, rpc_ok=False),
        _at(6, rpc_ok=False),
        _at(7, rpc_ok=None),
        _at(8, rpc_ok=True),
    ]
    assert _run(ev, snaps) == [(6, "RPC_UNHEALTHY", "fired"), (8, "RPC_UNHEALTHY", "cleared")]


def test_critical_rules_halt_until_cleared() -> None:
    ev = AlertEvaluator(load_alert_rules(PRODUCTION))
    fired = ev.evaluate(_at(1, breaker_open=True))
    assert [e.halts for e in fired] == [True] and fired[0].level == "CRITICAL" and ev.halted
    ev.evaluate(_at(2, breaker_open=True, position_utilisation_bps=9_999))
    assert ev.evaluate(_at(3, breaker_open=True, position_utilisation_bps=9_999)) == []
    cleared = ev.evaluate(_at(4))
    assert [(e.rule, e.state) for e in cleared] == [
        ("CIRCUIT_BREAKER_OPEN", "cleared"),
        ("POSITION_LIMIT_NEAR", "cleared"),
    ]
    assert not ev.halted


def test_warning_rules_do_not_halt() -> None:
    ev = AlertEvaluator(load_alert_rules(PRODUCTION))
    (e,) = ev.evaluate(_at(1, drawdown=10_000_000))
    assert e.level == "WARNING" and not e.halts and not ev.halted
    assert e.value == 10_000_000 and e.threshold == 5_000_000
    assert "$10.00" in e.message and "$5.00" in e.message


def test_live_no_fills_only_in_live_mode() -> None:
    ev = AlertEvaluator()
    assert ev.evaluate(_at(1, live=False, orders_in_window=50)) == []
    assert [e.rule for e in ev.evaluate(_at(2, live=True, orders_in_window=50))] == [
        "LIVE_NO_FILLS"
    ]
    assert [
        e.state for e in ev.evaluate(_at(3, live=True, orders_in_window=50, fills_in_window=1))
    ] == ["cleared"]


@pytest.mark.parametrize(
    ("field", "rule"),
    [("new_trades", "TRADE_EXECUTED"), ("new_opportunities", "OPPORTUNITY_DETECTED")],
)
def test_info_rules_fire_and_clear_per_tick_with_counts(field: str, rule: str) -> None:
    ev = AlertEvaluator(load_alert_rules(PRODUCTION))
    events = ev.evaluate(_at(1, **{field: 3}))
    assert [(e.rule, e.state, e.value, e.level) for e in events] == [
        (rule, "fired", 3, "INFO"),
        (rule, "cleared", 3, "INFO"),
    ]
    assert ev.evaluate(_at(2)) == [] and ev.active == ()


def test_unknown_observations_never_clear_or_fire() -> None:
    ev = AlertEvaluator()
    ev.evaluate(_at(1, latency_p95_us=10**9, balance=0))
    assert set(ev.active) == {"LATENCY_P95_HIGH", "LOW_BALANCE"}
    assert ev.evaluate(_at(2, latency_p95_us=None, balance=None)) == []
    assert set(ev.active) == {"LATENCY_P95_HIGH", "LOW_BALANCE"}


def test_disabled_rule_is_silent_and_clears_if_active() -> None:
    rules = parse_alert_rules({"rules": {"LATENCY_P95_HIGH": {"enabled": False}}})
    ev = AlertEvaluator(rules)
    assert ev.evaluate(_at(1, latency_p95_us=10**9)) == []


def test_same_snapshots_same_events_bytes() -> None:
    snaps = [_at(i, **BREACH[r]) for i, r in enumerate(sorted(BREACH), start=1)] + [_at(99)]
    a = [e.to_json() for s in snaps for e in AlertEvaluator().evaluate(s)]
    b = [e.to_json() for s in snaps for e in AlertEvaluator().evaluate(s)]
    assert a == b and a


def test_row_has_exactly_the_alerts_table_columns() -> None:
    from polyarb.runs.schema import ALERTS

    (e,) = AlertEvaluator().evaluate(_at(1, breaker_open=True))
    assert list(e.row()) == ALERTS.names


def test_tick_window_sums_last_n() -> None:
    w = TickWindow(3)
    assert w.push(1, 0) == (1, 0)
    w.push(2, 1)
    w.push(3, 0)
    assert w.push(4, 5) == (9, 6)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("", {}),
        ("not json", {}),
        ("[1]", {}),
        (
            '{"connected":1,"connections":2,"latency_p95_us":5,"rpc_ok":false,"balance":7}',
            {"connected": 1, "connections": 2, "latency_p95_us": 5, "rpc_ok": False, "balance": 7},
        ),
        ('{"connected":true,"rpc_ok":1,"balance":"7"}', {}),
    ],
)
def test_tick_health_parses_only_well_typed_keys(payload: str, expected: dict) -> None:
    assert tick_health(payload) == expected


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (
            {"rules": {"PNL_DRAWDOWN": {"level": "WARNING", "halts": True}}},
            "halts: true is only allowed for level CRITICAL",
        ),
        ({"window_ticks": 0}, "window_ticks = 0: Input should be greater than or equal to 1"),
        (
            {"rules": {"HIGH_REJECT_RATE": {"max_reject_bps": 20_000}}},
            "rules.HIGH_REJECT_RATE.max_reject_bps = 20000",
        ),
        ({"rules": {"NO_SUCH_RULE": {}}}, "rules.NO_SUCH_RULE"),
        ({"rules": {"LOW_BALANCE": {"min_balance_usd": "1.0000001"}}}, "more than 6 decimals"),
    ],
)
def test_bad_rules_name_file_key_and_value(data: dict, needle: str) -> None:
    with pytest.raises(AlertRulesError) as err:
        parse_alert_rules(data, "x/alerts.yaml")
    assert "x/alerts.yaml" in str(err.value) and needle in str(err.value)


def test_default_rules_equal_an_empty_file() -> None:
    assert parse_alert_rules(None) == AlertRules()


class _ToyDrawdown(Rule):
    """A made-up rule: one class is all a new rule needs (name, level, threshold, check)."""

    NAME = "TOY_DRAWDOWN_TICKS"
    level: Level = "WARNING"
    max_drawdown_micro: int = 10

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> tuple[bool | None, int, int, str]:
        ctx.memory["seen"] = ctx.memory.get("seen", 0) + 1
        msg = f"TOY: drawdown {s.drawdown} after {ctx.memory['seen']} ticks"
        return s.drawdown > self.max_drawdown_micro, s.drawdown, self.max_drawdown_micro, msg


def test_each_rule_is_declared_once_and_the_rule_set_is_built_from_the_declarations() -> None:
    """RULES drives the names, the YAML schema and the evaluator; a toy rule plugs into all three.

    Before, a rule was written four times (RULE_NAMES, a model, a RuleSet field, a check
    wired by hand into the evaluator), and there was no way to add one without editing each.
    """
    assert tuple(r.NAME for r in RULES) == RULE_NAMES
    assert list(RuleSet.model_fields) == list(RULE_NAMES)
    declared = (*RULES, _ToyDrawdown)
    schema = rule_set_model(declared)
    assert schema.model_validate({"TOY_DRAWDOWN_TICKS": {"max_drawdown_micro": 5}})
    with pytest.raises(ValueError, match="Extra inputs"):
        schema.model_validate({"NOT_A_RULE": {}})
    ev = AlertEvaluator(AlertRules(), declared=declared)
    events = [(e.rule, e.state) for e in ev.evaluate(_at(1, drawdown=20))]
    assert ("TOY_DRAWDOWN_TICKS", "fired") in events
    assert ev.active[-1] == "TOY_DRAWDOWN_TICKS"
    assert [(e.rule, e.state) for e in ev.evaluate(_at(2))] == [("TOY_DRAWDOWN_TICKS", "cleared")]
