"""polyarb report daily: files exist, PNGs are real images, numbers match the data written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from polyarb.cli import main
from polyarb.testing.history import Faults, write_history


def _n(value: str) -> int:
    """``"1,234 orders"`` → 1234 (every count in the report carries its unit)."""
    return int(value.split()[0].replace(",", ""))


def _table(md: str) -> dict[str, str]:
    return dict(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", md, flags=re.M))


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("daily")
    truths = write_history(
        root / "recordings", days=2, with_replay=True, faults=Faults(disconnected_pct=7)
    )
    return root, truths


def test_daily_report_files_and_numbers(
    two_days,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    root, truths = two_days
    day = truths[1]  # the second day carries the breaker cycle
    reports = root / "reports"
    code = main(
        [
            "report",
            "daily",
            "--date",
            day.date,
            "--json",
            "--recordings",
            str(root / "recordings"),
            "--reports",
            str(reports),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    md_path = reports / "daily" / f"{day.date}.md"
    html_path = reports / "daily" / f"{day.date}.html"
    assert Path(out["markdown"]) == md_path and md_path.is_file() and html_path.is_file()

    for name in ("pnl", "activity", "latency", "alerts", "uptime"):
        png = reports / "daily" / day.date / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(png) as im:
            im.verify()
        with Image.open(png) as im:
            assert im.size[0] >= 400 and im.size[1] >= 200
            # a real plot, not a blank canvas
            assert len(im.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 10
        assert f"{day.date}/{name}.png" in md_path.read_text()
        assert f'src="{day.date}/{name}.png"' in html_path.read_text()

    table = _table(md_path.read_text())
    # the replay run beside the shadow run is not counted: one shadow run that day
    assert table["runs"] == "1 runs"
    assert table["PnL (realised + marked)"] == f"${day.pnl // 10**6}.{day.pnl % 10**6:06d}".rstrip(
        "0"
    ).rstrip(".")
    assert _n(table["opportunities"]) == day.opportunities
    assert _n(table["orders"]) == day.orders
    assert _n(table["filled orders"]) == day.filled_orders
    assert _n(table["fills"]) == day.fills
    assert table["fill rate"] == f"{100 * day.filled_orders / day.orders:.2f} %"
    assert day.latencies_ns is not None
    for q in (50, 95, 99):
        expected = np.percentile(day.latencies_ns, q) / 1e6
        assert table[f"latency p{q}"] == f"{expected:.1f} ms"
    assert table["uptime (WebSocket connected)"] == f"{100 * day.connected_ticks / day.ticks:.2f} %"
    assert day.connected_ticks < day.ticks  # the fault made some ticks disconnected
    fired = day.alerts_fired
    assert _n(table["alerts fired CRITICAL"]) == fired.get("CRITICAL:CIRCUIT_BREAKER_OPEN", 0) == 1
    assert _n(table["alerts fired INFO"]) == fired.get("INFO:OPPORTUNITY_DETECTED", 0)
    assert "| CRITICAL | CIRCUIT_BREAKER_OPEN | 1 | 1 |" in md_path.read_text()
    assert out["summary"]["pnl"] == day.pnl


def test_default_date_is_the_newest_day_with_runs(
    two_days,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    root, truths = two_days
    args = ["report", "daily", "--json", "--recordings", str(root / "recordings")]
    assert main([*args, "--reports", str(root / "r2")]) == 0
    assert json.loads(capsys.readouterr().out)["date"] == truths[-1].date


def test_nothing_to_report_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "recordings").mkdir()
    code = main(
        [
            "report",
            "daily",
            "--recordings",
            str(tmp_path / "recordings"),
            "--reports",
            str(tmp_path / "reports"),
        ]
    )
    assert code == 2
    assert "nothing to report" in capsys.readouterr().err


def test_date_with_no_data_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18 item 10: ``--date`` over recordings without a single run exited 0 and wrote an
    empty report with five blank plots; the help promises exit 2 when there is nothing."""
    (tmp_path / "recordings").mkdir()
    reports = tmp_path / "reports"
    args = ["--recordings", str(tmp_path / "recordings"), "--reports", str(reports)]
    assert main(["report", "daily", "--date", "2020-01-01", *args]) == 2
    assert "nothing to report" in capsys.readouterr().err
    assert not (reports / "daily").exists()


def test_a_day_without_runs_still_writes_a_report(
    two_days,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    root, _ = two_days
    code = main(
        [
            "report",
            "daily",
            "--date",
            "2020-01-01",
            "--json",
            "--recordings",
            str(root / "recordings"),
            "--reports",
            str(tmp_path),
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["runs"] == 0 and summary["pnl"] == 0
    assert (tmp_path / "daily" / "2020-01-01" / "pnl.png").is_file()


H = 3_600_000_000_000


def test_time_axes_cover_the_activity_window_not_the_whole_day(tmp_path: Path) -> None:
    """Issue 15 item 4: a run active 14:00-16:00 UTC gets axes over those hours; a day
    without activity keeps 0-24 h. Old code: every time axis fixed at 0-24 h."""
    from polyarb.analytics.report import _plot_alerts, activity_window

    hourly = [
        {"hour": h, "opportunities": 0, "orders": 0, "fills": 0, "uptime_pct": None}
        for h in range(24)
    ]
    hourly[14] = {**hourly[14], "opportunities": 3, "uptime_pct": 100.0}
    hourly[15] = {**hourly[15], "uptime_pct": 98.0}
    curve = [{"ts_ns": 14 * H + H // 5, "cum_pnl": 1}]
    alerts = [
        {"ts_ns": 15 * H + H // 2, "level": lvl, "state": st, "rule": "R"}
        for lvl in ("CRITICAL", "WARNING", "INFO")
        for st in ("fired", "cleared")
    ]
    assert activity_window(hourly, curve, alerts, 0) == (14, 16)
    quiet = [{**r, "opportunities": 0, "uptime_pct": None} for r in hourly]
    assert activity_window(quiet, [], [], 0) == (0, 24)
    fig = _plot_alerts(tmp_path / "alerts.png", alerts, 0, (14, 16))
    (ax,) = fig.axes
    assert ax.get_xlim() == (14.0, 16.0)
    # The legend sits beside the axes: it cannot hide a marker.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 >= ax.get_window_extent(renderer).x1


def test_html_report_is_styled_like_the_dashboard_with_units(two_days, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 4: the HTML embeds the dashboard's stylesheet and uses its layout
    (header, number cards, tables); every count carries its unit. Old code: a bare page with
    its own minimal style and unit-less counts."""
    from polyarb.analytics.report import write_daily

    root, truths = two_days
    import datetime as dt

    rep = write_daily(root / "recordings", tmp_path, dt.date.fromisoformat(truths[1].date))
    page = rep.html.read_text()
    css = (Path(__file__).resolve().parents[2] / "polyarb/dashboard/static/style.css").read_text()
    assert css in page
    assert '<dl class="numbers">' in page and "<header><h1>polyarb</h1>" in page
    numbers = re.findall(r"<dd>([^<]*)</dd>", page)
    assert numbers and all(re.search(r"[^\d,.\s-]", v) for v in numbers), numbers
