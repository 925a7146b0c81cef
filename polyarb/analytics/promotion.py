"""Promotion: may a strategy move to the next phase? Thresholds in YAML, evaluation in SQL.

``profiles/promotion.yaml`` holds one block per target phase (``phase1`` …
``phase3``): which runs are judged (``from_phase``, ``modes``) and one
threshold per criterion. Each criterion is one ``crit_<name>.sql`` file that
reads the temp tables ``scope_runs`` (``promote_scope.sql``) and
``scope_calibration`` (``promote_scope_calibration.sql``) and the views of
:mod:`polyarb.analytics.views`, and returns one row: ``value``, ``shown``,
``ok``, ``detail``. Python only loads thresholds, runs the files and
renders; every measurement and every verdict is computed by DuckDB.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from polyarb.analytics.views import AnalyticsError, connect, sql_text
from polyarb.configfile import format_validation_errors, load_yaml
from polyarb.errors import PolyarbError

Status = Literal["PASS", "WARN", "FAIL"]
Mode = Literal["shadow", "live", "replay"]


class PromotionConfigError(ValueError, PolyarbError):
    """A thresholds file that does not load; names the file, key, value and allowed range."""


class _Rules(BaseModel):
    """Criteria shared by every phase; ``null`` switches a criterion off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_phase: int = Field(default=..., ge=0, le=3, description="phase whose runs are judged")
    modes: tuple[Mode, ...] = Field(default=..., min_length=1, description="run modes that count")
    min_coverage_days: float | None = Field(default=7.0, ge=0, le=3650)
    max_crashes: int | None = Field(default=None, ge=0)
    min_connected_pct: float | None = Field(default=None, ge=0, le=100)
    max_log_gaps: int | None = Field(default=None, ge=0)
    min_breaker_recoveries: int | None = Field(default=None, ge=0, le=1000)
    max_parity_failures: int | None = Field(default=None, ge=0)
    max_latency_p95_ms: float | None = Field(default=None, gt=0, le=600_000)
    max_critical_alerts: int | None = Field(default=None, ge=0)
    max_fill_error_bps: float | None = Field(default=None, ge=0, le=10_000)
    max_fill_price_error_ticks: float | None = Field(default=None, ge=0, le=100)
    max_fill_rate_error_pct: float | None = Field(default=None, ge=0, le=100)
    max_latency_quantile_error_ms: float | None = Field(default=None, ge=0, le=600_000)
    checklist: tuple[Status, ...] | None = Field(
        default=("PASS", "WARN"),
        min_length=1,
        description="go/no-go statuses that count as passing (go-no-go exits 0 on these)",
    )


class Phase1Rules(_Rules):
    """Shadow (Phase 0) → $2/trade: a week of clean, connected, parity-checked shadow runs."""

    from_phase: int = Field(default=0, ge=0, le=2)
    modes: tuple[Mode, ...] = Field(default=("shadow",), min_length=1)
    min_coverage_days: float | None = Field(default=7.0, ge=0, le=3650)
    max_crashes: int | None = Field(default=0, ge=0)
    min_connected_pct: float | None = Field(default=95.0, ge=0, le=100)
    max_log_gaps: int | None = Field(default=0, ge=0)
    min_breaker_recoveries: int | None = Field(default=1, ge=0, le=1000)
    max_parity_failures: int | None = Field(default=0, ge=0)
    max_latency_p95_ms: float | None = Field(default=500.0, gt=0, le=600_000)


class Phase2Rules(_Rules):
    """$2 → $5/trade: a week of Phase 1 without a CRITICAL alert."""

    from_phase: int = Field(default=1, ge=0, le=2)
    modes: tuple[Mode, ...] = Field(default=("live",), min_length=1)
    min_coverage_days: float | None = Field(default=7.0, ge=0, le=3650)
    max_critical_alerts: int | None = Field(default=0, ge=0)


class Phase3Rules(_Rules):
    """$5 → $10-20/trade: two weeks of Phase 2 without a CRITICAL alert, fills as simulated."""

    # le=3: a phase-3 operator can re-judge phase-3 runs against the same bounds.
    from_phase: int = Field(default=2, ge=0, le=3)
    modes: tuple[Mode, ...] = Field(default=("live",), min_length=1)
    min_coverage_days: float | None = Field(default=14.0, ge=0, le=3650)
    max_critical_alerts: int | None = Field(default=0, ge=0)
    max_fill_error_bps: float | None = Field(default=50.0, ge=0, le=10_000)
    max_fill_price_error_ticks: float | None = Field(default=1.0, ge=0, le=100)
    max_fill_rate_error_pct: float | None = Field(default=5.0, ge=0, le=100)
    max_latency_quantile_error_ms: float | None = Field(default=50.0, ge=0, le=600_000)


