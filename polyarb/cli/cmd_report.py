"""``polyarb report daily``: one UTC day of shadow/live runs as markdown, HTML and plots."""

from __future__ import annotations

import argparse
import datetime as dt

from polyarb.cli.cmd_promote_check import add_reports_arg
from polyarb.cli.common import CliError, add_recordings_arg, print_json


def _date(text: str) -> dt.date:
    today = dt.datetime.now(dt.UTC).date()
    if text == "today":
        return today
    if text == "yesterday":
        return today - dt.timedelta(days=1)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use YYYY-MM-DD, today or yesterday)"
        ) from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write reports (daily: PnL, fills, latency, alerts, uptime)",
        description="Write reports from the runs under --recordings.",
    )
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    d = kinds.add_parser(
        "daily",
        help="one UTC day: REPORTS/daily/D.md, D.html and plots in REPORTS/daily/D/",
        description=(
            "Summarise one UTC day of runs (shadow and live by default): PnL (realised + "
            "marked), opportunities, orders, fills and fill rate, latency p50/p95/p99, "
            "uptime and alerts. Writes REPORTS/daily/D.md, REPORTS/daily/D.html and PNG "
            "plots (pnl, activity, latency, alerts, uptime) under REPORTS/daily/D/."
        ),
        epilog=(
            "Exit status: 0 written (a day without runs gets a report showing the gap), 2 bad "
            "input or nothing to report (no runs of the chosen modes under --recordings)."
        ),
    )
    d.add_argument(
        "--date",
        type=_date,
        help="YYYY-MM-DD, today or yesterday (UTC; default: the newest day with run data)",
    )
    d.add_argument(
        "--mode",
        action="append",
        choices=("shadow", "live", "replay"),
        help="run modes to include (repeatable; default: shadow and live)",
    )
    d.add_argument("--json", action="store_true", help="print the numbers and paths as JSON")
    add_recordings_arg(d)
    add_reports_arg(d)
    d.set_defaults(func=run_daily)
    p.set_defaults(func=lambda args: _no_kind(p))


def _no_kind(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_daily(args: argparse.Namespace) -> int:
    from polyarb.analytics.report import DEFAULT_MODES, write_daily
    from polyarb.analytics.views import AnalyticsError

    if not args.recordings.is_dir():
        raise CliError(f"recordings folder {args.recordings} does not exist")
    modes = tuple(args.mode) if args.mode else DEFAULT_MODES
    try:
        rep = write_daily(args.recordings, args.reports, args.date, modes=modes)
    except (ValueError, AnalyticsError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write the report under {args.reports}: {exc}") from None
    if args.json:
        print_json(
            {
                "date": rep.date.isoformat(),
                "markdown": str(rep.markdown),
                "html": str(rep.html),
                "plots": {k: str(v) for k, v in rep.plots.items()},
                "summary": rep.summary,
                "window_h": list(rep.window_h),
            }
        )
    else:
        print(f"daily report {rep.date}: {len(rep.runs)} run(s)")
        print(f"  {rep.markdown}\n  {rep.html}")
    return 0
