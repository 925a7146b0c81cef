"""Fit the simulated venue to live sessions: empirical latency and a fill model.

Input: the ``calibration`` rows of the live runs of some sessions (one row per
order: SimVenue's prediction at the decision next to what the exchange did,
:mod:`polyarb.execution.calibration`). Output:

* the empirical latency distribution: the real decision → answer latencies at
  evenly spaced quantiles (integer ns), which a profile takes as
  ``latency: {kind: empirical, quantiles_ns: [...]}`` (drawn from the run's
  seeded generator like every other kind);
* a fill model by order type and size bucket: orders, fill rate live and
  simulated, and the price error in ticks (live − simulated average price,
  adverse positive);
* the error of the current model against what was observed (one table:
  metric, model, observed, error).

docs/calibration.md explains the record and how ``promote-check --phase 3``
judges the same rows in DuckDB.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from polyarb.config.profile import LatencyModel
from polyarb.errors import PolyarbError
from polyarb.execution.latency import model_sample
from polyarb.execution.latency import sorted_quantile as quantile

QUANTILE_STEPS = 20
"""The snippet's quantile points: 0 %, 5 %, …, 100 % (21 points)."""
SIZE_BUCKETS: tuple[tuple[int, str], ...] = (
    (5_000_000, "<5"),
    (20_000_000, "5-20"),
    (100_000_000, "20-100"),
)
"""Upper bounds (micro shares, exclusive) of the size buckets; larger orders are ``>=100``."""
REPORTED_QUANTILES: tuple[tuple[int, int], ...] = ((1, 2), (9, 10), (99, 100))


class CalibrationError(ValueError, PolyarbError):
    """Input calibrate cannot use (no sessions, no live calibration rows); exit 2."""


def live_rows(session_dir: Path) -> list[dict[str, Any]]:
    """Calibration rows of every live run of one session, in run then row order."""
    rows: list[dict[str, Any]] = []
    for run_json in sorted(session_dir.glob("runs/*/run.json")):
        try:
            mode = json.loads(run_json.read_text()).get("mode")
        except (OSError, ValueError):
            continue
        table = run_json.parent / "calibration.parquet"
        if mode != "live" or not table.is_file():
            continue
        for row in pq.read_table(str(table)).to_pylist():
            rows.append({**row, "session_id": session_dir.name, "run_id": run_json.parent.name})
    return rows


def load_sessions(session_dirs: Sequence[Path]) -> list[dict[str, Any]]:
    """Every live calibration row of the sessions; clear errors when there is nothing to fit."""
    if not session_dirs:
        raise CalibrationError("--sessions: name at least one live session")
    rows: list[dict[str, Any]] = []
    for sdir in session_dirs:
        found = live_rows(sdir)
        if not found:
            raise CalibrationError(
                f"session {sdir.name}: no live run with calibration rows "
                "(runs/<id>/calibration.parquet of a polyarb live run with orders)"
            )
        rows += found
    if not any(r["real_latency_ns"] is not None for r in rows):
        raise CalibrationError(
            "no answered order in the sessions: no real latency to fit (every order unanswered)"
        )
    return rows


def quantile_points(values: Sequence[int], steps: int = QUANTILE_STEPS) -> list[int]:
    """``steps + 1`` evenly spaced quantiles (0 … 100 %) of ``values``, integer ns."""
    ordered = sorted(values)
    return [quantile(ordered, k, steps) for k in range(steps + 1)]


def size_bucket(size: int) -> str:
    """The fill model's size bucket of an order of ``size`` micro shares."""
    for bound, name in SIZE_BUCKETS:
        if size < bound:
            return name
    return ">=100"


def price_error_ticks(row: dict[str, Any]) -> float | None:
    """Live − simulated average price in ticks, adverse positive; None unless both filled."""
    real, pred, tick = row["real_avg_price"], row["pred_avg_price"], row["tick"]
    if real is None or pred is None or not tick:
        return None
    diff = real - pred if row["side"] == "BUY" else pred - real
    return float(diff) / tick


@dataclass
class FillCell:
    """The fill model of one (order type, size bucket)."""

    order_type: str
    bucket: str
    orders: int = 0
    size: int = 0
    real_filled: int = 0
    pred_filled: int = 0
    price_errors: list[float] = field(default_factory=list)

    @property
    def real_rate(self) -> float:
        return 100.0 * self.real_filled / self.size if self.size else 0.0

    @property
    def pred_rate(self) -> float:
        return 100.0 * self.pred_filled / self.size if self.size else 0.0

    @property
    def price_error(self) -> float | None:
        return sum(self.price_errors) / len(self.price_errors) if self.price_errors else None

    def to_json(self) -> dict[str, Any]:
        return {
            "order_type": self.order_type,
            "size_bucket": self.bucket,
            "orders": self.orders,
            "fill_rate_live_pct": round(self.real_rate, 3),
            "fill_rate_sim_pct": round(self.pred_rate, 3),
            "price_error_ticks": None if self.price_error is None else round(self.price_error, 3),
        }


