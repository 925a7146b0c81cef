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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from polyarb.configfile import format_validation_errors, load_yaml
from polyarb.errors import PolyarbError
from polyarb.units import micro

Level = Literal["CRITICAL", "WARNING", "INFO"]

RULE_NAMES = (
    "WS_DISCONNECTED",
    "LIVE_NO_FILLS",
    "CIRCUIT_BREAKER_OPEN",
    "RPC_UNHEALTHY",
    "HIGH_REJECT_RATE",
    "LATENCY_P95_HIGH",
    "PNL_DRAWDOWN",
    "LOW_BALANCE",
    "POSITION_LIMIT_NEAR",
    "TRADE_EXECUTED",
    "OPPORTUNITY_DETECTED",
)
"""Every rule the evaluator knows, in the order it evaluates (and emits) them."""


class AlertRulesError(ValueError, PolyarbError):
    """An alert rules file that does not load; names file, key, value and allowed range."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Level
    enabled: bool = True
    halts: bool = Field(
        default=False, description="a fired CRITICAL rule halts trading until it clears"
    )

    @model_validator(mode="after")
    def _only_critical_halts(self) -> _Rule:
        if self.halts and self.level != "CRITICAL":
            raise ValueError("halts: true is only allowed for level CRITICAL")
        return self


class WsDisconnected(_Rule):
    level: Level = "CRITICAL"
    halts: bool = True
    after_ms: int = Field(
        default=5_000, ge=0, le=3_600_000, description="frame time with a connection down"
    )


class LiveNoFills(_Rule):
    level: Level = "CRITICAL"
    halts: bool = True
    min_orders: int = Field(
        default=5, ge=1, le=100_000, description="live orders in the window, none filled"
    )


class CircuitBreakerOpen(_Rule):
    level: Level = "CRITICAL"
    halts: bool = True


class RpcUnhealthy(_Rule):
    level: Level = "WARNING"
    after_ticks: int = Field(
        default=3, ge=1, le=100_000, description="consecutive ticks with rpc_ok false"
    )


class HighRejectRate(_Rule):
    level: Level = "WARNING"
    max_reject_bps: int = Field(
        default=5_000, ge=1, le=10_000, description="rejects / orders, basis points"
    )
    min_orders: int = Field(
        default=4, ge=1, le=100_000, description="orders in the window before judging"
    )


class LatencyP95High(_Rule):
    level: Level = "WARNING"
    max_us: int = Field(default=500_000, ge=1, le=600_000_000)


class PnlDrawdown(_Rule):
    level: Level = "WARNING"
    max_drawdown_usd: Decimal = Field(default=Decimal("5"), gt=0, le=1_000_000)


class LowBalance(_Rule):
    level: Level = "WARNING"
    min_balance_usd: Decimal = Field(default=Decimal("20"), ge=0, le=10_000_000)


class PositionLimitNear(_Rule):
    level: Level = "WARNING"
    max_utilisation_bps: int = Field(default=8_000, ge=1, le=10_000, description="position / limit")


class TradeExecuted(_Rule):
    level: Level = "INFO"


class OpportunityDetected(_Rule):
    level: Level = "INFO"


class RuleSet(BaseModel):
    """The ten-plus rules, each with its thresholds; a missing rule takes its defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    WS_DISCONNECTED: WsDisconnected = WsDisconnected()
    LIVE_NO_FILLS: LiveNoFills = LiveNoFills()
    CIRCUIT_BREAKER_OPEN: CircuitBreakerOpen = CircuitBreakerOpen()
    RPC_UNHEALTHY: RpcUnhealthy = RpcUnhealthy()
    HIGH_REJECT_RATE: HighRejectRate = HighRejectRate()
    LATENCY_P95_HIGH: LatencyP95High = LatencyP95High()
    PNL_DRAWDOWN: PnlDrawdown = PnlDrawdown()
    LOW_BALANCE: LowBalance = LowBalance()
    POSITION_LIMIT_NEAR: PositionLimitNear = PositionLimitNear()
    TRADE_EXECUTED: TradeExecuted = TradeExecuted()
    OPPORTUNITY_DETECTED: OpportunityDetected = OpportunityDetected()


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
    rules: RuleSet = RuleSet()
    webhook: Webhook | None = None

    @model_validator(mode="after")
    def _exact_money(self) -> AlertRules:
        micro(self.rules.PNL_DRAWDOWN.max_drawdown_usd)
        micro(self.rules.LOW_BALANCE.min_balance_usd)
        return self

    def rule(self, name: str) -> _Rule:
        rule: _Rule = getattr(self.rules, name)
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
    new_trades: int = 0
    new_opportunities: int = 0


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
        self._rows: deque[tuple[int, ...]] = deque(maxlen=n)

    def push(self, *counts: int) -> tuple[int, ...]:
        """Add this tick's counts; return the window sums in the same order."""
        self._rows.append(counts)
        return tuple(sum(col) for col in zip(*self._rows, strict=True))


