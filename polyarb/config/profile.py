"""Phase profiles: one validated schema for every knob the engine reads.

Money and prices are decimal strings in YAML (``"2.00"``, ``"0.005"``) and
ints in micro units inside (``.micro`` helpers); defaults live here, not in
the code that reads them. Errors name the file, key, value and allowed range.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from polyarb.alerts.rules import AlertRulesError, load_alert_rules
from polyarb.configfile import format_validation_errors, load_yaml
from polyarb.errors import PolyarbError
from polyarb.units import micro

Money = Decimal


DETECTORS: dict[str, str] = {
    "binary_complete_set": "polyarb.detect.binary:BinaryCompleteSet",
    "negrisk_basket": "polyarb.detect.negrisk:NegRiskBasket",
}
"""The detector registry: the name a profile lists → ``module:class`` of its implementation.

Adding a detector is one module under ``polyarb/detect/`` and one line here; profiles are
validated against these names and :func:`polyarb.detect.build_detectors` loads the class.
Names, not classes, because detectors import this module (for :class:`Profile`).
"""


def _registered_detector(name: str) -> str:
    if name not in DETECTORS:
        raise ValueError(f"not a registered detector (allowed: {', '.join(DETECTORS)})")
    return name


DetectorName = Annotated[str, AfterValidator(_registered_detector)]


PHASE_TRADE_SIZE_USD: dict[int, tuple[Decimal, Decimal]] = {
    0: (Decimal("0.01"), Decimal("1000")),
    1: (Decimal("0.01"), Decimal("2")),
    2: (Decimal("0.01"), Decimal("5")),
    3: (Decimal("10"), Decimal("20")),
}
"""Cash per trade allowed in each phase: shadow sizes freely, money phases are capped."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_MAX_LATENCY_NS = 60_000 * 1_000_000


class LatencyModel(_Model):
    """Decision → arrival delay of an order at the (simulated) venue."""

    kind: Literal["constant", "uniform", "normal", "empirical"] = "constant"
    mean_ms: int = Field(default=50, ge=0, le=60_000)
    jitter_ms: int = Field(
        default=0, ge=0, le=60_000, description="uniform half-width or normal std-dev"
    )
    seed: int = Field(
        default=0, ge=0, description="seed of the run's own generator (never global randomness)"
    )
    quantiles_ns: tuple[int, ...] | None = Field(
        default=None,
        description=(
            "kind empirical only: latency at evenly spaced quantiles from 0 to 100 % in ns, "
            "non-decreasing (polyarb calibrate writes them)"
        ),
    )

    @model_validator(mode="after")
    def _empirical(self) -> LatencyModel:
        points = self.quantiles_ns
        if self.kind != "empirical":
            if points is not None:
                raise ValueError(
                    f"quantiles_ns: only kind 'empirical' takes quantile points (kind is "
                    f"{self.kind!r})"
                )
            return self
        if points is None or len(points) < 2:
            raise ValueError(
                "quantiles_ns: kind 'empirical' needs at least 2 quantile points "
                "(latency in ns at 0 %, …, 100 %)"
            )
        for i, v in enumerate(points):
            if not 0 <= v <= _MAX_LATENCY_NS:
                raise ValueError(
                    f"quantiles_ns[{i}] = {v}: latency in ns (allowed: ge 0, le {_MAX_LATENCY_NS})"
                )
            if i and v < points[i - 1]:
                raise ValueError(
                    f"quantiles_ns[{i}] = {v}: quantile points must not decrease "
                    f"(previous {points[i - 1]})"
                )
        return self


