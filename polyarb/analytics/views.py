"""DuckDB views over every session and run under a recordings folder.

The view definitions are the ``view_*.sql`` files beside this module. They
read files in place (Parquet and JSON, nothing is copied) through two macros
this module expands before DuckDB sees the SQL:

* ``PARQUET('recordings:<glob>', <table>)`` - the files matching the glob,
  widened to the full current schema of ``<table>`` (so a column appended
  to the schema later reads as NULL in old files), or an empty relation of
  that schema when nothing matches yet;
* ``JSONFILES('<root>:<glob>')`` - ``read_text`` of the matching files
  (``filename``, ``content``), or an empty relation.

So "no sessions yet" and "no runs yet" give empty views, never an error.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from polyarb.errors import PolyarbError
from polyarb.recording.schema import FRAMES_SCHEMA, MARKETS_SCHEMA
from polyarb.runs.schema import TABLES as RUN_TABLES
from polyarb.sweep.schema import RESULTS as SWEEP_RESULTS

SCHEMAS: dict[str, pa.Schema] = {
    "frames": FRAMES_SCHEMA,
    "markets": MARKETS_SCHEMA,
    **RUN_TABLES,
    "sweeps": SWEEP_RESULTS,
}

VIEWS = (
    "sessions",
    "markets",
    "frames",
    *RUN_TABLES,
    "parity",
    "runs",
    "counted_runs",
    "connected_intervals",
    "run_uptime",
    "go_no_go",
    "sweeps",
)
"""Every view :func:`connect` defines, in definition order."""

_PARQUET = re.compile(r"PARQUET\('(\w+):([^']+)',\s*(\w+)\)")
_JSONFILES = re.compile(r"JSONFILES\('(\w+):([^']+)'\)")


class AnalyticsError(RuntimeError, PolyarbError):
    """Analytics input that cannot be used (a missing folder, an unreadable file, bad SQL)."""


def sql_text(name: str) -> str:
    """The text of ``polyarb/analytics/sql/<name>.sql``."""
    return resources.files("polyarb.analytics").joinpath("sql", f"{name}.sql").read_text()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Expander:
    def __init__(self, roots: dict[str, Path]) -> None:
        self.roots = roots

    def _glob(self, root: str, pattern: str) -> tuple[str, bool]:
        base = self.roots[root]
        # hidden folders (.tmp writes, editors) are never sessions or runs
        matches = [p for p in base.glob(pattern) if not any(s.startswith(".") for s in p.parts)]
        return (base / pattern).as_posix(), bool(matches)

    def parquet(self, m: re.Match[str]) -> str:
        path, found = self._glob(m.group(1), m.group(2))
        empty = f"(SELECT *, NULL::VARCHAR AS filename FROM _empty_{m.group(3)})"
        if not found:
            return empty
        source = f"read_parquet({_literal(path)}, filename = true, union_by_name = true)"
        return f"(SELECT * FROM {source} UNION ALL BY NAME SELECT * FROM {empty})"

    def jsonfiles(self, m: re.Match[str]) -> str:
        path, found = self._glob(m.group(1), m.group(2))
        if not found:
            return "(SELECT NULL::VARCHAR AS filename, NULL::VARCHAR AS content LIMIT 0)"
        return f"(SELECT filename, content FROM read_text({_literal(path)}))"

    def expand(self, sql: str) -> str:
        return _JSONFILES.sub(self.jsonfiles, _PARQUET.sub(self.parquet, sql))


def define_views(
    con: duckdb.DuckDBPyConnection, recordings: Path | str, reports: Path | str | None = None
) -> None:
    """(Re)define every view of :data:`VIEWS` on ``con`` over the files as they are now."""
    rec = Path(recordings)
    rep = Path(reports) if reports is not None else Path("reports")
    expander = _Expander({"recordings": rec, "reports": rep})
    for name, schema in SCHEMAS.items():
        con.register("_arrow_empty", schema.empty_table())
        con.execute(f"CREATE OR REPLACE TABLE _empty_{name} AS SELECT * FROM _arrow_empty")
        con.unregister("_arrow_empty")
    files = ["view_sessions", "view_markets", "view_frames"]
    statements = [expander.expand(sql_text(f)) for f in files]
    template = sql_text("view_run_table")
    statements += [expander.expand(template.replace("@table@", t)) for t in RUN_TABLES]
    statements += [
        expander.expand(sql_text(f))
        for f in ("view_runs", "view_counted_runs", "view_uptime", "view_go_no_go", "view_sweeps")
    ]
    for sql in statements:
        try:
            con.execute(sql)
        except duckdb.Error as exc:
            raise AnalyticsError(f"cannot define views over {rec}: {exc}") from exc


def connect(
    recordings: Path | str,
    reports: Path | str | None = None,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with every view of :data:`VIEWS` defined.

    ``recordings`` holds session folders (it may be empty or missing: the
    views are then empty). ``reports`` is where ``reports/go_no_go/latest.json``
    is looked for (default ``./reports``). Views see the files present at
    connect time; connect again to see runs written since.
    """
    config: dict[str, str | bool | int | float | list[str]] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    define_views(con, recordings, reports)
    return con
