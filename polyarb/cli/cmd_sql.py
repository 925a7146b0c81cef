"""``polyarb sql "QUERY"``: ask DuckDB about every session and run (views in docs/analytics.md)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from polyarb.cli.cmd_promote_check import add_reports_arg
from polyarb.cli.common import CliError, add_recordings_arg, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sql",
        help="run SQL over every session and run (DuckDB views)",
        description=(
            "Run a DuckDB query over the views of every session and run under --recordings: "
            "sessions, markets, frames, runs, parity, decisions, orders, fills, pnl, "
            "positions, metrics, alerts, go_no_go. Files are read in place; nothing is "
            "imported. Views exist even when there are no sessions or runs yet (empty)."
        ),
        epilog=(
            "examples:\n"
            '  polyarb sql "SELECT session_id, frames FROM sessions"\n'
            "  polyarb sql --csv \"SELECT * FROM runs WHERE mode = 'shadow'\" > runs.csv\n"
            "  polyarb sql --views            # list views and their columns\n"
            "exit status: 0 ok, 2 bad query or input"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", nargs="?", help="SQL text; '-' reads it from stdin")
    p.add_argument("-f", "--file", type=Path, help="read the query from a .sql file")
    add_recordings_arg(p)
    add_reports_arg(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="print CSV (all rows)")
    fmt.add_argument("--json", action="store_true", help="print a JSON array of rows (all rows)")
    p.add_argument(
        "--max-rows", type=positive_int, default=200, help="rows shown in the table (default 200)"
    )
    p.add_argument("--views", action="store_true", help="list the views and their columns")
    p.set_defaults(func=run)


def _query_text(args: argparse.Namespace) -> str:
    if args.file:
        try:
            return str(args.file.read_text())
        except OSError as exc:
            raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    if args.query == "-":
        return sys.stdin.read()
    if args.query:
        return str(args.query)
    raise CliError("no query: pass SQL text, '-' for stdin, --file FILE, or --views")


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    import duckdb

    from polyarb.analytics.views import VIEWS, AnalyticsError, connect

    try:
        con = connect(args.recordings, args.reports)
    except AnalyticsError as exc:
        raise CliError(str(exc)) from None
    if args.views:
        query = (
            "SELECT table_name AS view, string_agg(column_name || ' ' || data_type, ', ' "
            "ORDER BY ordinal_position) AS columns FROM information_schema.columns "
            f"WHERE table_name IN ({', '.join(repr(v) for v in VIEWS)}) GROUP BY 1 ORDER BY 1"
        )
    else:
        query = _query_text(args)
    try:
        rel = con.execute(query)
        columns = [d[0] for d in rel.description or []]
        rows = rel.fetchall() if columns else []
    except duckdb.Error as exc:
        raise CliError(f"query failed: {exc}") from None
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
    elif args.json:
        data = [dict(zip(columns, (_plain(v) for v in row), strict=True)) for row in rows]
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print_table(columns, rows, args.max_rows)
    return 0


def _print_table(columns: list[str], rows: list[tuple[Any, ...]], max_rows: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not columns:
        console.print("ok")
        return
    table = Table(show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows[:max_rows]:
        table.add_row(*("NULL" if v is None else str(_plain(v)) for v in row))
    console.print(table)
    more = f", showing {max_rows} (use --csv or --json for all)" if len(rows) > max_rows else ""
    console.print(f"{len(rows)} row(s){more}")
