"""The JSON API against a real server thread: numbers equal the run's files; errors are clean."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dashboard_support import BURST, NEGRISK, SECRET, Data, get_json, request

from polyarb import __version__
from polyarb.dashboard import DashboardServer, make_server
from polyarb.units import format_fixed


def _table(data: Data, session: str, run: str, name: str) -> list[dict]:
    return pq.read_table(data.recordings / session / "runs" / run / f"{name}.parquet").to_pylist()


def test_health_counts_sessions_and_completed_runs(server: DashboardServer, dash_data: Data):
    h = get_json(server, "/api/health")
    assert h["version"] == __version__
    assert h["recordings"] == str(dash_data.recordings.resolve())
    manifests = list(dash_data.recordings.glob("*/manifest.json"))
    assert h["sessions"] == len(manifests) == 5
    assert h["runs"] == len(list(dash_data.recordings.glob("*/runs/*/run.json")))


def test_sessions_match_their_manifests_and_run_folders(server: DashboardServer, dash_data: Data):
    rows = {r["id"]: r for r in get_json(server, "/api/sessions")}
    assert set(rows) == {p.parent.name for p in dash_data.recordings.glob("*/manifest.json")}
    for sid, row in rows.items():
        manifest = json.loads((dash_data.recordings / sid / "manifest.json").read_text())
        assert row["frames"] == manifest["frames"]
        assert row["assets"] == len(manifest["assets"])
        assert row["markets"] == manifest["markets"]
        assert row["sealed"] == manifest["sealed"]
        assert row["start_ns"] == manifest["start_ns"]
        runs = sorted(p.name for p in (dash_data.recordings / sid / "runs").glob("*"))
        assert [r["run_id"] for r in row["runs"]] == runs
    burst = rows[BURST]["runs"][0]
    assert burst["run_id"] == dash_data.burst_run["run_id"] and burst["complete"]
    negrisk = {r["run_id"]: r for r in rows[NEGRISK]["runs"]}
    assert negrisk["in-progress"] == {"run_id": "in-progress", "complete": False}
    total = dash_data.trade_run["summary"]["total_pnl"]
    assert negrisk["trading"]["total_pnl"] == total
    assert negrisk["trading"]["total_pnl_usd"] == format_fixed(total)
    assert rows["resolvedkit-btc15m"]["runs"] == []


def test_session_detail(server: DashboardServer, dash_data: Data):
    got = get_json(server, f"/api/sessions/{NEGRISK}")
    manifest = json.loads((dash_data.recordings / NEGRISK / "manifest.json").read_text())
    assert got["manifest"]["frames"] == manifest["frames"]
    assert got["manifest"]["assets"] == len(manifest["assets"])
    assert len(got["markets"]) == manifest["markets"]
    assert {r["run_id"] for r in got["session"]["runs"]} == {"trading", "in-progress"}


@pytest.mark.parametrize("which", ["burst_run", "trade_run"])
def test_run_numbers_equal_run_json_and_parquet(
    server: DashboardServer, dash_data: Data, which: str
):
    want = getattr(dash_data, which)
    sid, rid = want["session_id"], want["run_id"]
    got = get_json(server, f"/api/runs/{sid}/{rid}")
    on_disk = json.loads((dash_data.recordings / sid / "runs" / rid / "run.json").read_text())
    assert got["run_json"] == on_disk
    assert on_disk["summary"] == want.summary.to_dict()
    assert got["complete"] is True
    summary = on_disk["summary"]
    for key in ("frames", "opportunities_total", "orders", "fills", "alerts_fired", "halts"):
        assert got["numbers"][key] == summary[key], key
    for key in ("fees", "realised_pnl", "marked_pnl", "total_pnl"):
        assert got["numbers"][key] == summary[key], key
        assert got["formatted"][key] == format_fixed(summary[key]), key
    assert got["numbers"]["fills"] == len(_table(dash_data, sid, rid, "fills"))
    assert got["numbers"]["frames"] == on_disk["frames"]


def test_trading_run_has_real_activity(server: DashboardServer, dash_data: Data):
    # guards the other tests against passing on all-zero numbers
    got = get_json(server, f"/api/runs/{NEGRISK}/trading")
    assert got["numbers"]["fills"] > 0 and got["numbers"]["orders"] > 0
    assert got["numbers"]["total_pnl"] != 0 and got["numbers"]["alerts_fired"] > 0


def test_pnl_curve_equals_the_pnl_table(server: DashboardServer, dash_data: Data):
    got = get_json(server, f"/api/runs/{NEGRISK}/trading/pnl")
    rows = _table(dash_data, NEGRISK, "trading", "pnl")
    want = [
        {
            "ts_ns": r["ts_ns"],
            "seq": r["seq"],
            "realised": r["realised_pnl"],
            "marked": r["marked_pnl"],
            "total": r["realised_pnl"] + r["marked_pnl"],
        }
        for r in rows
    ]
    assert got["points"] == want and got["rows"] == len(rows) > 1
    final = dash_data.trade_run["summary"]["total_pnl"]
    assert got["points"][-1]["total"] == final
    assert got["final_usd"] == format_fixed(final)
    span = [0, *(p["total"] for p in want), *(p["realised"] for p in want)]
    assert got["max_usd"] == format_fixed(max(span)) and got["min_usd"] == format_fixed(min(span))


def test_pnl_curve_is_thinned_keeping_both_ends(server: DashboardServer, dash_data: Data):
    full = get_json(server, f"/api/runs/{NEGRISK}/trading/pnl")["points"]
    got = get_json(server, f"/api/runs/{NEGRISK}/trading/pnl?max_points=4")["points"]
    assert len(got) == 4 < len(full)
    assert got[0] == full[0] and got[-1] == full[-1]


def test_alerts_equal_the_alerts_table(server: DashboardServer, dash_data: Data):
    got = get_json(server, f"/api/runs/{NEGRISK}/trading/alerts")
    rows = _table(dash_data, NEGRISK, "trading", "alerts")
    assert got["alerts"] == rows and got["total"] == len(rows) > 0
    last = {r["rule"]: r["state"] for r in rows}
    assert got["active"] == sorted(k for k, v in last.items() if v == "fired")
    two = get_json(server, f"/api/runs/{NEGRISK}/trading/alerts?limit=2")
    assert two["alerts"] == rows[-2:] and two["total"] == len(rows)


def test_decisions_are_the_newest_n_in_decision_order(server: DashboardServer, dash_data: Data):
    rows = _table(dash_data, NEGRISK, "trading", "decisions")
    got = get_json(server, f"/api/runs/{NEGRISK}/trading/decisions?limit=3")
    assert got["total"] == len(rows) > 3
    # Each row also names its market (issue 15 item 2): the table's columns plus market_name.
    assert all(d.pop("market_name") for d in got["decisions"])
    assert got["decisions"] == rows[-3:]
    every = get_json(server, f"/api/runs/{NEGRISK}/trading/decisions?limit=10000")
    for d in every["decisions"]:
        d.pop("market_name")
    assert every["decisions"] == rows


def test_shadow_runs_carry_parity(server: DashboardServer, dash_data: Data):
    statuses = {}
    for folder in sorted(dash_data.recordings.glob("shadow-*/runs/shadow")):
        sid = folder.parent.parent.name
        got = get_json(server, f"/api/runs/{sid}/shadow")
        assert got["parity"] == json.loads((folder / "parity.json").read_text())
        statuses[sid] = got["parity_status"]
    assert sorted(statuses.values()) == ["FAIL", "PASS"]  # Faults(parity_fail) hits one day


def test_incomplete_run_is_served_as_incomplete(server: DashboardServer):
    got = get_json(server, f"/api/runs/{NEGRISK}/in-progress")
    assert got["complete"] is False and got["run_json"] is None
    assert got["numbers"]["fills"] is None
    assert get_json(server, f"/api/runs/{NEGRISK}/in-progress/pnl")["points"] == []


def test_promotion_and_go_no_go_are_the_latest_reports(server: DashboardServer, dash_data: Data):
    promo = get_json(server, "/api/promotion")
    latest = dash_data.reports / "promotion" / "latest.json"
    assert promo["present"] and promo["report"] == json.loads(latest.read_text())
    assert promo["report"]["verdict"] == "NO-GO"
    gng = get_json(server, "/api/go-no-go")
    on_disk = json.loads((dash_data.reports / "go_no_go" / "latest.json").read_text())
    assert gng["present"] and gng["status"] == on_disk["status"] == "WARN"
    assert gng["phase"] == 1 and gng["checks"] == on_disk["checks"]


def test_missing_reports_are_reported_absent(tmp_path: Path):
    srv = make_server("127.0.0.1", 0, tmp_path / "none", tmp_path / "none")
    try:
        assert srv.api.promotion()["present"] is False
        assert srv.api.go_no_go()["present"] is False
        assert srv.api.sessions() == [] and srv.api.health()["sessions"] == 0
    finally:
        srv.server_close()


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/api/sessions/no-such-session", 404, "no session 'no-such-session'"),
        (f"/api/runs/{NEGRISK}/no-such-run", 404, "no run 'no-such-run'"),
        (f"/api/runs/{NEGRISK}/no-such-run/pnl", 404, "no run"),
        ("/api/runs/no-such-session/x/alerts", 404, "no session"),
        ("/api/nothing", 404, "no such endpoint"),
        ("/nothing.html", 404, "not found"),
        (f"/api/runs/{NEGRISK}/trading/decisions?limit=0", 400, "limit must be"),
        (f"/api/runs/{NEGRISK}/trading/decisions?limit=x", 400, "limit must be"),
        (f"/api/runs/{NEGRISK}/trading/decisions?limit=10001", 400, "limit must be"),
        # issue 18: a Unicode digit passes str.isdigit() but not int(): 400, not a 500
        (f"/api/runs/{NEGRISK}/trading/decisions?limit=%C2%B2", 400, "limit must be"),
        (f"/api/runs/{NEGRISK}/trading/pnl?max_points=%D9%A3", 400, "max_points must be"),
    ],
)
def test_unknown_things_and_bad_arguments(
    server: DashboardServer, path: str, status: int, needle: str
):
    body = get_json(server, path, status)
    assert needle in body["error"] and body["status"] == status


@pytest.mark.parametrize(
    "path",
    [
        "/api/sessions/..",
        "/api/sessions/%2e%2e",
        "/api/sessions/..%2F..%2Fsecret.txt",
        "/api/sessions/%2Fetc%2Fpasswd",
        "/api/sessions/.env",
        f"/api/runs/{NEGRISK}/..%2F..%2F..%2Fsecret.txt",
        f"/api/runs/{NEGRISK}/%2e%2e/pnl",
        "/api/runs/..%2F..%2Fetc/passwd/pnl",
    ],
)
def test_traversal_is_refused(server: DashboardServer, path: str):
    status, _, body = request(server, path)
    assert status == 400, body
    assert b"invalid" in body and SECRET.encode() not in body


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/../../.env", "/static/../../secret.txt", "/%2e%2e/secret.txt"]
)
def test_static_paths_never_reach_the_disk(server: DashboardServer, path: str):
    status, _, body = request(server, path)
    assert status == 404 and SECRET.encode() not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_only_get_is_allowed(server: DashboardServer, method: str):
    status, headers, body = request(server, "/api/health", method)
    assert status == 405 and headers["Allow"] == "GET"
    if method != "HEAD":
        assert "read-only" in json.loads(body)["error"]


def test_foreign_host_header_is_refused(server: DashboardServer):
    # what a DNS-rebinding page would send; the connection itself still goes to 127.0.0.1
    status, _, body = request(server, "/api/health", headers={"Host": "attacker.example:8083"})
    assert status == 403 and b"not allowed" in body
    ok, _, _ = request(server, "/api/health", headers={"Host": f"localhost:{server.port}"})
    assert ok == 200


def test_page_and_assets_are_served_with_a_strict_policy(server: DashboardServer):
    status, headers, body = request(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'<script src="app.js">' in body and b"http" not in body.replace(b"http-equiv", b"")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, headers, js = request(server, "/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b"/api/sessions" in js and b"innerHTML" not in js
    status, headers, _ = request(server, "/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")


def test_no_response_ever_contains_a_secret(server: DashboardServer, dash_data: Data):
    paths = [
        "/api/health",
        "/api/sessions",
        f"/api/sessions/{NEGRISK}",
        f"/api/runs/{NEGRISK}/trading",
        "/api/promotion",
        "/api/go-no-go",
    ]
    for path in paths:
        status, _, body = request(server, path)
        assert status == 200 and SECRET.encode() not in body, path
