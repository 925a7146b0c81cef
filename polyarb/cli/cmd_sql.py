"""``polyarb sql "QUERY"``: ask DuckDB about every session and run (views in docs/analytics.md)."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from polyarb.cli.cmd_promote_check import add_reports_arg
from polyarb.cli.common import CliError, add_recordings_arg, positive_int

DESCRIPTION = """\
Run a DuckDB query over the views of every session and run under --recordings:
sessions, markets, frames, runs, parity, decisions, orders, fills, pnl, positions,
metrics, alerts, go_no_go, sweeps, damaged. Files are read in place; nothing is imported.
Views exist even when there are no sessions or runs yet (empty). A session whose
files do not match its manifest, or a file DuckDB cannot read, is left out of the
data views and listed in 'damaged' (and in sessions.damaged).

Read-only by default. The query may read files only under --recordings and
--reports (DuckDB: enable_external_access off, allowed_directories those two
folders, lock_configuration on), and only SELECT, EXPLAIN of a SELECT and PIVOT
statements run: COPY ... TO, EXPORT, ATTACH, INSTALL/LOAD, SET, CREATE and every
other statement are refused, so it writes no file anywhere, recordings included.
--allow-write lifts both limits: any statement, any file this user may touch.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sql",
        help="run SQL over every session and run (DuckDB views)",
        description=DESCRIPTION,
        epilog=(
            "examples:\n"
            '  polyarb sql "SELECT session_id, frames FROM sessions"\n'
            "  polyarb sql --csv \"SELECT * FROM runs WHERE mode = 'shadow'\" > runs.csv\n"
            "  polyarb sql --views            # list views and their columns\n"
            "  polyarb sql --allow-write \"COPY (SELECT * FROM runs) TO 'runs.parquet'\"\n"
            "exit status: 0 ok, 2 bad query or input"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("query", nargs="?", help="SQL text; '-' reads it from stdin")
    p.add_argument("-f", "--file", type=Path, help="read the query from a .sql file")
    add_recordings_arg(p, remote_ok=True)
    add_reports_arg(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="print CSV (all rows)")
    fmt.add_argument("--json", action="store_true", help="print a JSON array of rows (all rows)")
    p.add_argument(
        "--max-rows",
        type=positive_int,
        default=200,
        help="rows shown in the table (default 200); the rest are counted, never held",
    )
    p.add_argument("--views", action="store_true", help="list the views and their columns")
    p.add_argument(
        "--allow-write",
        action="store_true",
        help="run any statement with DuckDB's full file access (COPY TO, ATTACH, other folders)",
    )
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


_READ_ONLY = {"SELECT", "EXPLAIN", "MULTI"}  # MULTI: a PIVOT statement
_EXPLAIN = re.compile(r"\s*explain\s+(?:analy[sz]e\s+)?", re.IGNORECASE)
_CHUNK = 4096


def _check_read_only(con: Any, query: str) -> None:
    """Refuse any statement that could write: only SELECT, EXPLAIN SELECT and PIVOT pass."""
    import duckdb

    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise CliError(f"query failed: {' '.join(str(exc).split())}") from None
    for statement in statements:
        kind = statement.type.name
        if kind == "EXPLAIN":
            # EXPLAIN ANALYZE runs what it explains: judge the inner statement instead.
            inner = _EXPLAIN.sub("", statement.query.strip(), count=1)
            inner_kinds = {s.type.name for s in con.extract_statements(inner)} if inner else set()
            if inner_kinds <= {"SELECT", "MULTI"}:
                continue
            kind = f"EXPLAIN of {', '.join(sorted(inner_kinds))}"
        if kind not in _READ_ONLY:
            raise CliError(
                f"query refused: {kind} statements may write; polyarb sql runs SELECT, "
                "EXPLAIN and PIVOT only unless --allow-write is given"
            )


def lock_down(con: Any, folders: list[Path]) -> None:
    """Confine file access to ``folders`` (and below), then lock DuckDB's configuration."""
    allowed: list[str] = []
    for folder in folders:
        for form in (folder.absolute(), folder.resolve()):
            text = form.as_posix().rstrip("/") + "/"
            if text not in allowed:
                allowed.append(text)
    listed = ", ".join("'" + a.replace("'", "''") + "'" for a in allowed)
    con.execute(f"SET allowed_directories = [{listed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def run(args: argparse.Namespace) -> int:
    import duckdb

    from polyarb.analytics.views import VIEWS, AnalyticsError, connect
    from polyarb.recording.storage import StorageError, is_remote, mirror

    recordings = args.recordings
    try:
        if is_remote(recordings):
            recordings = mirror(recordings)  # views read local files: pull (checked) first
        con = connect(recordings, args.reports)
    except (AnalyticsError, StorageError) as exc:
        raise CliError(str(exc)) from None
    if not args.allow_write:
        lock_down(con, [Path(recordings), Path(args.reports)])
    if args.views:
        query = (
            "SELECT table_name AS view, string_agg(column_name || ' ' || data_type, ', ' "
            "ORDER BY ordinal_position) AS columns FROM information_schema.columns "
            f"WHERE table_name IN ({', '.join(repr(v) for v in VIEWS)}) GROUP BY 1 ORDER BY 1"
        )
    else:
        query = _query_text(args)
        if not args.allow_write:
            _check_read_only(con, query)
    try:
        rel = con.execute(query)
        columns = [d[0] for d in rel.description or []]
        chunks = _chunks(rel) if columns else iter(())
        if args.csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(columns)
            for chunk in chunks:
                writer.writerows([[_plain(v) for v in row] for row in chunk])
        elif args.json:
            _write_json(columns, chunks)
        else:
            _print_table(columns, chunks, args.max_rows)
    except duckdb.Error as exc:
        raise CliError(f"query failed: {' '.join(str(exc).split())}") from None
    return 0


def _chunks(rel: Any) -> Iterator[list[tuple[Any, ...]]]:
    """The result in fetchmany chunks: memory holds one chunk, not the whole result."""
    while chunk := rel.fetchmany(_CHUNK):
        yield chunk


def _write_json(columns: list[str], chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    """A JSON array of row objects, written row by row (same text as one json.dump)."""
    out = sys.stdout
    first = True
    for chunk in chunks:
        for row in chunk:
            item = json.dumps(
                dict(zip(columns, (_plain(v) for v in row), strict=True)), indent=2, default=str
            )
            out.write(("[\n" if first else ",\n") + textwrap.indent(item, "  "))
            first = False
    out.write("[]\n" if first else "\n]\n")


def _print_table(
    columns: list[str], chunks: Iterator[list[tuple[Any, ...]]], max_rows: int
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not columns:
        console.print("ok")
        return
    table = Table(show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    total = 0
    for chunk in chunks:
        for row in chunk[: max(0, max_rows - total)]:
            table.add_row(*("NULL" if v is None else str(_plain(v)) for v in row))
        total += len(chunk)
    console.print(table)
    more = f", showing {max_rows} (use --csv or --json for all)" if total > max_rows else ""
    console.print(f"{total} row(s){more}")