class PromotionRules(BaseModel):
    """``profiles/promotion.yaml``: the rules for entering each phase."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phase1: Phase1Rules = Phase1Rules()
    phase2: Phase2Rules = Phase2Rules()
    phase3: Phase3Rules = Phase3Rules()

    def for_phase(self, phase: int) -> _Rules:
        if phase not in (1, 2, 3):
            raise PromotionConfigError(f"phase must be 1, 2 or 3 (the phase to enter), not {phase}")
        rules: _Rules = getattr(self, f"phase{phase}")
        return rules


def parse_rules(data: Any, source: Path | str = "<promotion rules>") -> PromotionRules:
    """Validate already-loaded YAML data (``None``, an empty file, means all defaults)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PromotionConfigError(
            f"{source}: promotion rules must be a mapping of phase1/phase2/phase3, "
            f"got {type(data).__name__}"
        )
    try:
        return PromotionRules.model_validate(data)
    except ValidationError as exc:
        raise PromotionConfigError(
            format_validation_errors(source, exc, "promotion rules")
        ) from None


def load_rules(path: Path | str) -> PromotionRules:
    """Load and validate a thresholds file; :class:`PromotionConfigError` lists every problem."""
    return parse_rules(load_yaml(path, PromotionConfigError, "promotion rules"), path)


@dataclass(frozen=True)
class Criterion:
    """One promotion criterion: its SQL file is ``crit_<name>.sql``."""

    name: str
    key: str  # the threshold's key in the phase block
    op: str  # how the SQL compares measured with threshold (shown in reports)
    unit: str
    label: str


CRITERIA: tuple[Criterion, ...] = (
    Criterion("coverage_days", "min_coverage_days", ">=", "days", "days of runs covered"),
    Criterion("crashes", "max_crashes", "<=", "runs", "runs without a clean exit"),
    Criterion("connected_pct", "min_connected_pct", ">=", "%", "WebSocket connected"),
    Criterion("log_gaps", "max_log_gaps", "<=", "defects", "unexplained seq gaps in the logs"),
    Criterion(
        "breaker_recoveries",
        "min_breaker_recoveries",
        ">=",
        "cycles",
        "circuit breaker opened and recovered",
    ),
    Criterion(
        "parity_failures", "max_parity_failures", "<=", "runs", "runs failing parity (PnL accuracy)"
    ),
    Criterion("latency_p95_ms", "max_latency_p95_ms", "<", "ms", "P95 receive → decision latency"),
    Criterion("critical_alerts", "max_critical_alerts", "<=", "alerts", "CRITICAL alerts fired"),
    Criterion("fill_error_bps", "max_fill_error_bps", "<=", "bps", "live vs simulated fill error"),
    Criterion(
        "fill_price_error_ticks",
        "max_fill_price_error_ticks",
        "<=",
        "ticks",
        "live vs simulated fill price (calibration rows)",
    ),
    Criterion(
        "fill_rate_error_pct",
        "max_fill_rate_error_pct",
        "<=",
        "pp",
        "live vs simulated fill rate (calibration rows)",
    ),
    Criterion(
        "latency_quantile_error_ms",
        "max_latency_quantile_error_ms",
        "<=",
        "ms",
        "live vs modelled order latency, p50/p90 (calibration rows)",
    ),
    Criterion("checklist", "checklist", "in", "", "go/no-go checklist"),
)
"""Every criterion, in report order."""

CRITERION_NAMES = tuple(c.name for c in CRITERIA)


@dataclass
class CriterionResult:
    name: str
    label: str
    value: float | None
    measured: str
    threshold: str
    ok: bool
    detail: str
    no_data: bool = False
    """No run in scope to measure: neither a pass nor a failure of this criterion."""

    @property
    def verdict(self) -> str:
        return "NO DATA" if self.no_data else "PASS" if self.ok else "FAIL"


@dataclass
class PromotionResult:
    """The outcome of one promote-check."""

    phase: int
    scope: dict[str, Any]
    runs: int
    criteria: list[CriterionResult] = field(default_factory=list)
    evaluated_at: str = ""
    elapsed_s: float = 0.0
    recordings: str = ""

    @property
    def go(self) -> bool:
        return bool(self.criteria) and all(c.ok for c in self.criteria)

    @property
    def verdict(self) -> str:
        # No run in scope is its own answer: "collect shadow runs first", not a criterion
        # that failed on evidence.
        return "NO DATA" if self.runs == 0 else "GO" if self.go else "NO-GO"

    @property
    def failed(self) -> list[str]:
        """Names of the criteria that failed: the reasons for a NO-GO."""
        return [c.name for c in self.criteria if not c.ok and not c.no_data]

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "verdict": self.verdict,
            "failed": self.failed,
            "scope": self.scope,
            "runs": self.runs,
            "recordings": self.recordings,
            "evaluated_at": self.evaluated_at,
            "elapsed_s": round(self.elapsed_s, 3),
            "criteria": [{**asdict(c), "verdict": c.verdict} for c in self.criteria],
        }


_PARAM = re.compile(r"\$(\w+)")