# A check returns (breached, value, threshold, message); breached None = no observation,
# which keeps the rule's current state instead of clearing it on missing data.
_Check = tuple[bool | None, int, int, str]


def _usd(m: int) -> str:
    sign = "-" if m < 0 else ""
    m = abs(m)
    return f"{sign}${m // 1_000_000}.{m % 1_000_000 // 10_000:02d}"


class AlertEvaluator:
    """Stateful, deterministic: feed it every tick's snapshot in order, get transitions back."""

    def __init__(self, rules: AlertRules | None = None) -> None:
        self.rules = rules or AlertRules()
        self._active: dict[str, AlertEvent] = {}
        self._rpc_bad_ticks = 0
        self._checks: dict[str, Callable[[HealthSnapshot], _Check]] = {
            "WS_DISCONNECTED": self._ws_disconnected,
            "LIVE_NO_FILLS": self._live_no_fills,
            "CIRCUIT_BREAKER_OPEN": self._breaker,
            "RPC_UNHEALTHY": self._rpc,
            "HIGH_REJECT_RATE": self._reject_rate,
            "LATENCY_P95_HIGH": self._latency,
            "PNL_DRAWDOWN": self._drawdown,
            "LOW_BALANCE": self._balance,
            "POSITION_LIMIT_NEAR": self._position,
        }

    @property
    def active(self) -> tuple[str, ...]:
        """Rules currently fired, in evaluation order."""
        return tuple(r for r in RULE_NAMES if r in self._active)

    @property
    def halted(self) -> bool:
        """True while any active rule halts trading (the engine must not open new trades)."""
        return any(e.halts for e in self._active.values())

    def evaluate(self, s: HealthSnapshot) -> list[AlertEvent]:
        """Events for this tick: ``fired`` on entering breach, ``cleared`` on leaving it.

        INFO rules (TRADE_EXECUTED, OPPORTUNITY_DETECTED) fire and clear within the
        tick that has a non-zero count, with the count as value.
        """
        out: list[AlertEvent] = []
        for name, check in self._checks.items():
            rule = self.rules.rule(name)
            breached, value, threshold, message = check(s)
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
        for name, count, what in (
            ("TRADE_EXECUTED", s.new_trades, "trade(s) executed"),
            ("OPPORTUNITY_DETECTED", s.new_opportunities, "opportunity(ies) detected"),
        ):
            rule = self.rules.rule(name)
            if rule.enabled and count > 0:
                msg = f"{name}: {count} {what} since the last tick"
                out.append(AlertEvent(s.ts_ns, s.seq, name, rule.level, "fired", msg, count, 1))
                out.append(AlertEvent(s.ts_ns, s.seq, name, rule.level, "cleared", msg, count, 1))
        return out

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

    def _ws_disconnected(self, s: HealthSnapshot) -> _Check:
        r = self.rules.rules.WS_DISCONNECTED
        up = "?" if s.connected is None else s.connected
        total = "?" if s.connections is None else s.connections
        msg = (
            f"WS_DISCONNECTED: {up}/{total} connections up, down for "
            f"{s.disconnected_for_ms} ms (limit {r.after_ms} ms)"
        )
        breached = s.disconnected_for_ms > 0 and s.disconnected_for_ms >= r.after_ms
        return breached, s.disconnected_for_ms, r.after_ms, msg

    def _live_no_fills(self, s: HealthSnapshot) -> _Check:
        r = self.rules.rules.LIVE_NO_FILLS
        breached = s.live and s.orders_in_window >= r.min_orders and s.fills_in_window == 0
        msg = (
            f"LIVE_NO_FILLS: {s.orders_in_window} live orders and {s.fills_in_window} fills "
            f"in the last {self.rules.window_ticks} ticks"
        )
        return breached, s.orders_in_window, r.min_orders, msg

    def _breaker(self, s: HealthSnapshot) -> _Check:
        state = "open" if s.breaker_open else "closed"
        return s.breaker_open, int(s.breaker_open), 1, f"CIRCUIT_BREAKER_OPEN: breaker {state}"

    def _rpc(self, s: HealthSnapshot) -> _Check:
        r = self.rules.rules.RPC_UNHEALTHY
        if s.rpc_ok is None:
            return None, self._rpc_bad_ticks, r.after_ticks, ""
        self._rpc_bad_ticks = 0 if s.rpc_ok else self._rpc_bad_ticks + 1
        msg = f"RPC_UNHEALTHY: {self._rpc_bad_ticks} consecutive ticks with RPC down"
        return self._rpc_bad_ticks >= r.after_ticks, self._rpc_bad_ticks, r.after_ticks, msg

    def _reject_rate(self, s: HealthSnapshot) -> _Check:
        r = self.rules.rules.HIGH_REJECT_RATE
        bps = s.rejects_in_window * 10_000 // s.orders_in_window if s.orders_in_window else 0
        breached = s.orders_in_window >= r.min_orders and bps >= r.max_reject_bps
        msg = (
            f"HIGH_REJECT_RATE: {s.rejects_in_window}/{s.orders_in_window} orders rejected "
            f"({bps} bps, limit {r.max_reject_bps} bps)"
        )
        return breached, bps, r.max_reject_bps, msg

    def _latency(self, s: HealthSnapshot) -> _Check:
        r = self.rules.rules.LATENCY_P95_HIGH
        if s.latency_p95_us is None:
            return None, 0, r.max_us, ""
        msg = f"LATENCY_P95_HIGH: p95 {s.latency_p95_us} us (limit {r.max_us} us)"
        return s.latency_p95_us >= r.max_us, s.latency_p95_us, r.max_us, msg

    def _drawdown(self, s: HealthSnapshot) -> _Check:
        limit = micro(self.rules.rules.PNL_DRAWDOWN.max_drawdown_usd)
        msg = f"PNL_DRAWDOWN: drawdown {_usd(s.drawdown)} (limit {_usd(limit)})"
        return s.drawdown >= limit, s.drawdown, limit, msg

    def _balance(self, s: HealthSnapshot) -> _Check:
        limit = micro(self.rules.rules.LOW_BALANCE.min_balance_usd)
        if s.balance is None:
            return None, 0, limit, ""
        msg = f"LOW_BALANCE: balance {_usd(s.balance)} (minimum {_usd(limit)})"
        return s.balance < limit, s.balance, limit, msg

    def _position(self, s: HealthSnapshot) -> _Check:
        r = self.rules.rules.POSITION_LIMIT_NEAR
        msg = (
            f"POSITION_LIMIT_NEAR: largest position at {s.position_utilisation_bps} bps of its "
            f"limit (warn at {r.max_utilisation_bps} bps)"
        )
        breached = s.position_utilisation_bps >= r.max_utilisation_bps
        return breached, s.position_utilisation_bps, r.max_utilisation_bps, msg


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
