"""``polyarb sweep report``: which parameter set did best, and how sure is that?

Analytics only (floats are fine here; the engine never sees them). For every
parameter set the leaderboard shows the mean PnL per session with a bootstrap
interval over sessions (resampling sessions with replacement, a seeded
``numpy.random.Generator``), so one lucky session cannot hide behind an
average. The best set is flagged when most of its PnL comes from one session.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from polyarb.errors import PolyarbError
from polyarb.sweep.store import SweepStore

CONCENTRATION_SHARE = 0.5
"""Warn when one session holds more than this share of the best set's positive PnL."""

BOOTSTRAP_SAMPLES = 2_000


class ReportError(ValueError, PolyarbError):
    """A sweep that cannot be reported (missing, empty, unknown parameter)."""


@dataclass
class CellStats:
    """One parameter set across its sessions (money in micro USD, floats for means)."""

    cell_index: int
    params: dict[str, Any]
    profile_sha256: str
    sessions: list[str]
    pnls: list[int]
    total_pnl: int
    mean_pnl: float
    ci_low: float
    ci_high: float
    fills: int
    fees: int
    max_drawdown: int
    top_session: str
    top_share: float


@dataclass
class SweepReport:
    name: str
    keys: list[str]
    cells: list[CellStats]  # best first
    x: str | None
    y: str | None
    warnings: list[str] = field(default_factory=list)

    def write_html(self, path: Path | str) -> Path:
        """The page: leaderboard, PnL heatmap over (x, y), per-session PnL distributions."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(render_html(self))
        return p


def bootstrap_interval(
    values: list[int], rng: np.random.Generator, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``values``, resampled with replacement."""
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return (0.0, 0.0)
    picks = rng.integers(0, len(data), size=(samples, len(data)))
    means = data[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def concentration(sessions: list[str], pnls: list[int]) -> tuple[str, float]:
    """(session with the largest PnL, its share of the positive PnL)."""
    positive = sum(v for v in pnls if v > 0)
    best = max(range(len(pnls)), key=lambda i: (pnls[i], -i))
    share = pnls[best] / positive if positive > 0 else 0.0
    return sessions[best], share


def build_report(
    store: SweepStore, *, x: str | None = None, y: str | None = None, seed: int = 0
) -> SweepReport:
    """Aggregate ``results.parquet`` of ``store`` per parameter set, best mean PnL first."""
    try:
        rows = store.results().to_pylist()
    except FileNotFoundError as exc:
        raise ReportError(str(exc)) from None
    if not rows:
        raise ReportError(f"{store.dir}: results.parquet has no cells")
    spec = json.loads((store.dir / "sweep.json").read_text())
    keys: list[str] = list(spec.get("keys") or [])
    for name, value in (("--x", x), ("--y", y)):
        if value is not None and value not in keys:
            raise ReportError(
                f"{name} {value!r}: not a swept key (swept: {', '.join(keys) or 'none'})"
            )
    x = x or (keys[0] if keys else None)
    y = y or next((k for k in keys if k != x), None)
    rng = np.random.default_rng(seed)
    groups: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["cell_index"], []).append(row)
    cells = []
    for index in sorted(groups):
        group = sorted(groups[index], key=lambda r: r["session_id"])
        pnls = [int(r["pnl"]) for r in group]
        sessions = [r["session_id"] for r in group]
        low, high = bootstrap_interval(pnls, rng)
        top, share = concentration(sessions, pnls)
        cells.append(
            CellStats(
                cell_index=index,
                params=json.loads(group[0]["params"] or "{}"),
                profile_sha256=group[0]["profile_sha256"],
                sessions=sessions,
                pnls=pnls,
                total_pnl=sum(pnls),
                mean_pnl=sum(pnls) / len(pnls),
                ci_low=low,
                ci_high=high,
                fills=sum(int(r["fills"]) for r in group),
                fees=sum(int(r["fees"]) for r in group),
                max_drawdown=max(int(r["max_drawdown"]) for r in group),
                top_session=top,
                top_share=share,
            )
        )
    cells.sort(key=lambda c: (-c.mean_pnl, c.cell_index))
    report = SweepReport(spec.get("name", store.dir.name), keys, cells, x, y)
    best = cells[0]
    if best.total_pnl > 0 and best.top_share > CONCENTRATION_SHARE:
        report.warnings.append(
            f"concentration: the best parameter set ({_label(best.params)}) earns "
            f"{best.top_share:.0%} of its positive PnL in one session ({best.top_session}); "
            f"its edge may not generalise"
        )
    if best.ci_low <= 0 < best.mean_pnl:
        report.warnings.append(
            "the best parameter set's bootstrap interval includes zero: not distinguishable "
            "from no edge over these sessions"
        )
    return report


def _label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "base"


def _usd(micro: float) -> str:
    return f"{'-' if micro < 0 else ''}${abs(micro) / 1e6:,.4f}"


