"""Alert rules and their pure, deterministic evaluator.

The engine fills a :class:`HealthSnapshot` on every tick row and calls
:meth:`AlertEvaluator.evaluate`; the events it returns are rows of the run's
``alerts`` table (plus ``halts``). Time is the snapshot's frame time and
windows are counted in ticks, so a replay of a recording raises exactly the
alerts the live run raised. Notifiers (log, webhook) live in
:mod:`polyarb.alerts.notify`, which this module never imports.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from polyarb.configfile import format_validation_errors, load_yaml
from polyarb.errors import PolyarbError
from polyarb.units import micro

Level = Literal["CRITICAL", "WARNING", "INFO"]


class AlertRulesError(ValueError, PolyarbError):
    """An alert rules file that does not load; names file, key, value and allowed range."""


# A check returns (breached, value, threshold, message); breached None = no observation,
# which keeps the rule's current state instead of clearing it on missing data.
_Check = tuple[bool | None, int, int, str]


@dataclass(slots=True)
class RuleContext:
    """What a check may read besides the snapshot: the window length and its own memory."""

    window_ticks: int
    memory: dict[str, int] = field(default_factory=dict)
    """Per-rule state kept between ticks (e.g. consecutive bad ticks); starts empty."""


class Rule(BaseModel):
    """One alert rule, declared once: ``NAME``, its level and thresholds (the YAML keys), its check.

    A subclass sets ``NAME``, a default ``level`` and its threshold fields, and implements
    :meth:`check`; listing it in :data:`RULES` adds it to the rule set, the YAML schema and
    the evaluator. ``PULSE`` rules (INFO counters) fire and clear within the tick whose
    count is non-zero.

    ``INPUTS`` names every snapshot field :meth:`check` reads when the check is a pure
    function of them (and of the rule's settings): the evaluator then reuses the last
    result while those fields are unchanged, so a quiet tick costs one tuple compare per
    rule. ``None`` (the default, and required for checks that keep ``ctx.memory``) runs
    the check every tick. tests/alerts/test_incremental.py checks each declaration.

    ``IDLE_WITHOUT`` names, for such a stateful rule, the snapshot field whose ``None``
    means the check observes nothing (returns ``breached`` ``None`` and leaves
    ``ctx.memory`` alone), so a tick repeating such a snapshot changes no state
    (:attr:`AlertEvaluator.repeat_idle`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    NAME: ClassVar[str]
    PULSE: ClassVar[bool] = False
    INPUTS: ClassVar[tuple[str, ...] | None] = None
    IDLE_WITHOUT: ClassVar[str | None] = None

    level: Level
    enabled: bool = True
    halts: bool = Field(
        default=False,
        description="a fired CRITICAL rule halts new trades (for the rest of the run, or "
        "until it clears with the profile's risk.halt: while_active)",
    )

    @model_validator(mode="after")
    def _only_critical_halts(self) -> Rule:
        if self.halts and self.level != "CRITICAL":
            raise ValueError("halts: true is only allowed for level CRITICAL")
        return self

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        """(breached, value, threshold, message) for this tick's snapshot."""
        raise NotImplementedError(self.NAME)


class WsDisconnected(Rule):
    NAME = "WS_DISCONNECTED"
    INPUTS = ("connected", "connections", "disconnected_for_ms")
    level: Level = "CRITICAL"
    halts: bool = True
    after_ms: int = Field(
        default=5_000, ge=0, le=3_600_000, description="frame time with a connection down"
    )

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        up = "?" if s.connected is None else s.connected
        total = "?" if s.connections is None else s.connections
        msg = (
            f"WS_DISCONNECTED: {up}/{total} connections up, down for "
            f"{s.disconnected_for_ms} ms (limit {self.after_ms} ms)"
        )
        breached = s.disconnected_for_ms > 0 and s.disconnected_for_ms >= self.after_ms
        return breached, s.disconnected_for_ms, self.after_ms, msg


class LiveNoFills(Rule):
    NAME = "LIVE_NO_FILLS"
    INPUTS = ("live", "orders_in_window", "fills_in_window")
    level: Level = "CRITICAL"
    halts: bool = True
    min_orders: int = Field(
        default=5, ge=1, le=100_000, description="live orders in the window, none filled"
    )

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        breached = s.live and s.orders_in_window >= self.min_orders and s.fills_in_window == 0
        msg = (
            f"LIVE_NO_FILLS: {s.orders_in_window} live orders and {s.fills_in_window} fills "
            f"in the last {ctx.window_ticks} ticks"
        )
        return breached, s.orders_in_window, self.min_orders, msg


class CircuitBreakerOpen(Rule):
    NAME = "CIRCUIT_BREAKER_OPEN"
    INPUTS = ("breaker_open",)
    level: Level = "CRITICAL"
    halts: bool = True

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        state = "open" if s.breaker_open else "closed"
        return s.breaker_open, int(s.breaker_open), 1, f"CIRCUIT_BREAKER_OPEN: breaker {state}"


class UnwindHeld(Rule):
    """An unwind left shares naked: the book was worse than ``execution.max_unwind_slippage``."""

    NAME = "UNWIND_HELD"
    INPUTS = ("unwinds_held_in_window",)
    level: Level = "CRITICAL"
    halts: bool = True

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        n = s.unwinds_held_in_window
        msg = (
            f"UNWIND_HELD: {n} leg(s) in the last {ctx.window_ticks} ticks held naked: "
            "the book was past execution.max_unwind_slippage (or under the venue's minimums); "
            "the loss is marked, not dumped"
        )
        return n > 0, n, 1, msg


class RpcUnhealthy(Rule):
    NAME = "RPC_UNHEALTHY"
    IDLE_WITHOUT = "rpc_ok"
    level: Level = "WARNING"
    after_ticks: int = Field(
        default=3, ge=1, le=100_000, description="consecutive ticks with rpc_ok false"
    )

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        bad = ctx.memory.get("bad_ticks", 0)
        if s.rpc_ok is None:
            return None, bad, self.after_ticks, ""
        bad = 0 if s.rpc_ok else bad + 1
        ctx.memory["bad_ticks"] = bad
        msg = f"RPC_UNHEALTHY: {bad} consecutive ticks with RPC down"
        return bad >= self.after_ticks, bad, self.after_ticks, msg


class HighRejectRate(Rule):
    NAME = "HIGH_REJECT_RATE"
    INPUTS = ("rejects_in_window", "orders_in_window")
    level: Level = "WARNING"
    max_reject_bps: int = Field(
        default=5_000, ge=1, le=10_000, description="rejects / orders, basis points"
    )
    min_orders: int = Field(
        default=4, ge=1, le=100_000, description="orders in the window before judging"
    )

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        bps = s.rejects_in_window * 10_000 // s.orders_in_window if s.orders_in_window else 0
        breached = s.orders_in_window >= self.min_orders and bps >= self.max_reject_bps
        msg = (
            f"HIGH_REJECT_RATE: {s.rejects_in_window}/{s.orders_in_window} orders rejected "
            f"({bps} bps, limit {self.max_reject_bps} bps)"
        )
        return breached, bps, self.max_reject_bps, msg


class LatencyP95High(Rule):
    NAME = "LATENCY_P95_HIGH"
    INPUTS = ("latency_p95_us",)
    level: Level = "WARNING"
    max_us: int = Field(default=500_000, ge=1, le=600_000_000)

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        if s.latency_p95_us is None:
            return None, 0, self.max_us, ""
        msg = f"LATENCY_P95_HIGH: p95 {s.latency_p95_us} us (limit {self.max_us} us)"
        return s.latency_p95_us >= self.max_us, s.latency_p95_us, self.max_us, msg


class PnlDrawdown(Rule):
    NAME = "PNL_DRAWDOWN"
    INPUTS = ("drawdown",)
    level: Level = "WARNING"
    max_drawdown_usd: Decimal = Field(default=Decimal("5"), gt=0, le=1_000_000)

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        limit = micro(self.max_drawdown_usd)
        msg = f"PNL_DRAWDOWN: drawdown {_usd(s.drawdown)} (limit {_usd(limit)})"
        return s.drawdown >= limit, s.drawdown, limit, msg


class LowBalance(Rule):
    NAME = "LOW_BALANCE"
    INPUTS = ("balance",)
    level: Level = "WARNING"
    min_balance_usd: Decimal = Field(default=Decimal("20"), ge=0, le=10_000_000)

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        limit = micro(self.min_balance_usd)
        if s.balance is None:
            return None, 0, limit, ""
        msg = f"LOW_BALANCE: balance {_usd(s.balance)} (minimum {_usd(limit)})"
        return s.balance < limit, s.balance, limit, msg


class PositionLimitNear(Rule):
    NAME = "POSITION_LIMIT_NEAR"
    INPUTS = ("position_utilisation_bps",)
    level: Level = "WARNING"
    max_utilisation_bps: int = Field(default=8_000, ge=1, le=10_000, description="position / limit")

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        msg = (
            f"POSITION_LIMIT_NEAR: largest position at {s.position_utilisation_bps} bps of its "
            f"limit (warn at {self.max_utilisation_bps} bps)"
        )
        breached = s.position_utilisation_bps >= self.max_utilisation_bps
        return breached, s.position_utilisation_bps, self.max_utilisation_bps, msg


class TradeExecuted(Rule):
    NAME = "TRADE_EXECUTED"
    INPUTS = ("new_trades",)
    PULSE = True
    level: Level = "INFO"

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        msg = f"TRADE_EXECUTED: {s.new_trades} trade(s) executed since the last tick"
        return s.new_trades > 0, s.new_trades, 1, msg


class OpportunityDetected(Rule):
    NAME = "OPPORTUNITY_DETECTED"
    INPUTS = ("new_opportunities",)
    PULSE = True
    level: Level = "INFO"

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        n = s.new_opportunities
        msg = f"OPPORTUNITY_DETECTED: {n} opportunity(ies) detected since the last tick"
        return n > 0, n, 1, msg


class SettlementGasHigh(Rule):
    """A settlement transaction (redeem, merge) paid more gas than the profile allows.

    The limit is the profile's ``settlement.max_gas_usd``, carried on the snapshot by
    :mod:`polyarb.chain.settle`; replays never observe it (no transactions), so it is silent.
    """

    NAME = "SETTLEMENT_GAS_HIGH"
    PULSE = True
    INPUTS = ("settlement_gas", "settlement_gas_limit")
    level: Level = "WARNING"

    def check(self, s: HealthSnapshot, ctx: RuleContext) -> _Check:
        if s.settlement_gas is None or s.settlement_gas_limit is None:
            return None, 0, 0, ""
        msg = (
            f"SETTLEMENT_GAS_HIGH: a settlement transaction cost {_usd(s.settlement_gas)} "
            f"in gas (limit {_usd(s.settlement_gas_limit)}, settlement.max_gas_usd)"
        )
        breached = s.settlement_gas > s.settlement_gas_limit
        return breached, s.settlement_gas, s.settlement_gas_limit, msg


RULES: tuple[type[Rule], ...] = (
    WsDisconnected,
    LiveNoFills,
    CircuitBreakerOpen,
    UnwindHeld,
    RpcUnhealthy,
    HighRejectRate,
    LatencyP95High,
    PnlDrawdown,
    LowBalance,
    PositionLimitNear,
    TradeExecuted,
    OpportunityDetected,
    SettlementGasHigh,
)
"""Every rule, in the order the evaluator checks (and emits) them: adding one is one line."""

RULE_NAMES = tuple(rule.NAME for rule in RULES)


def rule_set_model(rules: Sequence[type[Rule]] = RULES) -> type[BaseModel]:
    """The ``rules:`` section's schema: one field per declared rule, defaults when omitted."""
    fields: dict[str, Any] = {rule.NAME: (rule, rule.model_validate({})) for rule in rules}
    return create_model("RuleSet", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


RuleSet = rule_set_model()
"""Every rule with its thresholds; a rule the file leaves out takes its defaults."""


class Webhook(BaseModel):
    """Where :mod:`polyarb.alerts.notify` posts events (the engine ignores this)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url_env: str = Field(
        default="POLYARB_ALERT_WEBHOOK_URL",
        pattern=r"^[A-Z][A-Z0-9_]*$",
        description="name of the .env variable holding the URL (a secret)",
    )
    min_level: Level = "WARNING"
    retries: int = Field(default=3, ge=0, le=10)
    backoff_ms: int = Field(default=200, ge=0, le=60_000)
    timeout_ms: int = Field(default=2_000, ge=100, le=60_000)


class AlertRules(BaseModel):
    """``profiles/alerts*.yaml``: rule thresholds, levels, the counting window, notifiers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "default"
    window_ticks: int = Field(
        default=60, ge=1, le=100_000, description="ticks over which *_in_window counts are summed"
    )
    rules: RuleSet = RuleSet()  # type: ignore[valid-type]  # built from RULES at import
    webhook: Webhook | None = None

    @model_validator(mode="after")
    def _exact_money(self) -> AlertRules:
        for name in RULE_NAMES:
            for value in self.rule(name).model_dump().values():
                if isinstance(value, Decimal):
                    micro(value)  # money must be exact in micro units
        return self

    def rule(self, name: str) -> Rule:
        """The thresholds of rule ``name`` (AttributeError if no such rule is declared)."""
        rule: Rule = getattr(self.rules, name)
        return rule


def parse_alert_rules(data: Any, source: Path | str = "<alerts>") -> AlertRules:
    """Validate loaded YAML/JSON data."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AlertRulesError(f"{source}: alert rules must be a mapping, got {type(data).__name__}")
    try:
        return AlertRules.model_validate(data)
    except ValidationError as exc:
        raise AlertRulesError(format_validation_errors(source, exc, "alert rules")) from None


def load_alert_rules(path: Path | str) -> AlertRules:
    """Load ``path`` (YAML); :class:`AlertRulesError` lists every problem."""
    return parse_alert_rules(load_yaml(path, AlertRulesError, "alert rules"), path)


def rules_for_profile(profile_path: Path | str, alerts: str | None) -> AlertRules:
    """The rules a profile names (``alerts:``, relative to the profile file), else defaults."""
    if not alerts:
        return AlertRules()
    return load_alert_rules(Path(profile_path).parent / alerts)


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """What the engine knows on one tick row. ``None`` means "not observed on this tick".

    Money is micro units; ``*_in_window`` are sums over the last ``rules.window_ticks``
    ticks (see :class:`TickWindow`); ``new_*`` count since the previous tick.
    """

    ts_ns: int
    seq: int
    connected: int | None = None
    connections: int | None = None
    disconnected_for_ms: int = 0
    breaker_open: bool = False
    live: bool = False
    orders_in_window: int = 0
    fills_in_window: int = 0
    rejects_in_window: int = 0
    decisions_in_window: int = 0
    latency_p95_us: int | None = None
    drawdown: int = 0
    balance: int | None = None
    rpc_ok: bool | None = None
    position_utilisation_bps: int = 0
    unwinds_held_in_window: int = 0
    """Legs an unwind could not close within its bound (held, loss marked) in the window."""
    new_trades: int = 0
    new_opportunities: int = 0
    settlement_gas: int | None = None
    """Gas (micro pUSD) of the settlement transaction just mined, when there was one."""
    settlement_gas_limit: int | None = None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One row of the ``alerts`` table, plus whether the rule halts trading."""

    ts_ns: int
    seq: int
    rule: str
    level: str
    state: Literal["fired", "cleared"]
    message: str
    value: int
    threshold: int
    halts: bool = False

    def row(self) -> dict[str, Any]:
        """The ``ALERTS`` table columns (``polyarb.runs.schema.ALERTS``)."""
        d = asdict(self)
        d.pop("halts")
        return d

    def to_json(self) -> str:
        """One ``alerts.jsonl`` line: canonical, so replays write identical bytes."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


class TickWindow:
    """Sums per-tick counts over the last ``n`` ticks: the engine's ``*_in_window`` helper."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._tick = 0
        # Only ticks that counted something are kept, with their tick number: a quiet tick
        # (most of them) stores nothing and a row leaves once it is n ticks old.
        self._rows: deque[tuple[int, tuple[int, ...]]] = deque()
        self._sums: list[int] = []
        self._last: tuple[int, ...] = ()

    def push(self, *counts: int) -> tuple[int, ...]:
        """Add this tick's counts; return the window sums in the same order.

        Running sums (add the new row, subtract the one leaving), so a tick costs the
        same for a 60- or a 100,000-tick window; integers keep it exact. While the sums
        do not change the same tuple object is returned, so ``is`` tells a caller so.
        """
        if not self._sums:
            self._sums = [0] * len(counts)
            self._last = tuple(self._sums)
        if not any(counts):
            return self.quiet()
        self._tick += 1
        self._rows.append((self._tick, counts))
        self._sums = [a + b for a, b in zip(self._sums, counts, strict=True)]
        self._expire()
        self._last = tuple(self._sums)
        return self._last

    def quiet(self) -> tuple[int, ...]:
        """A tick that counted nothing (``push(0, 0, …)``, valid after a first ``push``)."""
        self._tick += 1
        rows = self._rows
        if rows and rows[0][0] <= self._tick - self._n:
            self._expire()
            self._last = tuple(self._sums)
        return self._last

    def _expire(self) -> None:
        rows, oldest = self._rows, self._tick - self._n
        while rows and rows[0][0] <= oldest:
            _, old = rows.popleft()
            self._sums = [a - b for a, b in zip(self._sums, old, strict=True)]


def _usd(m: int) -> str:
    sign = "-" if m < 0 else ""
    m = abs(m)
    return f"{sign}${m // 1_000_000}.{m % 1_000_000 // 10_000:02d}"


class AlertEvaluator:
    """Stateful, deterministic: feed it every tick's snapshot in order, get transitions back.

    ``declared`` is the rule list to evaluate (default :data:`RULES`); a declared rule the
    ``rules`` file does not know runs with its defaults.
    """

    def __init__(
        self, rules: AlertRules | None = None, declared: Sequence[type[Rule]] = RULES
    ) -> None:
        self.rules = rules or AlertRules()
        self._active: dict[str, AlertEvent] = {}
        self._declared = tuple(declared)
        self._config = {
            rule.NAME: getattr(self.rules.rules, rule.NAME, None) or rule.model_validate({})
            for rule in declared
        }
        ctx = self.rules.window_ticks
        self._contexts = {rule.NAME: RuleContext(ctx) for rule in declared}
        # state rules first, then the INFO pulses, each in declaration order
        self._order = [r.NAME for r in declared if not r.PULSE] + [
            r.NAME for r in declared if r.PULSE
        ]
        self._pulse = frozenset(r.NAME for r in declared if r.PULSE)
        self._inputs: dict[str, Callable[[HealthSnapshot], Any]] = {
            r.NAME: attrgetter(*r.INPUTS) for r in declared if r.INPUTS
        }
        self._last: dict[str, tuple[Any, _Check]] = {}
        # A tick whose declared inputs all equal the previous tick's (and that fired no
        # pulse) cannot change any declared rule's state: only the undeclared rules run.
        fields = sorted({f for r in declared for f in r.INPUTS or ()})
        self._all_inputs: Callable[[HealthSnapshot], Any] | None = (
            attrgetter(*fields) if fields else None
        )
        self._always = [name for name in self._order if name not in self._inputs]
        self._quiet_key: Any = None
        idle = [r.IDLE_WITHOUT for r in declared if r.NAME in self._always]
        self._idle_fields: tuple[str, ...] | None = (
            None if None in idle else tuple(f for f in idle if f is not None)
        )
        self.repeat_idle = False
        """True when evaluating the last snapshot again (only ``ts_ns``/``seq`` new) would
        emit nothing and change no state: the engine's quiet ticks then skip the snapshot."""

    @property
    def active(self) -> tuple[str, ...]:
        """Rules currently fired, in evaluation order."""
        return tuple(r.NAME for r in self._declared if r.NAME in self._active)

    @property
    def active_events(self) -> tuple[AlertEvent, ...]:
        """The ``fired`` event of each active rule (level, since, message), in evaluation order."""
        return tuple(self._active[r.NAME] for r in self._declared if r.NAME in self._active)

    @property
    def halted(self) -> bool:
        """True while any active rule halts trading (the engine must not open new trades)."""
        return any(e.halts for e in self._active.values())

    def evaluate(self, s: HealthSnapshot) -> list[AlertEvent]:
        """Events for this tick: ``fired`` on entering breach, ``cleared`` on leaving it.

        Pulse rules (INFO: TRADE_EXECUTED, OPPORTUNITY_DETECTED) fire and clear within the
        tick that has a non-zero count, with the count as value.
        """
        out: list[AlertEvent] = []
        key = self._all_inputs(s) if self._all_inputs is not None else None
        quiet = key is not None and key == self._quiet_key
        pulsed = False
        for name in self._always if quiet else self._order:
            rule = self._config[name]
            breached, value, threshold, message = self._check(name, rule, s)
            if name in self._pulse:
                if rule.enabled and breached:
                    pulsed = True
                    for state in ("fired", "cleared"):
                        out.append(
                            AlertEvent(
                                s.ts_ns, s.seq, name, rule.level, state, message, value, threshold
                            )
                        )
                continue
            if not rule.enabled or breached is None:
                if not rule.enabled and name in self._active:
                    out.append(self._clear(s, name, value, threshold, "rule disabled"))
                continue
            if breached and name not in self._active:
                ev = AlertEvent(
                    s.ts_ns, s.seq, name, rule.level, "fired", message, value, threshold, rule.halts
                )
                self._active[name] = ev
                out.append(ev)
            elif not breached and name in self._active:
                out.append(self._clear(s, name, value, threshold, message))
        self._quiet_key = None if pulsed else key
        # Again, the declared rules would all be reused (same inputs, no pulse) and every
        # stateful rule would observe nothing: its IDLE_WITHOUT field is None.
        self.repeat_idle = (
            key is not None
            and not pulsed
            and self._idle_fields is not None
            and all(getattr(s, f) is None for f in self._idle_fields)
        )
        return out

    def _check(self, name: str, rule: Rule, s: HealthSnapshot) -> _Check:
        inputs = self._inputs.get(name)
        if inputs is None:
            return rule.check(s, self._contexts[name])
        key = inputs(s)
        last = self._last.get(name)
        if last is not None and last[0] == key:
            return last[1]
        result = rule.check(s, self._contexts[name])
        self._last[name] = (key, result)
        return result

    def _clear(
        self, s: HealthSnapshot, name: str, value: int, threshold: int, why: str
    ) -> AlertEvent:
        fired = self._active.pop(name)
        return AlertEvent(
            s.ts_ns,
            s.seq,
            name,
            fired.level,
            "cleared",
            f"{name} cleared: {why}",
            value,
            threshold,
            fired.halts,
        )


def tick_health(payload: str) -> dict[str, Any]:
    """Parse a tick row's payload ("" or compact JSON); unknown or ill-typed keys are dropped.

    The engine uses this to fill ``connected``, ``connections``, ``latency_p95_us``,
    ``rpc_ok`` and ``balance``; a malformed payload is "nothing observed", never an error,
    because a replay must not fail on what the live feed wrote.
    """
    if not payload:
        return {}
    try:
        data = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    for key in ("connected", "connections", "latency_p95_us", "balance"):
        v = data.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            out[key] = v
    if isinstance(data.get("rpc_ok"), bool):
        out["rpc_ok"] = data["rpc_ok"]
    return out