def run_sql(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any]) -> Any:
    """Execute ``sql/<name>.sql`` with the named parameters it uses; clear error on failure."""
    text = sql_text(name)
    wanted = dict.fromkeys(_PARAM.findall(text))
    missing = [p for p in wanted if p not in params]
    if missing:
        raise AnalyticsError(f"{name}.sql needs parameter(s) {', '.join(missing)}")
    try:
        return con.execute(text, {p: params[p] for p in wanted})
    except duckdb.Error as exc:
        raise AnalyticsError(f"{name}.sql failed: {exc}") from exc


def _threshold_text(crit: Criterion, value: Any) -> str:
    if crit.name == "checklist":
        return "status in " + "/".join(value) + " for this phase"
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{crit.op} {shown} {crit.unit}".rstrip()


def _day_start_ns(day: dt.date) -> int:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(start.timestamp()) * 1_000_000_000


def scope_text(scope: dict[str, Any]) -> str:
    """``, profile P, since D`` for the parts of the scope that narrow it."""
    text = f", profile {scope['profile']}" if scope.get("profile") else ""
    return text + (f", since {scope['since']}" if scope.get("since") else "")


def evaluate(
    phase: int,
    rules: PromotionRules,
    *,
    recordings: Path | str,
    reports: Path | str,
    profile: str | None = None,
    since: dt.date | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> PromotionResult:
    """Evaluate the rules for entering ``phase`` over the runs under ``recordings``.

    ``since`` keeps only runs whose first frame is on or after that UTC day (for
    example the day the current configuration went in).
    """
    started = time.perf_counter()
    phase_rules = rules.for_phase(phase)
    con = con or connect(recordings, reports)
    scope = {
        "from_phase": phase_rules.from_phase,
        "modes": list(phase_rules.modes),
        "profile": profile,
        "since": since.isoformat() if since else None,
        "since_ns": _day_start_ns(since) if since else None,
    }
    run_sql(con, "promote_scope", scope)
    run_sql(con, "promote_scope_calibration", scope)
    runs = con.execute("SELECT count(*) FROM scope_runs").fetchone()
    result = PromotionResult(
        phase=phase,
        scope=scope,
        runs=int(runs[0]) if runs else 0,
        evaluated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        recordings=str(recordings),
    )
    for crit in CRITERIA:
        threshold = getattr(phase_rules, crit.key)
        if threshold is None:
            continue
        params: dict[str, Any] = {"threshold": threshold, "phase": phase}
        if crit.name == "checklist":
            params["accept"] = list(threshold)
        row = run_sql(con, f"crit_{crit.name}", params).fetchone()
        if row is None:
            raise AnalyticsError(f"crit_{crit.name}.sql returned no row")
        value, shown, ok, detail = row
        result.criteria.append(
            CriterionResult(
                name=crit.name,
                label=crit.label,
                value=None if value is None else float(value),
                measured=str(shown),
                threshold=_threshold_text(crit, threshold),
                ok=bool(ok),
                detail=str(detail or ""),
                # The checklist is a file, not run data: it is judged even with no runs.
                no_data=result.runs == 0 and crit.name != "checklist",
            )
        )
    result.elapsed_s = time.perf_counter() - started
    return result


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: PromotionResult) -> str:
    """The promotion report: verdict, scope, one table row per criterion."""
    prev = result.scope["from_phase"]
    modes = ", ".join(result.scope["modes"])
    lines = [
        f"# Promotion check: phase {prev} → phase {result.phase}: **{result.verdict}**",
        "",
        f"* evaluated: {result.evaluated_at}",
        f"* recordings: `{result.recordings}`",
        f"* runs judged: {result.runs} (phase {prev}, mode {modes}{scope_text(result.scope)})",
    ]
    if result.runs == 0:
        lines.append(
            "* NO DATA: no run in scope; record shadow runs (or widen --profile/--since) first"
        )
    if result.failed:
        lines.append(f"* failed: {', '.join(result.failed)}")
    lines += [
        "",
        "| criterion | measured | threshold | verdict | detail |",
        "|---|---|---|---|---|",
    ]
    for c in result.criteria:
        lines.append(
            f"| {_md_cell(c.label)} (`{c.name}`) | {_md_cell(c.measured)} | "
            f"{_md_cell(c.threshold)} | {c.verdict} | {_md_cell(c.detail)} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_report(result: PromotionResult, reports: Path | str) -> Path:
    """``reports/promotion/phase<N>-<YYYY-MM-DD>.md`` (UTC date of the evaluation).

    Beside it the same result as ``.json``, as ``phase<N>.json`` (which ``polyarb go-no-go
    --phase N`` reads for its ``promote_check`` item: keys ``phase``, ``verdict``) and as
    ``latest.json`` (the newest of any phase, for people).
    """
    day = result.evaluated_at[:10] or dt.date.today().isoformat()
    folder = Path(reports) / "promotion"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"phase{result.phase}-{day}.md"
    path.write_text(render_markdown(result))
    data = json.dumps({**result.to_json(), "report": str(path)}, indent=2, sort_keys=True) + "\n"
    path.with_suffix(".json").write_text(data)
    for name in (f"phase{result.phase}", "latest"):
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(data)
        tmp.replace(folder / f"{name}.json")
    return path