class RiskLimits(_Model):
    """Pre-trade limits and the circuit breaker (docs/execution.md §Risk)."""

    trade_size_usd: Money = Field(
        default=Decimal("2"), gt=0, le=1000, description="cash per trade (all legs)"
    )
    max_position_per_market_usd: Money = Field(default=Decimal("20"), gt=0, le=100_000)
    max_total_position_usd: Money = Field(default=Decimal("100"), gt=0, le=1_000_000)
    max_daily_loss_usd: Money = Field(default=Decimal("10"), gt=0, le=100_000)
    max_slippage: Money = Field(
        default=Decimal("0.01"), ge=0, le=Decimal("0.5"), description="price units"
    )
    min_edge: Money = Field(
        default=Decimal("0.005"), ge=0, le=Decimal("0.5"), description="per share, after fees"
    )
    consecutive_failures: int = Field(
        default=3, ge=1, le=100, description="failures that open the breaker"
    )
    breaker_cooldown_s: int = Field(default=300, ge=1, le=86_400)
    stale_book_ms: int = Field(
        default=5_000, ge=100, le=3_600_000, description="connection silence limit"
    )
    max_leg_skew_ms: int = Field(
        default=1_000, ge=0, le=60_000, description="exchange-time skew between legs"
    )
    halt: Literal["rest_of_run", "while_active"] = Field(
        default="rest_of_run",
        description="how long a halting CRITICAL alert stops new trades: for the rest of "
        "the run, or only while the alert is active",
    )


class Execution(_Model):
    """How orders are sent and what happens when a leg fails (docs/execution.md §Leg risk)."""

    order_type: Literal["FOK", "FAK"] = "FOK"
    leg_failure: Literal["unwind", "hold"] = "unwind"
    max_unwind_slippage: Money = Field(
        default=Decimal("0.05"),
        ge=0,
        le=Decimal("0.5"),
        decimal_places=6,
        description="price units an unwind may give up per share vs its leg's average fill",
    )
    merge_complete_sets: bool = True
    gas_cost_usd: Money = Field(default=Decimal("0.01"), ge=0, le=10)


_ADDRESS = r"^0x[0-9a-fA-F]{40}$"


class ChainSettings(_Model):
    """Where chain operations go and how gas is priced (docs/chain.md).

    Defaults are Polymarket's Polygon contracts (docs/protocol.md §Contracts and gas);
    a rehearsal on a local chain points them at its own deployments.
    """

    chain_id: int = Field(default=137, ge=1, description="the RPC must report this chain id")
    collateral: str = Field(
        default="0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB", pattern=_ADDRESS, description="pUSD"
    )
    conditional_tokens: str = Field(
        default="0x4D97DCd97eC945f40cF65F87097ACe5EA0476045",
        pattern=_ADDRESS,
        description="the CTF: balances, payouts, position ids",
    )
    operator: str = Field(
        default="0xAdA100Db00Ca00073811820692005400218FcE1f",
        pattern=_ADDRESS,
        description="receives split/merge/redeem: the CTF collateral adapter (pUSD), or the CTF",
    )
    pol_usd: Money = Field(
        default=Decimal("0.25"),
        gt=0,
        le=1_000,
        decimal_places=6,
        description="POL price in USD that converts receipt gas (wei) into pUSD micro units",
    )


class Settlement(_Model):
    """Automatic settlement after resolution (:mod:`polyarb.chain.settle`)."""

    auto: bool = Field(
        default=False, description="redeem winning positions and merge complete sets on resolution"
    )
    retries: int = Field(default=3, ge=0, le=20, description="re-sends of a failed transaction")
    max_gas_usd: Money = Field(
        default=Decimal("0.05"),
        gt=0,
        le=100,
        decimal_places=6,
        description="SETTLEMENT_GAS_HIGH fires when one transaction's gas costs more",
    )


