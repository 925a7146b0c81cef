"""The daily report: one UTC day of shadow/live runs as markdown, HTML and PNG plots.

Numbers come from the ``daily_*.sql`` files; this module only renders them.
Writes ``reports/daily/<D>.md``, ``reports/daily/<D>.html`` and the plots
under ``reports/daily/<D>/`` (PnL curve, opportunities and fills, latency
distribution, alerts, uptime).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
from matplotlib.figure import Figure

from polyarb.analytics.promotion import run_sql
from polyarb.analytics.views import connect
from polyarb.units import format_fixed

NS = 1_000_000_000
DEFAULT_MODES = ("shadow", "live")
PLOTS = ("pnl", "activity", "latency", "alerts", "uptime")


@dataclass
class DailyReport:
    """What :func:`write_daily` produced and the numbers it printed."""

    date: dt.date
    markdown: Path
    html: Path
    plots: dict[str, Path]
    summary: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    window_h: tuple[int, int] = (0, 24)
    """The hours of the day (UTC, [from, to)) the time axes show: where there was activity."""


def day_bounds(date: dt.date) -> tuple[int, int]:
    start = int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp()) * NS
    return start, start + 86_400 * NS


def latest_day(con: duckdb.DuckDBPyConnection, modes: tuple[str, ...]) -> dt.date | None:
    """The UTC date of the newest run data in ``modes`` (None when there is none)."""
    row = con.execute(
        "SELECT max(last_recv_ns - 1) FROM runs WHERE list_contains($modes, mode)",
        {"modes": list(modes)},
    ).fetchone()
    if not row or row[0] is None:
        return None
    return dt.datetime.fromtimestamp(row[0] // NS, dt.UTC).date()


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _usd(micro: int) -> str:
    text = format_fixed(int(micro))
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} ms"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} %"


def summary_lines(s: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric, value) rows of the report's headline table."""
    fill_rate = 100.0 * s["filled_orders"] / s["orders"] if s["orders"] else None
    return [
        ("runs", _count(s["runs"], "runs")),
        ("PnL (realised + marked)", _usd(s["pnl"])),
        ("opportunities", _count(s["opportunities"], "opportunities")),
        ("orders", _count(s["orders"], "orders")),
        ("filled orders", _count(s["filled_orders"], "orders")),
        ("fill rate", _pct(fill_rate)),
        ("fills", _count(s["fills"], "fills")),
        ("fees", _usd(s["fees"])),
        ("latency p50", _ms(s["latency_p50_ms"])),
        ("latency p95", _ms(s["latency_p95_ms"])),
        ("latency p99", _ms(s["latency_p99_ms"])),
        ("uptime (WebSocket connected)", _pct(s["uptime_pct"])),
        ("alerts fired CRITICAL", _count(s["alerts_critical"], "alerts")),
        ("alerts fired WARNING", _count(s["alerts_warning"], "alerts")),
        ("alerts fired INFO", _count(s["alerts_info"], "alerts")),
    ]


def _count(n: int, unit: str) -> str:
    """A count with what it counts (a bare number in a report invites misreading)."""
    return f"{int(n):,} {unit}"


def activity_window(
    hourly: list[dict[str, Any]],
    curve: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    start: int,
) -> tuple[int, int]:
    """Whole UTC hours ``[from, to)`` covering every run hour, PnL row and alert of the day.

    The time axes show this window, not 0-24 h: a two-hour shadow run drawn on a 24-hour
    axis is a sliver nobody can read. A day without activity keeps the whole day."""
    points: list[float] = []
    for r in hourly:
        busy = r["opportunities"] or r["orders"] or r["fills"] or r["uptime_pct"] is not None
        if busy:
            points += [float(r["hour"]), float(r["hour"]) + 1]
    points += _hours([r["ts_ns"] for r in curve], start)
    points += _hours([a["ts_ns"] for a in alerts], start)
    if not points:
        return (0, 24)
    lo = max(0, min(23, math.floor(min(points))))
    hi = min(24, max(lo + 1, math.ceil(max(points))))
    return (lo, hi)


def _hours(ts_ns: list[int], start: int) -> list[float]:
    return [(t - start) / 3600e9 for t in ts_ns]


def _hour_axis(ax: Any, window: tuple[int, int], *, bars: bool = False) -> None:
    lo, hi = window
    pad = 0.5 if bars else 0.0  # bars sit on whole hours: keep the first and last whole
    ax.set_xlim(lo - pad, hi - (1 - pad if bars else 0))
    step = 1 if hi - lo <= 12 else 2
    ax.set_xticks(range(lo, hi + (0 if bars else 1), step))
    ax.set_xlabel("hour of the day (UTC, h)")


