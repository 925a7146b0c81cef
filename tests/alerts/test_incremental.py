"""Alert rules evaluate incrementally (issue 16 item 7) and give exactly the per-tick answers.

A rule declaring ``INPUTS`` is re-checked only when one of those snapshot fields
changed, and the tick window keeps running sums; these tests prove both are exact:
each rule reads nothing it did not declare, the cached evaluator emits the events a
check-every-tick evaluator emits, and the running sums equal the plain ones.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from polyarb.alerts.rules import (
    RULES,
    AlertEvaluator,
    AlertRules,
    HealthSnapshot,
    RuleContext,
    TickWindow,
)

_small = st.integers(0, 6)
snapshots = st.builds(
    HealthSnapshot,
    ts_ns=st.integers(0, 10**12),
    seq=st.integers(0, 10**6),
    connected=st.none() | st.integers(0, 2),
    connections=st.none() | st.integers(0, 2),
    disconnected_for_ms=st.sampled_from([0, 1, 4_999, 5_000, 60_000]),
    breaker_open=st.booleans(),
    live=st.booleans(),
    orders_in_window=_small,
    fills_in_window=_small,
    rejects_in_window=_small,
    decisions_in_window=_small,
    latency_p95_us=st.none() | st.sampled_from([1, 499_999, 500_000]),
    drawdown=st.sampled_from([0, 4_999_999, 5_000_000, 9_000_000]),
    balance=st.none() | st.sampled_from([0, 19_999_999, 20_000_000]),
    rpc_ok=st.none() | st.booleans(),
    position_utilisation_bps=st.sampled_from([0, 7_999, 8_000]),
    unwinds_held_in_window=st.integers(0, 2),
    new_trades=st.integers(0, 2),
    new_opportunities=st.integers(0, 2),
)


class _Reading:
    """A snapshot stand-in that records which fields a check reads."""

    def __init__(self, snap: HealthSnapshot) -> None:
        self._snap = snap
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self._snap, name)


@settings(max_examples=300, deadline=None)
@given(snapshots)
def test_every_rule_reads_only_its_declared_inputs(snap: HealthSnapshot) -> None:
    """Fails if a rule's check reads a field its INPUTS leave out (the cache would go stale)."""
    declared = [rule for rule in RULES if rule.INPUTS is not None]
    assert len(declared) >= len(RULES) - 1  # only the stateful RPC rule runs every tick
    for rule_cls in declared:
        reading = _Reading(snap)
        rule_cls.model_validate({}).check(reading, RuleContext(60))  # type: ignore[arg-type]
        assert reading.read <= set(rule_cls.INPUTS or ()), rule_cls.NAME


def _every_tick(rules: AlertRules, snaps: list[HealthSnapshot]) -> list[list[Any]]:
    """The evaluator without reuse: every check runs on every tick."""
    evaluator = AlertEvaluator(rules)
    evaluator._inputs = {}  # the reference path is the uncached one
    evaluator._all_inputs = None
    evaluator._always = list(evaluator._order)
    return [evaluator.evaluate(s) for s in snaps]


@settings(max_examples=300, deadline=None)
@given(st.lists(snapshots, min_size=1, max_size=40), st.integers(0, 3))
def test_incremental_evaluation_equals_checking_every_tick(
    snaps: list[HealthSnapshot], repeat: int
) -> None:
    # repeated snapshots (new ts/seq, same fields) are the quiet ticks the cache skips
    seq = [dataclasses.replace(s, seq=i * 7 + k) for i, s in enumerate(snaps) for k in range(repeat + 1)]  # fmt: skip
    rules = AlertRules.model_validate({"rules": {"TRADE_EXECUTED": {"enabled": True}}})
    fast = AlertEvaluator(rules)
    assert [fast.evaluate(s) for s in seq] == _every_tick(rules, seq)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), st.lists(st.tuples(_small, _small, _small), max_size=50))
def test_tick_window_running_sums_equal_plain_sums(n: int, rows: list[tuple[int, ...]]) -> None:
    window = TickWindow(n)
    plain: deque[tuple[int, ...]] = deque(maxlen=n)
    for row in rows:
        plain.append(row)
        assert window.push(*row) == tuple(sum(col) for col in zip(*plain, strict=True))


