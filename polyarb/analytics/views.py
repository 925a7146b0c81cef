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

Nor does one bad file: the macros expand to explicit file lists, and a file
that would fail the whole query (a truncated or foreign Parquet file, text that
is not UTF-8) is left out. Every part, markets table and manifest of a session
whose manifest does not match its folder is left out with it. What was left
out, and why, is the ``damaged`` view (and the ``damaged`` column of
``sessions``), so a damaged session is listed, never silently missing.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

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
    "damaged",
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


_Stamp = tuple[str, int, int, str]
_checked: dict[_Stamp, str | None] = {}
"""File check results by (path, size, mtime): the dashboard redefines views every few
seconds and must not reread every footer each time."""


def _stamp(path: Path, what: str) -> _Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_size, st.st_mtime_ns, what)


def _check_parquet(path: Path, name: str) -> str | None:
    """Why DuckDB could not read ``path`` as ``schema`` (footer, column types), or None."""
    try:
        schema = SCHEMAS[name]
        got = pq.read_schema(str(path))
    except (pa.ArrowException, OSError) as exc:
        return f"not a whole Parquet file: {' '.join(str(exc).split())[:200]}"
    for f in schema:
        index = got.get_field_index(f.name)
        if index < 0 and not f.nullable:  # only nullable columns were ever appended later
            return f"no column {f.name}: not a {name} table"
        if index >= 0 and got.field(index).type not in (f.type, pa.null()):
            return f"column {f.name} is {got.field(index).type}, expected {f.type}"
    return None


def _check_text(path: Path) -> str | None:
    try:
        path.read_bytes().decode("utf-8")
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    return None


def _cached(path: Path, what: str) -> str | None:
    """Why ``path`` cannot be read as ``what`` (a table name, or "text"); None if it can."""
    key = _stamp(path, what)
    if key is None:
        return "vanished while being read"
    if key not in _checked:
        if len(_checked) > 100_000:
            _checked.clear()
        _checked[key] = _check_text(path) if what == "text" else _check_parquet(path, what)
    return _checked[key]


class _Expander:
    def __init__(self, roots: dict[str, Path], damaged: dict[str, str]) -> None:
        self.roots = roots
        self.damaged_sessions = damaged
        self.damaged: list[tuple[str, str, str]] = [
            (sid, (roots["recordings"] / sid / "manifest.json").as_posix(), why)
            for sid, why in sorted(damaged.items())
        ]

    def _glob(self, root: str, pattern: str) -> list[Path]:
        base = self.roots[root]
        # hidden folders (.tmp writes, editors) are never sessions or runs
        found = sorted(
            p
            for p in base.glob(pattern)
            if not any(s.startswith(".") for s in p.relative_to(base).parts)
        )
        if root != "recordings":
            return found
        kept = []
        for p in found:
            rel = p.relative_to(base).parts
            # A damaged session's frames and markets stay out whole; its manifest still
            # names it in `sessions` and its runs (results computed earlier) are judged
            # file by file.
            if rel[0] in self.damaged_sessions and rel[1] in ("frames", "markets.parquet"):
                continue
            kept.append(p)
        return kept

    def _keep(self, root: str, path: Path, why: str | None) -> bool:
        if why is None:
            return True
        base = self.roots[root]
        sid = path.relative_to(base).parts[0] if root == "recordings" else ""
        self.damaged.append((sid, path.as_posix(), why))
        return False

    def parquet(self, m: re.Match[str]) -> str:
        root, table = m.group(1), m.group(3)
        files = [p for p in self._glob(root, m.group(2)) if self._keep(root, p, _cached(p, table))]
        empty = f"(SELECT *, NULL::VARCHAR AS filename FROM _empty_{table})"
        if not files:
            return empty
        listed = ", ".join(_literal(p.as_posix()) for p in files)
        source = f"read_parquet([{listed}], filename = true, union_by_name = true)"
        return f"(SELECT * FROM {source} UNION ALL BY NAME SELECT * FROM {empty})"

    def jsonfiles(self, m: re.Match[str]) -> str:
        root = m.group(1)
        files = [p for p in self._glob(root, m.group(2)) if self._keep(root, p, _cached(p, "text"))]
        if not files:
            return "(SELECT NULL::VARCHAR AS filename, NULL::VARCHAR AS content LIMIT 0)"
        listed = ", ".join(_literal(p.as_posix()) for p in files)
        return f"(SELECT filename, content FROM read_text([{listed}]))"

    def expand(self, sql: str) -> str:
        return _JSONFILES.sub(self.jsonfiles, _PARQUET.sub(self.parquet, sql))


def define_views(
    con: duckdb.DuckDBPyConnection, recordings: Path | str, reports: Path | str | None = None
) -> None:
    """(Re)define every view of :data:`VIEWS` on ``con`` over the files as they are now."""
    from polyarb.recording.reader import scan_sessions

    rec = Path(recordings)
    rep = Path(reports) if reports is not None else Path("reports")
    expander = _Expander({"recordings": rec, "reports": rep}, scan_sessions(rec)[1])
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
    # Filled last: expanding the other views is what finds the damaged files.
    # one row per file: a manifest the session scan refused is also refused as text
    first: dict[tuple[str, str], str] = {}
    for sid, path, why in expander.damaged:
        first.setdefault((sid, path), why)
    rows = sorted((sid, path, why) for (sid, path), why in first.items())
    con.register(
        "_arrow_damaged",
        pa.table(
            {
                "session_id": pa.array([r[0] for r in rows], pa.string()),
                "path": pa.array([r[1] for r in rows], pa.string()),
                "reason": pa.array([r[2] for r in rows], pa.string()),
            }
        ),
    )
    con.execute("CREATE OR REPLACE TABLE _damaged AS SELECT * FROM _arrow_damaged")
    con.unregister("_arrow_damaged")
    statements.insert(0, sql_text("view_damaged"))
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