def _plot_pnl(path: Path, curve: list[dict[str, Any]], start: int, window: tuple[int, int]) -> None:
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    if curve:
        xs = _hours([r["ts_ns"] for r in curve], start)
        ys = [r["cum_pnl"] / 1e6 for r in curve]
        ax.step([float(window[0]), *xs], [0.0, *ys], where="post", color="tab:blue")
    else:
        ax.text(0.5, 0.5, "no PnL rows", transform=ax.transAxes, ha="center")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(ylabel="PnL ($)", title="Cumulative PnL")
    _hour_axis(ax, window)
    fig.savefig(path, dpi=100)


def _plot_activity(path: Path, hourly: list[dict[str, Any]], window: tuple[int, int]) -> None:
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    hours = [r["hour"] for r in hourly]
    w = 0.28
    ax.bar([h - w for h in hours], [r["opportunities"] for r in hourly], w, label="opportunities")
    ax.bar(hours, [r["orders"] for r in hourly], w, label="orders")
    ax.bar([h + w for h in hours], [r["fills"] for r in hourly], w, label="fills")
    ax.set(ylabel="count per hour", title="Opportunities, orders and fills")
    _hour_axis(ax, window, bars=True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    fig.savefig(path, dpi=100)


def _plot_latency(path: Path, bins: list[dict[str, Any]], s: dict[str, Any]) -> None:
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    if bins:
        lefts = [10 ** b["log10_ms"] for b in bins]
        widths = [10 ** (b["log10_ms"] + 0.05) - 10 ** b["log10_ms"] for b in bins]
        ax.bar(lefts, [b["n"] for b in bins], widths, align="edge", color="tab:purple")
        ax.set_xscale("log")
        for q, style in (("latency_p50_ms", ":"), ("latency_p95_ms", "--")):
            if s[q] is not None:
                ax.axvline(s[q], color="black", ls=style, label=f"{q[8:11]} {s[q]:.1f} ms")
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no latency samples", transform=ax.transAxes, ha="center")
    ax.set(xlabel="receive → decision (ms)", ylabel="frames", title="Latency distribution")
    fig.savefig(path, dpi=100)


_LEVEL_Y = {"CRITICAL": 2, "WARNING": 1, "INFO": 0}
_LEVEL_COLOUR = {"CRITICAL": "tab:red", "WARNING": "tab:orange", "INFO": "tab:grey"}


def _plot_alerts(
    path: Path, alerts: list[dict[str, Any]], start: int, window: tuple[int, int]
) -> Figure:
    fig = Figure(figsize=(8, 2.6), layout="constrained")
    ax = fig.subplots()
    for level, y in _LEVEL_Y.items():
        for state, marker in (("fired", "v"), ("cleared", "^")):
            xs = [
                (a["ts_ns"] - start) / 3600e9
                for a in alerts
                if a["level"] == level and a["state"] == state
            ]
            if xs:
                ax.scatter(
                    xs,
                    [y] * len(xs),
                    marker=marker,
                    color=_LEVEL_COLOUR[level],
                    label=f"{level} {state}",
                )
    if alerts:
        # Beside the axes, never over them: a legend inside covered the markers it explains.
        ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set(ylim=(-0.5, 2.5), title="Alerts (▼ fired, ▲ cleared)")
    _hour_axis(ax, window)
    ax.set_yticks(list(_LEVEL_Y.values()), list(_LEVEL_Y))
    fig.savefig(path, dpi=100)
    return fig


def _plot_uptime(path: Path, hourly: list[dict[str, Any]], window: tuple[int, int]) -> None:
    fig = Figure(figsize=(8, 2.6), layout="constrained")
    ax = fig.subplots()
    hours = [r["hour"] for r in hourly if r["uptime_pct"] is not None]
    ax.bar(
        hours, [r["uptime_pct"] for r in hourly if r["uptime_pct"] is not None], color="tab:green"
    )
    ax.set(ylim=(0, 101), ylabel="% of the hour", title="Uptime: WebSocket connected")
    _hour_axis(ax, window, bars=True)
    fig.savefig(path, dpi=100)


def _alert_table(alerts: list[dict[str, Any]]) -> list[tuple[str, str, int, int]]:
    counts: dict[tuple[str, str], list[int]] = {}
    for a in alerts:
        c = counts.setdefault((a["level"], a["rule"]), [0, 0])
        c[0 if a["state"] == "fired" else 1] += 1
    order = sorted(counts, key=lambda k: (_LEVEL_Y.get(k[0], 9) * -1, k[1]))
    return [(lvl, rule, counts[(lvl, rule)][0], counts[(lvl, rule)][1]) for lvl, rule in order]


def write_daily(
    recordings: Path | str,
    reports: Path | str,
    date: dt.date | None = None,
    *,
    modes: tuple[str, ...] = DEFAULT_MODES,
    con: duckdb.DuckDBPyConnection | None = None,
) -> DailyReport:
    """Write the report of ``date`` (default: the newest day with run data)."""
    con = con or connect(recordings, reports)
    # No runs of these modes at all is nothing to report, with or without a date; a day
    # without runs among days with them still gets its report (the outage shows in it).
    latest = latest_day(con, modes)
    if latest is None:
        raise ValueError(f"no {'/'.join(modes)} runs under {recordings}: nothing to report")
    date = date or latest
    start, end = day_bounds(date)
    params = {"day_start": start, "day_end": end, "modes": list(modes)}
    run_sql(con, "daily_runs", params)
    runs = _rows(con.execute("SELECT * FROM day_runs ORDER BY session_id, run_id"))
    summary = _rows(run_sql(con, "daily_summary", params))[0]
    curve = _rows(run_sql(con, "daily_pnl_curve", params))
    hourly = _rows(run_sql(con, "daily_hourly", params))
    bins = _rows(run_sql(con, "daily_latency", params))
    alerts = _rows(run_sql(con, "daily_alerts", params))

    out = Path(reports) / "daily"
    img_dir = out / date.isoformat()
    img_dir.mkdir(parents=True, exist_ok=True)
    plots = {name: img_dir / f"{name}.png" for name in PLOTS}
    window = activity_window(hourly, curve, alerts, start)
    _plot_pnl(plots["pnl"], curve, start, window)
    _plot_activity(plots["activity"], hourly, window)
    _plot_latency(plots["latency"], bins, summary)
    _plot_alerts(plots["alerts"], alerts, start, window)
    _plot_uptime(plots["uptime"], hourly, window)

    rows = summary_lines(summary)
    alert_rows = _alert_table(alerts)
    title = f"Daily report {date.isoformat()} (UTC)"
    scope = f"{len(runs)} {'/'.join(modes)} run(s) under `{recordings}`"
    md = [f"# {title}", "", scope, "", "| metric | value |", "|---|---|"]
    md += [f"| {k} | {v} |" for k, v in rows]
    md += ["", "## Alerts", ""]
    if alert_rows:
        md += ["| level | rule | fired (times) | cleared (times) |", "|---|---|---|---|"]
        md += [f"| {lvl} | {rule} | {f} | {c} |" for lvl, rule, f, c in alert_rows]
    else:
        md.append("No alerts.")
    md += [
        "",
        "## Runs",
        "",
        "| session | run | mode | profile | PnL ($) |",
        "|---|---|---|---|---|",
    ]
    md += [
        f"| {r['session_id']} | {r['run_id']} | {r['mode']} | {r['profile_name'] or '-'} | "
        f"{_usd(r['day_pnl'])} |"
        for r in runs
    ]
    md += ["", "## Plots", ""]
    md += [f"![{name}]({date.isoformat()}/{name}.png)" for name in PLOTS]
    md_path = out / f"{date.isoformat()}.md"
    md_path.write_text("\n".join(md) + "\n")

    e = html.escape
    numbers = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in rows)
    alert_html = (
        "".join(
            f'<tr><td class="level-{e(lvl)}">{e(lvl)}</td><td>{e(rule)}</td>'
            f'<td class="num">{f} times</td><td class="num">{c} times</td></tr>'
            for lvl, rule, f, c in alert_rows
        )
        or '<tr><td colspan=4 class="muted">No alerts.</td></tr>'
    )
    run_html = "".join(
        f"<tr><td>{e(r['session_id'])}</td><td>{e(r['run_id'])}</td><td>{e(r['mode'])}</td>"
        f'<td>{e(r["profile_name"] or "-")}</td><td class="num">{e(_usd(r["day_pnl"]))}</td></tr>'
        for r in runs
    )
    imgs = "".join(
        f'<div class="chart"><img src="{date.isoformat()}/{n}.png" alt="{n}"></div>' for n in PLOTS
    )
    lo, hi = window
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>{dashboard_css()}
.chart {{ margin: .6em 0; }} .chart img {{ display: block; max-width: 100%; }}</style></head><body>
<header><h1>polyarb</h1><span class="muted">{e(title)}</span>
<span class="muted">activity {lo:02d}:00–{hi:02d}:00 UTC</span></header>
<main>
<p class="muted">{e(scope.replace("`", ""))}</p>
<dl class="numbers">{numbers}</dl>
<h2>Alerts</h2><table><thead><tr><th>level</th><th>rule</th><th class="num">fired</th>
<th class="num">cleared</th></tr></thead><tbody>
{alert_html}</tbody></table>
<h2>Runs</h2><table><thead><tr><th>session</th><th>run</th><th>mode</th><th>profile</th>
<th class="num">PnL</th></tr></thead><tbody>
{run_html}</tbody></table>
<h2>Plots</h2>{imgs}
</main>
</body></html>
"""
    html_path = out / f"{date.isoformat()}.html"
    html_path.write_text(page)
    return DailyReport(date, md_path, html_path, plots, summary, runs, window)


def dashboard_css() -> str:
    """The dashboard's stylesheet, so the report reads like the dashboard (a data file of
    the package, read as text: the report does not import the dashboard)."""
    return (resources.files("polyarb") / "dashboard" / "static" / "style.css").read_text()
