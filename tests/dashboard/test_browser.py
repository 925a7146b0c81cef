"""The page in a real headless Chromium: it fetches the API and renders the run's numbers."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import pytest
from dashboard_support import BURST, NEGRISK, Data

from polyarb.dashboard import DashboardServer
from polyarb.units import format_fixed

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium missing: run 'bash scripts/install-system-deps.sh' (make test does)",
)


def _chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # the browser is a subprocess the suite's socket guard cannot see: resolve nothing
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--no-proxy-server",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *extra,
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _text(dom: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</', dom, re.S)
    assert m, f"no #{element_id} in the rendered page"
    return html.unescape(m.group(1)).strip()


def test_page_renders_sessions_run_numbers_curve_and_status(
    server: DashboardServer, dash_data: Data, tmp_path: Path
):
    shot = tmp_path / "dashboard.png"
    url = f"{server.url}#{NEGRISK}/trading"
    done = _chromium(url, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    # sessions table: every session id, filled in by the script (the static page has none)
    for sid in [p.parent.name for p in dash_data.recordings.glob("*/manifest.json")]:
        assert f'data-session="{sid}"' in dom, sid
    assert BURST in dom and dash_data.burst_run["run_id"] in dom
    summary = dash_data.trade_run["summary"]
    assert _text(dom, "run-title") == f"{NEGRISK} / trading"
    assert _text(dom, "n-fills") == f"{summary['fills']:,}"
    assert _text(dom, "n-orders") == f"{summary['orders']:,}"
    assert _text(dom, "n-frames") == f"{summary['frames']:,}"
    assert _text(dom, "n-opportunities_total") == str(summary["opportunities_total"])
    assert _text(dom, "n-alerts_fired") == str(summary["alerts_fired"])
    assert _text(dom, "n-total_pnl") == format_fixed(summary["total_pnl"])
    assert _text(dom, "n-fees") == format_fixed(summary["fees"])
    final = format_fixed(summary["total_pnl"])
    assert _text(dom, "pnl-final").startswith(f"final ${final}" if final[0] != "-" else "final -$")
    # the curve: one SVG vertex per pnl row
    total = re.search(r'<polyline points="([^"]+)"[^>]*class="total"', dom)
    assert total and len(total.group(1).split()) == dash_data.trade_run["counts"]["pnl"]
    assert "TRADE_EXECUTED" in dom  # recent alerts
    assert _text(dom, "parity") == "no parity check"
    assert _text(dom, "promotion-verdict") == "NO-GO"
    assert _text(dom, "go-no-go-status") == "WARN"
    assert "error" not in _text(dom, "health")

    # a screenshot for people (not compared): kept beside the test's tmp folder
    done = _chromium(url, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,900")
    assert done.returncode == 0 and shot.stat().st_size > 10_000


def test_parity_badge_of_a_shadow_run(server: DashboardServer, dash_data: Data, tmp_path: Path):
    failing = next(
        p.parents[2].name
        for p in sorted(dash_data.recordings.glob("shadow-*/runs/shadow/parity.json"))
        if json.loads(p.read_text())["status"] == "FAIL"
    )
    done = _chromium(f"{server.url}#{failing}/shadow", tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _text(done.stdout, "parity") == "parity FAIL"
    assert 'class="badge FAIL"' in done.stdout
