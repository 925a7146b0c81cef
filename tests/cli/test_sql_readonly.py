"""Issue 18 item 8: ``polyarb sql`` is read-only by default; ``--allow-write`` lifts it.

Before the fix any query could ``COPY ... TO`` a file anywhere (recordings
included), ``ATTACH`` a database file, or read any file this user can read, and
``--max-rows`` fetched the whole result before showing 200 rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyarb.cli import main


def _sql(tmp: Path, query: str, *extra: str) -> list[str]:
    rec, rep = tmp / "recordings", tmp / "reports"
    rec.mkdir(exist_ok=True)
    rep.mkdir(exist_ok=True)
    return ["sql", query, "--recordings", str(rec), "--reports", str(rep), *extra]


@pytest.mark.parametrize(
    "query",
    [
        "COPY (SELECT 42 AS x) TO '{rec}/sneaky.csv'",
        "COPY (SELECT 42 AS x) TO '{out}/sneaky.csv'",
        "ATTACH '{rec}/sneaky.db' AS s",
        "EXPORT DATABASE '{rec}/sneaky'",
        "EXPLAIN ANALYZE COPY (SELECT 42) TO '{rec}/sneaky.csv'",
        "SELECT 1; COPY (SELECT 42) TO '{rec}/sneaky.csv'",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ],
)
def test_writes_are_refused_and_nothing_is_written(
    query: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "recordings"
    text = query.format(rec=rec, out=tmp_path)
    assert main(_sql(tmp_path, text)) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "--allow-write" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["recordings", "reports"]


def test_reads_are_confined_to_recordings_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("x\n1\n")
    assert main(_sql(tmp_path, f"SELECT * FROM read_csv('{secret}')")) == 2
    assert "secret.csv" in capsys.readouterr().err
    (tmp_path / "reports" / "mine.csv").write_text("x\n7\n")
    query = f"SELECT * FROM read_csv('{tmp_path}/reports/mine.csv')"
    assert main(_sql(tmp_path, query, "--json")) == 0
    assert json.loads(capsys.readouterr().out) == [{"x": 7}]


def test_allow_write_lifts_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.csv"
    query = f"COPY (SELECT 42 AS x) TO '{target}'"
    assert main(_sql(tmp_path, query, "--allow-write")) == 0
    assert target.read_text().split() == ["x", "42"]


def test_help_says_what_it_may_touch(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sql", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ("Read-only by default", "--recordings and --reports", "--allow-write"):
        assert phrase in text


def test_max_rows_streams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 3M-row result prints 5 rows and the count without fetchall (which is not called)."""
    import duckdb

    calls: list[str] = []
    real = duckdb.DuckDBPyConnection.fetchall

    def spy(self: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
        calls.append("fetchall")
        return real(self)

    duckdb.DuckDBPyConnection.fetchall = spy  # type: ignore[method-assign]
    try:
        code = main(_sql(tmp_path, "SELECT range AS n FROM range(3000000)", "--max-rows", "5"))
    finally:
        duckdb.DuckDBPyConnection.fetchall = real  # type: ignore[method-assign]
    out = capsys.readouterr().out
    assert code == 0
    assert "3000000 row(s), showing 5" in out
    assert calls == []
