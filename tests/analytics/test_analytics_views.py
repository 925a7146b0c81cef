"""Views over every session and run, and 'polyarb sql' on top of them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from polyarb.analytics import connect
from polyarb.analytics.views import VIEWS
from polyarb.cli import main
from polyarb.runs.schema import TABLES


def test_every_view_exists_with_no_sessions(tmp_path: Path) -> None:
    con = connect(tmp_path / "missing", tmp_path / "reports")
    for view in VIEWS:
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,), view
    # empty run tables still carry the full schema plus their keys
    cols = [r[0] for r in con.execute("DESCRIBE fills").fetchall()]
    assert cols == ["session_id", "run_id", *TABLES["fills"].names]


def test_sessions_without_runs(bundled_recordings: Path) -> None:
    con = connect(bundled_recordings)
    sessions = dict(con.execute("SELECT session_id, frames FROM sessions").fetchall())
    assert set(sessions) >= {"resolvedkit-btc15m", "crossing-burst-2026-09-29"}
    counted = dict(con.execute("SELECT session_id, count(*) FROM frames GROUP BY 1").fetchall())
    assert counted == sessions  # the frames view reads every sealed part of every session
    assert con.execute(
        "SELECT count(*) FROM markets WHERE session_id = 'resolvedkit-btc15m'"
    ).fetchone() == (18,)


def test_run_tables_match_the_parquet_files(shadow_week: Path) -> None:
    con = connect(shadow_week)
    for table in TABLES:
        files = sorted(shadow_week.glob(f"*/runs/*/{table}.parquet"))
        expected = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (expected,), table
    runs = con.execute(
        "SELECT mode, count(*), bool_and(parity_status = 'PASS') FROM runs GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert runs == [("replay", 7, None), ("shadow", 7, True)]
    one = shadow_week / "shadow-p0-2026-03-02" / "runs" / "shadow"
    info = json.loads((one / "run.json").read_text())
    row = con.execute(
        "SELECT first_recv_ns, last_recv_ns, clean_exit, profile_sha256 FROM runs "
        "WHERE session_id = 'shadow-p0-2026-03-02' AND run_id = 'shadow'"
    ).fetchone()
    assert row == (info["first_recv_ns"], info["last_recv_ns"], True, info["profile_sha256"])


def test_appended_schema_column_reads_as_null(tmp_path: Path, shadow_week: Path) -> None:
    # a file written before a nullable column was appended to the schema has no such column
    import shutil

    import pyarrow as pa

    root = tmp_path / "recordings"
    shutil.copytree(shadow_week / "shadow-p0-2026-03-01", root / "s")
    path = root / "s" / "runs" / "shadow" / "fills.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["simulated"]), path)
    con = connect(root)
    n, nulls = con.execute(
        "SELECT count(*), count(*) - count(simulated) FROM fills WHERE run_id = 'shadow'"
    ).fetchone()
    assert n == table.num_rows and nulls == n
    assert isinstance(table.schema.field("simulated").type, pa.DataType)


def test_sql_table_csv_json(shadow_week: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q = "SELECT run_id, count(*) AS n FROM fills GROUP BY 1 ORDER BY 1"
    base = ["sql", "--recordings", str(shadow_week)]
    assert main([*base, q]) == 0
    table = capsys.readouterr().out
    assert "replay" in table and "shadow" in table and "2 row(s)" in table
    assert main([*base, "--csv", q]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["run_id", "n"] and [r[0] for r in rows[1:]] == ["replay", "shadow"]
    assert main([*base, "--json", q]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["run_id"] for d in data] == ["replay", "shadow"] and data[0]["n"] == int(rows[1][1])


def test_sql_errors_and_views(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["sql", "--recordings", str(tmp_path)]
    assert main([*base, "SELECT * FROM no_such_view"]) == 2
    assert "query failed" in capsys.readouterr().err
    assert main(base) == 2
    assert "no query" in capsys.readouterr().err
    assert main([*base, "--views"]) == 0
    out = capsys.readouterr().out
    for view in ("sessions", "frames", "runs", "metrics", "go_no_go"):
        assert view in out
    assert main([*base, "--json", "SELECT count(*) AS n FROM runs"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 0}]
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT 41 + 1 AS answer")
    assert main([*base, "--csv", "--file", str(sql)]) == 0
    assert capsys.readouterr().out.splitlines() == ["answer", "42"]


def test_uptime_is_connected_time_over_observed_time(tmp_path: Path) -> None:
    """Issue 11 item 15: one 1 s reconnect in 60 s is 98.3 %, not the 67 % of averaging the
    engine's three "connected" change rows (1, 0, 1); every consumer reads run_uptime."""
    import pyarrow as pa

    from polyarb.analytics.promotion import PromotionRules, evaluate

    t0, s = 1_790_000_000 * 10**9, 10**9
    run_dir = tmp_path / "rec" / "sess" / "runs" / "shadow"
    run_dir.mkdir(parents=True)
    run = {"mode": "shadow", "phase": 0, "first_recv_ns": t0, "last_recv_ns": t0 + 60 * s}
    (run_dir / "run.json").write_text(json.dumps(run))
    rows = [(t0, 1), (t0 + 30 * s, 0), (t0 + 31 * s, 1)]
    metrics = pa.Table.from_pylist(
        [
            {"ts_ns": t, "seq": i, "name": "connected", "value": v, "label": ""}
            for i, (t, v) in enumerate(rows)
        ],
        schema=TABLES["metrics"],
    )
    pq.write_table(metrics, run_dir / "metrics.parquet")
    con = connect(tmp_path / "rec", tmp_path / "reports")
    pct, observed, up = con.execute(
        "SELECT connected_pct, observed_ns, connected_ns FROM run_uptime"
    ).fetchone()
    assert (observed, up) == (60 * s, 59 * s)
    assert pct == pytest.approx(100 * 59 / 60)
    result = evaluate(1, PromotionRules(), recordings=tmp_path / "rec", reports=tmp_path / "r")
    crit = next(c for c in result.criteria if c.name == "connected_pct")
    assert crit.value == pytest.approx(100 * 59 / 60) and crit.value >= 98
