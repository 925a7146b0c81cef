"""``polyarb promote-check --phase N``: may the strategy enter phase N? (docs/analytics.md §promote-check)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

from polyarb.cli.common import CliError, add_recordings_arg, print_json

if TYPE_CHECKING:
    from polyarb.analytics.promotion import PromotionResult

DEFAULT_THRESHOLDS = Path("profiles") / "promotion.yaml"


def add_reports_arg(parser: argparse.ArgumentParser) -> None:
    """``--reports DIR`` (default ``$POLYARB_REPORTS`` or ``./reports``)."""
    parser.add_argument(
        "--reports",
        type=Path,
        default=Path(os.environ.get("POLYARB_REPORTS", "reports")),
        help="reports folder: reads go_no_go/phase<N>.json, writes reports "
        "(default: $POLYARB_REPORTS or ./reports)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "promote-check",
        help="decide whether a strategy may be promoted to the next phase",
        description=(
            "Evaluate the promotion rules for entering --phase N over every run under "
            "--recordings, in DuckDB (SQL files in polyarb/analytics/sql/crit_*.sql). "
            "Phase 1 judges Phase 0 shadow runs: days covered, clean exits, WebSocket "
            "uptime, gapless logs, a circuit-breaker cycle, parity, P95 latency and the "
            "go/no-go checklist. Phase 2 judges Phase 1 live runs (days, no CRITICAL "
            "alert); phase 3 judges Phase 2 live runs (days, no CRITICAL alert, live vs "
            "simulated fill error). Prints each criterion with its measured value, "
            "threshold and verdict, and writes reports/promotion/phase<N>-<date>.md."
        ),
        epilog="Exit status: 0 GO, 1 NO-GO or NO DATA (no run in scope), 2 bad input "
        "(thresholds file, folders).",
    )
    p.add_argument("--phase", type=int, required=True, choices=(1, 2, 3), help="the phase to enter")
    add_recordings_arg(p)
    add_reports_arg(p)
    p.add_argument(
        "--thresholds",
        type=Path,
        default=DEFAULT_THRESHOLDS,
        help=f"promotion rules YAML (default: {DEFAULT_THRESHOLDS})",
    )
    p.add_argument("--profile", help="judge only runs of this profile name (default: all)")
    p.add_argument(
        "--since",
        type=_utc_day,
        metavar="YYYY-MM-DD",
        help="judge only runs that start on or after this UTC day (e.g. the last config change)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-report", action="store_true", help="do not write the markdown report")
    p.set_defaults(func=run)


def _utc_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from polyarb.analytics.promotion import (
        PromotionConfigError,
        evaluate,
        load_rules,
        write_report,
    )
    from polyarb.analytics.views import AnalyticsError

    if not args.thresholds.is_file():
        raise CliError(
            f"no promotion rules at {args.thresholds}: run from the repository root or pass "
            "--thresholds FILE (see profiles/promotion.yaml)"
        )
    if not args.recordings.is_dir():
        raise CliError(f"recordings folder {args.recordings} does not exist")
    try:
        rules = load_rules(args.thresholds)
        result = evaluate(
            args.phase,
            rules,
            recordings=args.recordings,
            reports=args.reports,
            profile=args.profile,
            since=args.since,
        )
    except PromotionConfigError as exc:
        raise CliError(str(exc)) from None
    except AnalyticsError as exc:
        raise CliError(str(exc)) from None
    report = None
    if not args.no_report:
        try:
            report = write_report(result, args.reports)
        except OSError as exc:
            raise CliError(f"cannot write the report under {args.reports}: {exc}") from None
    if args.json:
        print_json({**result.to_json(), "report": str(report) if report else None})
    else:
        _print_table(result, report)
    return 0 if result.go else 1


def _print_table(result: PromotionResult, report: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from polyarb.analytics.promotion import scope_text

    scope = result.scope
    title = (
        f"promote-check: phase {scope['from_phase']} → {result.phase} "
        f"({result.runs} {'/'.join(scope['modes'])} run(s){scope_text(scope)})"
    )
    table = Table(title=title)
    for col in ("criterion", "measured", "threshold", "verdict", "detail"):
        table.add_column(col, overflow="fold", no_wrap=col in ("criterion", "verdict"))
    for c in result.criteria:
        style = "yellow" if c.no_data else "green" if c.ok else "bold red"
        table.add_row(c.name, c.measured, c.threshold, f"[{style}]{c.verdict}[/]", c.detail)
    console = Console()
    console.print(table)
    if result.runs == 0:
        console.print(
            f"[bold yellow]NO DATA[/]: no {'/'.join(scope['modes'])} run in scope for phase "
            f"{result.phase}{scope_text(scope)}; nothing was judged (record shadow runs first)"
        )
    elif result.go:
        console.print(f"[bold green]GO[/]: every criterion for phase {result.phase} passes")
    else:
        console.print(f"[bold red]NO-GO[/]: failed {', '.join(result.failed)}")
    if report:
        console.print(f"report: {report}")