@dataclass
class Fit:
    """What calibrate fitted and how far the current model is from it."""

    sessions: list[str]
    orders: int
    answered: int
    quantiles_ns: list[int]
    cells: list[FillCell]
    errors: list[tuple[str, float, float]]
    """(metric, model, observed): the table the command prints."""
    seed: int = 0

    def snippet(self) -> str:
        """The profile snippet: an empirical ``latency`` section, the fill model as comments."""
        lines = [
            f"# polyarb calibrate: {self.answered} answered of {self.orders} live orders, "
            f"sessions {', '.join(self.sessions)}",
            "# fill model (live vs simulated; SimVenue has no setting for it yet):",
        ]
        for c in self.cells:
            err = "n/a" if c.price_error is None else f"{c.price_error:+.2f}"
            lines.append(
                f"#   {c.order_type} {c.bucket} shares: {c.orders} orders, fill rate "
                f"{c.real_rate:.1f}% live / {c.pred_rate:.1f}% sim, price error {err} ticks"
            )
        body = {
            "latency": {"kind": "empirical", "seed": self.seed, "quantiles_ns": self.quantiles_ns}
        }
        return (
            "\n".join(lines)
            + "\n"
            + yaml.safe_dump(body, sort_keys=False, width=100, default_flow_style=None)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "orders": self.orders,
            "answered": self.answered,
            "latency": {"kind": "empirical", "seed": self.seed, "quantiles_ns": self.quantiles_ns},
            "fill_model": [c.to_json() for c in self.cells],
            "errors": [
                {"metric": m, "model": model, "observed": obs, "error": obs - model}
                for m, model, obs in self.errors
            ],
        }


def fit(rows: Sequence[dict[str, Any]], model: LatencyModel | None = None) -> Fit:
    """Fit latency and fill model from calibration rows; compare with ``model``.

    Without ``model`` the comparison is with what the recorded runs' own profile
    predicted (the rows' ``pred_latency_ns``).
    """
    real = [r["real_latency_ns"] for r in rows if r["real_latency_ns"] is not None]
    if not real:
        raise CalibrationError("no answered order: no real latency to fit")
    model_sorted = (
        model_sample(model) if model is not None else sorted(r["pred_latency_ns"] for r in rows)
    )
    real_sorted = sorted(real)
    errors: list[tuple[str, float, float]] = []
    for num, den in REPORTED_QUANTILES:
        name = f"latency_p{100 * num // den}_ms"
        errors.append(
            (
                name,
                quantile(model_sorted, num, den) / 1e6,
                quantile(real_sorted, num, den) / 1e6,
            )
        )
    cells: dict[tuple[str, str], FillCell] = {}
    for r in rows:
        key = (str(r["order_type"]), size_bucket(int(r["size"] or 0)))
        cell = cells.setdefault(key, FillCell(*key))
        cell.orders += 1
        cell.size += int(r["size"] or 0)
        cell.real_filled += int(r["real_filled_size"] or 0)
        cell.pred_filled += int(r["pred_filled_size"] or 0)
        err = price_error_ticks(r)
        if err is not None:
            cell.price_errors.append(err)
    ordered = [cells[k] for k in sorted(cells)]
    for c in ordered:
        label = f"{c.order_type} {c.bucket}"
        errors.append((f"fill_rate_pct[{label}]", c.pred_rate, c.real_rate))
        if c.price_error is not None:
            errors.append((f"price_error_ticks[{label}]", 0.0, c.price_error))
    sessions = list(dict.fromkeys(str(r["session_id"]) for r in rows))
    return Fit(
        sessions=sessions,
        orders=len(rows),
        answered=len(real),
        quantiles_ns=quantile_points(real),
        cells=ordered,
        errors=errors,
        seed=model.seed if model is not None else 0,
    )


def render_table(result: Fit) -> str:
    """The error table: metric, model, observed, error (observed − model)."""
    head = ("metric", "model", "observed", "error")
    body = [(m, f"{mod:.3f}", f"{obs:.3f}", f"{obs - mod:+.3f}") for m, mod, obs in result.errors]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(4)]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [head, *body]
    ]
    return "\n".join(lines)
