"""Issue 18 item 5: one bad file never takes the house down.

Three sessions of a synthetic shadow history are damaged three ways (a truncated
part, a manifest that is not UTF-8, a manifest that is a JSON list). Before the fix
every ``polyarb sql`` query, ``promote-check``, ``report daily``, ``sessions`` and
the dashboard's endpoints failed on any of them; now they answer for the other
sessions and list the bad ones as damaged, with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyarb.cli import main
from polyarb.dashboard.api import Api
from polyarb.testing.history import write_history

DAYS = 5


@pytest.fixture
def damaged(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    recordings = tmp_path / "recordings"
    truths = write_history(recordings, days=DAYS)
    sids = [t.session_id for t in truths]
    part = recordings / sids[0] / "frames" / "part-000000.parquet"
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    (recordings / sids[1] / "manifest.json").write_bytes(b'{"id": "\xff\xfe"}')
    (recordings / sids[2] / "manifest.json").write_text("[1, 2, 3]")
    how = {sids[0]: "part-000000.parquet", sids[1]: "UTF-8", sids[2]: "JSON object"}
    return recordings, tmp_path / "reports", how


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_sql_answers_for_the_others_and_lists_the_damaged(damaged, capsys) -> None:  # type: ignore[no-untyped-def]
    recordings, reports, how = damaged
    base = ["--recordings", str(recordings), "--reports", str(reports), "--json"]
    code, out, err = _main(["sql", "SELECT session_id, damaged FROM sessions", *base], capsys)
    assert code == 0, err
    rows = {r["session_id"]: r["damaged"] for r in json.loads(out)}
    assert len(rows) == DAYS
    for sid, word in how.items():
        assert word in rows[sid], rows[sid]
    assert sum(v is None for v in rows.values()) == DAYS - len(how)
    code, out, err = _main(
        ["sql", "SELECT DISTINCT session_id FROM frames ORDER BY 1", *base], capsys
    )
    assert code == 0, err
    assert {r["session_id"] for r in json.loads(out)} == set(rows) - set(how)
    code, out, _ = _main(["sql", "SELECT session_id, reason FROM damaged", *base], capsys)
    assert {r["session_id"] for r in json.loads(out)} == set(how)


def test_promote_check_counts_a_damaged_session_as_a_defect(damaged, capsys) -> None:  # type: ignore[no-untyped-def]
    recordings, reports, how = damaged
    code, out, err = _main(
        [
            *("promote-check", "--phase", "1", "--json"),
            *("--recordings", str(recordings), "--reports", str(reports)),
        ],
        capsys,
    )
    assert code == 1, err  # NO-GO, not a crash
    gaps = next(c for c in json.loads(out)["criteria"] if c["name"] == "log_gaps")
    assert gaps["verdict"] == "FAIL"
    damaged_sid = next(iter(how))  # the truncated part: its runs are still in scope
    assert f"{damaged_sid}: damaged" in gaps["detail"], gaps


def test_report_daily_and_sessions_still_work(damaged, capsys) -> None:  # type: ignore[no-untyped-def]
    recordings, reports, how = damaged
    code, _, err = _main(
        ["report", "daily", "--recordings", str(recordings), "--reports", str(reports)], capsys
    )
    assert code == 0, err
    code, out, err = _main(["sessions", "--json", "--recordings", str(recordings)], capsys)
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)}
    assert len(rows) == DAYS
    for sid, word in how.items():
        assert word in rows[sid]["damaged"]
    code, out, _ = _main(["sessions", "--recordings", str(recordings)], capsys)
    assert code == 0 and out.count("DAMAGED") == len(how)


def test_every_dashboard_endpoint_answers(damaged) -> None:  # type: ignore[no-untyped-def]
    recordings, reports, how = damaged
    api = Api(recordings, reports)
    health = api.handle("/api/health", {})
    assert health["status"] == "ok"
    sessions = {s["id"]: s for s in api.handle("/api/sessions", {})}
    assert len(sessions) == DAYS
    for sid, word in how.items():
        assert word in sessions[sid]["damaged"]
        one = api.handle(f"/api/sessions/{sid}", {})
        assert word in one["session"]["damaged"]
    good = next(s for s in sessions if s not in how)
    assert api.handle(f"/api/sessions/{good}", {})["session"]["damaged"] is None
    run = api.handle(f"/api/runs/{good}/shadow", {})
    assert run["complete"]
    api.handle(f"/api/runs/{good}/shadow/pnl", {})
    api.handle(f"/api/runs/{good}/shadow/decisions", {"limit": ["5"]})
    api.handle("/api/promotion", {})
    api.handle("/api/go-no-go", {})
