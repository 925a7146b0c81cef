"""A recordings folder with real runs, reports, and a dashboard server thread on 127.0.0.1."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from dashboard_support import BURST, NEGRISK, REPO, SECRET, Data

from polyarb.api import default_profile
from polyarb.cli import main
from polyarb.config.profile import Profile, RiskLimits
from polyarb.dashboard import DashboardServer, make_server
from polyarb.engine import replay
from polyarb.recording.imports.negrisk import import_negrisk
from polyarb.testing.history import Faults, write_checklist, write_history


def _trading_profile() -> Profile:
    # $200 baskets so the neg-risk legs clear the venue minimum and the run has fills
    limits = RiskLimits(
        trade_size_usd=Decimal("200"),
        max_position_per_market_usd=Decimal("1000"),
        max_total_position_usd=Decimal("5000"),
        max_daily_loss_usd=Decimal("100"),
    )
    return Profile(name="trading", detectors=("binary_complete_set", "negrisk_basket"), risk=limits)


@pytest.fixture(scope="session")
def dash_data(
    bundled_recordings: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Data:
    """Both bundled sessions (copied; one replayed), a trading neg-risk replay, two synthetic
    shadow days (one failing parity), a real promote-check report and a go/no-go result."""
    root = tmp_path_factory.mktemp("dashboard")
    recordings = root / "recordings"
    reports = root / "reports"
    # the same copy copy_session makes; that fixture is per test, this data is shared
    for sid in (BURST, "resolvedkit-btc15m"):
        shutil.copytree(bundled_recordings / sid, recordings / sid)
    burst_run = replay(recordings / BURST, default_profile())
    import_negrisk(shared_data, recordings)
    trade_run = replay(recordings / NEGRISK, _trading_profile(), run_id="trading")
    assert trade_run["summary"]["fills"] > 0 and trade_run["summary"]["total_pnl"] != 0
    write_history(recordings, days=2, faults=Faults(parity_fail=True))
    # a run still going: its folder exists but run.json (written last) does not yet
    (recordings / NEGRISK / "runs" / "in-progress").mkdir()
    (recordings / NEGRISK / "runs" / "in-progress" / "run.log").write_text("started\n")
    thresholds = REPO / "profiles" / "promotion.yaml"
    args = ["--recordings", str(recordings), "--reports", str(reports)]
    assert main(["promote-check", "--phase", "1", "--thresholds", str(thresholds), *args]) == 1
    write_checklist(reports, phase=1, status="WARN")
    for leak in (root / ".env", root / "secret.txt", recordings / ".env"):
        leak.write_text(f"POLYARB_PRIVATE_KEY={SECRET}\n")
    return Data(root, recordings, reports, burst_run, trade_run)


@pytest.fixture(scope="session")
def server(dash_data: Data) -> Iterator[DashboardServer]:
    """The dashboard on 127.0.0.1 with an ephemeral port, serving from a thread."""
    srv = make_server(
        "127.0.0.1",
        0,
        dash_data.recordings,
        dash_data.reports,
        max_age_s=0,
        profiles=REPO / "profiles",
    )
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)