class Profile(_Model):
    """A strategy/phase profile (``profiles/*.yaml``)."""

    name: str = Field(..., min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    phase: int = Field(
        default=0, ge=0, le=3, description="0 shadow, 1 $2, 2 $5, 3 $10-20 per trade"
    )
    mode: Literal["dry_run", "live"] = "dry_run"
    detectors: tuple[DetectorName, ...] = ("binary_complete_set",)
    risk: RiskLimits = RiskLimits()
    execution: Execution = Execution()
    latency: LatencyModel = LatencyModel()
    chain: ChainSettings = ChainSettings()
    settlement: Settlement = Settlement()
    tick_interval_ms: int = Field(
        default=1_000, ge=50, le=60_000, description="cadence of tick rows"
    )
    alerts: str | None = Field(
        default=None, description="alert rules file, relative to the profile"
    )
    gonogo_max_age_s: int | None = Field(
        default=None,
        ge=60,
        le=7 * 86_400,
        description=(
            "live only: the newest passing go/no-go for this phase may be at most this old "
            "(default 3600 s when unset)"
        ),
    )
    book_integrity: Literal["hash", "quotes", "off"] = Field(
        default="hash",
        description=(
            "how a delta-built book is verified at an event boundary: 'hash' (the exchange's "
            "10-field hash), 'quotes' (the best_bid/best_ask the change carries; for sessions "
            "whose hash rule we do not reproduce, see 'sessions check'), 'off' (not verified)"
        ),
    )

    @model_validator(mode="after")
    def _phase_rules(self) -> Profile:
        if self.mode == "live" and self.phase == 0:
            raise ValueError(
                "mode = 'live': phase 0 (shadow) must have mode: dry_run (allowed: live only for phase 1-3)"
            )
        if not self.detectors:
            raise ValueError("detectors: at least one detector is required")
        for field in (
            "trade_size_usd",
            "max_position_per_market_usd",
            "max_total_position_usd",
            "max_daily_loss_usd",
            "max_slippage",
            "min_edge",
        ):
            micro(getattr(self.risk, field))
        low, high = PHASE_TRADE_SIZE_USD[self.phase]
        size = self.risk.trade_size_usd
        if not low <= size <= high:
            raise ValueError(
                f"risk.trade_size_usd = '{size}': phase {self.phase} trades "
                f"${low}-${high} per trade (allowed: ge {low}, le {high})"
            )
        if self.risk.max_position_per_market_usd < size:
            raise ValueError(
                f"risk.max_position_per_market_usd = '{self.risk.max_position_per_market_usd}': "
                f"must hold at least one trade (allowed: ge trade_size_usd {size})"
            )
        if self.risk.max_total_position_usd < self.risk.max_position_per_market_usd:
            raise ValueError(
                f"risk.max_total_position_usd = '{self.risk.max_total_position_usd}': must be "
                f"at least the per-market limit (allowed: ge max_position_per_market_usd "
                f"{self.risk.max_position_per_market_usd})"
            )
        return self

    @property
    def live(self) -> bool:
        """True only for a live-mode profile (which also means phase >= 1)."""
        return self.mode == "live"

    def canonical_json(self) -> str:
        """Stable JSON of every setting (defaults included): what the profile hash covers."""
        data = self.model_dump(mode="json")
        if data.get("gonogo_max_age_s") is None:
            # Unset, it is not part of the hash: profiles written before it keep their hash.
            data.pop("gonogo_max_age_s", None)
        if data["latency"].get("quantiles_ns") is None:
            data["latency"].pop("quantiles_ns", None)  # likewise: only empirical models have it
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        """Hash of :meth:`canonical_json`: two runs with one hash used the same settings."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


class ProfileError(ValueError, PolyarbError):
    """A profile that does not load: the message names file, key, value and the rule."""


def parse_profile(data: Any, source: Path | str = "<profile>") -> Profile:
    """Validate already-loaded YAML/JSON data."""
    if not isinstance(data, dict):
        raise ProfileError(
            f"{source}: a profile must be a mapping of keys, got {type(data).__name__}"
        )
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(format_validation_errors(source, exc)) from None


def load_profile(path: Path | str) -> Profile:
    """Load and validate ``path``; raises :class:`ProfileError` with every problem listed."""
    p = Path(path)
    profile = parse_profile(load_yaml(p, ProfileError, "profile"), p)
    if profile.alerts:
        # A profile that names broken alert rules must not start: alerts are a safety gate.
        try:
            load_alert_rules(p.parent / profile.alerts)
        except AlertRulesError as exc:
            raise ProfileError(f"{p}: alerts = {profile.alerts!r}: {exc}") from None
    return profile