_mostly_quiet = st.sampled_from([(0, 0, 0)] * 6 + [(1, 0, 0), (0, 0, 2), (3, 1, 0)])


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), st.lists(_mostly_quiet, max_size=60))
def test_tick_window_quiet_ticks_reuse_sums_exactly(n: int, rows: list[tuple[int, ...]]) -> None:
    """Issue 16 item 7: a tick with nothing counted and nothing counted leaving skips the sums;
    mostly-zero rows (a replay's usual tick) exercise that path against plain sums."""
    window = TickWindow(n)
    plain: deque[tuple[int, ...]] = deque(maxlen=n)
    for row in rows:
        plain.append(row)
        assert window.push(*row) == tuple(sum(col) for col in zip(*plain, strict=True))


@settings(max_examples=300, deadline=None)
@given(snapshots, st.dictionaries(st.sampled_from(["bad_ticks", "n"]), st.integers(0, 9)))
def test_idle_without_declarations_hold(snap: HealthSnapshot, memory: dict[str, int]) -> None:
    """A rule declaring ``IDLE_WITHOUT = f`` observes nothing while ``f`` is None: breached
    None, memory untouched (what lets the engine skip a repeated quiet tick)."""
    declared = [rule for rule in RULES if rule.IDLE_WITHOUT is not None]
    assert [rule.NAME for rule in declared] == ["RPC_UNHEALTHY"]
    for rule_cls in declared:
        field = rule_cls.IDLE_WITHOUT or ""
        ctx = RuleContext(60, dict(memory))
        result = rule_cls.model_validate({}).check(dataclasses.replace(snap, **{field: None}), ctx)
        assert result[0] is None and ctx.memory == memory, rule_cls.NAME


def _state(ev: AlertEvaluator) -> Any:
    return (
        dict(ev._active),
        {k: dict(c.memory) for k, c in ev._contexts.items()},
        dict(ev._last),
        ev._quiet_key,
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(snapshots, min_size=1, max_size=30), st.booleans())
def test_repeat_idle_means_a_repeat_emits_nothing_and_changes_nothing(
    snaps: list[HealthSnapshot], rpc_known: bool
) -> None:
    """Whenever ``repeat_idle`` is set, evaluating the same snapshot again (new ts/seq)
    emits no event and leaves the evaluator's state as it was; fails if it is ever set
    where a stateful rule would count (rpc_ok observed) or a pulse would fire again."""
    rules = AlertRules.model_validate({"rules": {"TRADE_EXECUTED": {"enabled": True}}})
    ev = AlertEvaluator(rules)
    for i, snap in enumerate(snaps):
        if not rpc_known:
            snap = dataclasses.replace(snap, rpc_ok=None)
        ev.evaluate(snap)
        pulse = snap.new_trades > 0 or snap.new_opportunities > 0
        # the shortcut is there exactly when nothing stateful observes and nothing pulses
        assert ev.repeat_idle == (snap.rpc_ok is None and not pulse)
        if ev.repeat_idle:
            before = _state(ev)
            again = dataclasses.replace(snap, ts_ns=snap.ts_ns + 1, seq=10**7 + i)
            assert ev.evaluate(again) == []
            assert _state(ev) == before
            assert ev.repeat_idle


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), st.lists(st.none() | _mostly_quiet, min_size=1, max_size=60))
def test_tick_window_quiet_equals_pushing_zeros(n: int, rows: list[tuple[int, ...] | None]) -> None:
    """``quiet()`` (the engine's quiet tick) is ``push(0, 0, 0)``, and returns the very
    same tuple while the sums do not change (the engine tells "unchanged" by identity)."""
    window = TickWindow(n)
    plain: deque[tuple[int, ...]] = deque(maxlen=n)
    last = window.push(0, 0, 0)
    plain.append((0, 0, 0))
    for row in rows:
        plain.append(row or (0, 0, 0))
        sums = window.quiet() if row is None else window.push(*row)
        assert sums == tuple(sum(col) for col in zip(*plain, strict=True))
        if row is None and sums == last:
            assert sums is last
        last = sums
