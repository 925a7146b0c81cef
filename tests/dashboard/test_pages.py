"""Issue 15 items 1 and 2: the promised pages, checked in the real headless Chromium with real
data (not only status 200), and the live view over a real `polyarb shadow` process."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dashboard_support import NEGRISK, REPO, Data, request
from test_browser import CHROMIUM, _chromium

from polyarb.alerts.rules import RULES
from polyarb.config.profile import load_profile
from polyarb.dashboard import DashboardServer, make_server
from polyarb.recording import SessionReader

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium missing")


def _dom(url: str, tmp_path: Path) -> str:
    done = _chromium(url, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _rows(dom: str, table_id: str) -> list[str]:
    m = re.search(rf'<table id="{table_id}".*?<tbody>(.*?)</tbody>', dom, re.S)
    assert m, f"no #{table_id} table"
    return re.findall(r"<tr[^>]*>.*?</tr>", m.group(1), re.S)


def _cells(row: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def test_dashboard_html_is_the_home_page_with_market_names(
    server: DashboardServer, dash_data: Data, tmp_path: Path
) -> None:
    """/dashboard.html serves the home page; decisions show the market's question and outcome,
    long ids are shortened with the full id on hover."""
    status, _, _ = request(server, "/dashboard.html")
    assert status == 200
    dom = _dom(f"{server.url}dashboard.html#{NEGRISK}/trading", tmp_path)
    rows = _rows(dom, "decisions")
    assert rows and "no decisions" not in rows[0]
    questions = {m.question for m in SessionReader(dash_data.recordings / NEGRISK).markets()}
    shown = [_cells(r)[2] for r in rows]
    assert any(any(q in s for q in questions) for s in shown), shown[:3]
    full = re.search(r'<abbr class="id" title="([^"]+)">([^<]+)</abbr>', dom)
    assert full and len(full.group(1)) > len(html.unescape(full.group(2)))
    assert 'href="profiles.html"' in dom and 'href="alerts.html"' in dom


def test_profiles_page_validates_every_profile_side_by_side(
    server: DashboardServer, tmp_path: Path
) -> None:
    """/profiles.html lists every profile with valid/phase/mode and highlights differing keys."""
    dom = _dom(f"{server.url}profiles.html", tmp_path)
    files = sorted(
        p
        for p in (REPO / "profiles").glob("*.yaml")
        if not p.name.startswith(("alerts", "promotion"))
    )
    rows = {_cells(r)[0]: _cells(r) for r in _rows(dom, "profiles")}
    assert set(rows) == {p.name for p in files}
    for p in files:
        prof = load_profile(p)
        assert rows[p.name][1:5] == [prof.name, f"phase {prof.phase}", prof.mode, "valid"]
    diff = _rows(dom, "profile-diff")
    size = next(r for r in diff if 'data-key="risk.trade_size_usd"' in r)
    assert 'class="differs"' in size and len(_cells(size)) == len(files) + 1
    assert not any('data-key="name"' not in r and 'class="differs"' not in r for r in diff)


def test_alerts_page_and_state_api(server: DashboardServer, tmp_path: Path) -> None:
    """GET /api/alerts/state and /alerts.html: active alerts across runs with level, since,
    message and run; the last transition per rule; history; every rule of RULES defined."""
    status, _, body = request(server, "/api/alerts/state")
    assert status == 200
    state = json.loads(body)
    assert state["total"] > 0 and state["history"]
    for a in state["active"]:
        assert {"rule", "level", "since_ns", "message", "session_id", "run_id"} <= set(a)
    assert set(state["last_by_rule"]) >= {"CIRCUIT_BREAKER_OPEN", "TRADE_EXECUTED"}
    assert [r["name"] for r in state["rules"]] == [r.NAME for r in RULES]
    dom = _dom(f"{server.url}alerts.html", tmp_path)
    assert len(_rows(dom, "active")) == max(1, len(state["active"]))
    last = {_cells(r)[0]: _cells(r) for r in _rows(dom, "last-by-rule")}
    assert set(last) == set(state["last_by_rule"])
    assert len(_rows(dom, "history")) == len(state["history"])
    rules = {_cells(r)[0]: _cells(r) for r in _rows(dom, "rules")}
    assert set(rules) == {r.NAME for r in RULES}
    assert rules["WS_DISCONNECTED"][1] == "CRITICAL" and "after_ms" in rules["WS_DISCONNECTED"][3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(ready, what: str, timeout_s: float = 90) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_live_view_shows_a_running_shadow_then_a_crashed_one(copy_session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 2: while a real `polyarb shadow` runs, the live view says running with
    frames/s, connections, reconnects, connected %, latency p50/p95/p99, opportunities, orders,
    PnL and alerts from its heartbeat; killed (SIGKILL, no run.json), it says crashed with its
    last heartbeat. Old code: no heartbeat, "running or crashed" for both."""
    source = copy_session("resolvedkit-btc15m")
    recordings = tmp_path / "live"
    recordings.mkdir()
    port = _free_port()
    env = {**os.environ, "POLYARB_RECORDINGS": str(recordings)}
    cmd = [sys.executable, "-m", "polyarb"]
    serve = subprocess.Popen(
        [*cmd, "serve", "--session", str(source), "--port", str(port), "--speed", "20"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    shadow = None
    srv = make_server("127.0.0.1", 0, recordings, tmp_path / "reports", max_age_s=0)
    import threading

    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        _wait(listening, "serve")
        shadow = subprocess.Popen(
            [*cmd, "shadow", "--profile", str(REPO / "profiles/live_shadow_atomic_v1.yaml"),
             "--markets-from", str(source), "--url", f"ws://127.0.0.1:{port}",
             "--session", "live1", "--no-status", "--env", str(tmp_path / "none.env")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        beat = recordings / "live1" / "runs" / "shadow" / "heartbeat.json"

        def beating() -> bool:
            assert shadow is not None and shadow.poll() is None, "shadow exited"
            try:
                data = json.loads(beat.read_text())
            except (OSError, ValueError):
                return False
            return data["frames"] > 0 and data["latency_p50_us"] is not None

        _wait(beating, "a heartbeat with frames")
        dom = _dom(f"{srv.url}dashboard.html", tmp_path)
        (row,) = [r for r in _rows(dom, "live-runs") if 'data-live="live1/shadow"' in r]
        cells = _cells(row)
        assert cells[1] == "running", cells
        assert cells[3].endswith("/s") and cells[4] == "1 / 1 up"
        assert re.fullmatch(r"[\d,]+", cells[5])
        assert cells[6] == "-" or cells[6].endswith(" %")
        assert re.fullmatch(r"[\d.]+ ms / [\d.]+ ms / [\d.]+ ms", cells[7]), cells[7]
        assert re.fullmatch(r"[\d,]+", cells[8]) and re.fullmatch(r"[\d,]+", cells[9])
        assert cells[10].startswith(("$", "-$")) and cells[11]
        shadow.send_signal(signal.SIGKILL)
        shadow.wait(30)
        dom = _dom(f"{srv.url}dashboard.html", tmp_path)
        (row,) = [r for r in _rows(dom, "live-runs") if 'data-live="live1/shadow"' in r]
        cells = _cells(row)
        assert cells[1] == "crashed" and "s ago" in cells[2], cells
        assert not (beat.parent / "run.json").exists()
    finally:
        if shadow is not None and shadow.poll() is None:
            shadow.kill()
            shadow.wait(30)
        serve.terminate()
        serve.wait(30)
        srv.shutdown()
        srv.server_close()