def leaderboard_rows(report: SweepReport) -> list[tuple[str, ...]]:
    """Rows of the leaderboard as text: rank, params, sessions, mean [95% CI], total, fills..."""
    out: list[tuple[str, ...]] = []
    for rank, c in enumerate(report.cells, 1):
        out.append(
            (
                str(rank),
                _label(c.params),
                str(len(c.sessions)),
                _usd(c.mean_pnl),
                f"[{_usd(c.ci_low)}, {_usd(c.ci_high)}]",
                _usd(c.total_pnl),
                str(c.fills),
                _usd(c.fees),
                _usd(c.max_drawdown),
                f"{c.top_share:.0%} {c.top_session}" if c.total_pnl > 0 else "-",
                c.profile_sha256[:12],
            )
        )
    return out


HEADERS = (
    "rank",
    "parameters",
    "sessions",
    "mean PnL/session",
    "95% bootstrap CI",
    "total PnL",
    "fills",
    "fees",
    "max drawdown",
    "top session share",
    "profile sha256",
)


def format_leaderboard(report: SweepReport, top: int = 20) -> str:
    """The leaderboard as aligned plain text (best first)."""
    rows = [HEADERS, *leaderboard_rows(report)[:top]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = [f"sweep {report.name}: {len(report.cells)} parameter set(s)"]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode()


def heatmap_png(report: SweepReport) -> str:
    """Base64 PNG: mean PnL per session over (x, y), averaged over any other swept key."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    if report.x is None:
        ax.text(0.5, 0.5, "no swept parameters", transform=ax.transAxes, ha="center")
        return _png(fig)
    xs = list(
        dict.fromkeys(
            str(c.params.get(report.x)) for c in sorted(report.cells, key=lambda c: c.cell_index)
        )
    )
    ys = (
        list(
            dict.fromkeys(
                str(c.params.get(report.y))
                for c in sorted(report.cells, key=lambda c: c.cell_index)
            )
        )
        if report.y
        else [""]
    )
    sums = np.zeros((len(ys), len(xs)))
    counts = np.zeros((len(ys), len(xs)))
    for c in report.cells:
        i = ys.index(str(c.params.get(report.y))) if report.y else 0
        j = xs.index(str(c.params.get(report.x)))
        sums[i, j] += c.mean_pnl / 1e6
        counts[i, j] += 1
    grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    # symmetric limits: white is zero PnL, green earns, red loses
    finite = np.abs(grid[np.isfinite(grid)])
    lim = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    image = ax.imshow(grid, cmap="RdYlGn", aspect="auto", origin="lower", vmin=-lim, vmax=lim)
    for i in range(len(ys)):
        for j in range(len(xs)):
            if counts[i, j]:
                ax.text(j, i, f"{grid[i, j]:.4f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(xs)), xs)
    ax.set_yticks(range(len(ys)), ys)
    ax.set(xlabel=report.x, ylabel=report.y or "", title="Mean PnL per session ($)")
    fig.colorbar(image, ax=ax)
    return _png(fig)


def distributions_png(report: SweepReport, top: int = 12) -> str:
    """Base64 PNG: each parameter set's per-session PnL (box and points), best first."""
    from matplotlib.figure import Figure

    cells = report.cells[:top]
    fig = Figure(figsize=(max(6.0, 0.8 * len(cells) + 2), 4.5), layout="constrained")
    ax = fig.subplots()
    data = [np.asarray(c.pnls, dtype=float) / 1e6 for c in cells]
    ax.boxplot(data)
    for k, values in enumerate(data, 1):
        ax.scatter(np.full(len(values), k), values, s=12, color="tab:blue", zorder=3)
    ax.axhline(0, color="grey", lw=0.5)
    # set after boxplot (its own labels are 1..n) and without its version-dependent label args
    ax.set_xticks(range(1, len(cells) + 1))
    ax.set_xticklabels([_label(c.params) for c in cells], rotation=30, ha="right", fontsize=8)
    ax.set(ylabel="PnL per session ($)", title="Per-session PnL by parameter set (best first)")
    return _png(fig)


def render_html(report: SweepReport) -> str:
    """The report page (self-contained: the plots are embedded PNGs)."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in HEADERS)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>"
        for row in leaderboard_rows(report)
    )
    warnings = "".join(f'<p class="warn">WARNING: {e(w)}</p>' for w in report.warnings)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sweep {e(report.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
td,th{{padding:2px 8px;text-align:left}} .warn{{color:#a40;font-weight:bold}}
img{{max-width:100%}}</style></head><body>
<h1>sweep {e(report.name)}</h1>
<p>Mean PnL per session with a 95 % bootstrap interval over sessions; best first.</p>
{warnings}
<table><tr>{head}</tr>{body}</table>
<h2>PnL heatmap: {e(report.x or "-")} × {e(report.y or "-")}</h2>
<img alt="heatmap" src="data:image/png;base64,{heatmap_png(report)}">
<h2>Per-session PnL</h2>
<img alt="distributions" src="data:image/png;base64,{distributions_png(report)}">
</body></html>
"""
