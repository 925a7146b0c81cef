"""`polyarb sweep report`: leaderboard, bootstrap interval, concentration warning, HTML page."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from sweep_support import write_sweep

from polyarb.cli import main
from polyarb.cli.progress import count_bar
from polyarb.sweep.report import bootstrap_interval, build_report, format_leaderboard
from polyarb.sweep.schema import RESULTS
from polyarb.sweep.store import SweepStore

USD = 1_000_000


def _store(root: Path, pnls: dict[tuple[str, str], int]) -> SweepStore:
    """A sweep folder with one recorded cell per (min_edge, session) and the given PnL."""
    store = SweepStore(root, "synthetic")
    edges = list(dict.fromkeys(e for e, _ in pnls))
    store.prepare({"name": "synthetic", "keys": ["risk.min_edge", "latency.mean_ms"]})
    ids = []
    for n, ((edge, session), pnl) in enumerate(pnls.items()):
        row: dict[str, Any] = {f.name: 0 for f in RESULTS if f.type == "int64"}
        row.update(
            sweep="synthetic", cell_id=f"c{n:03d}", cell_index=edges.index(edge), session_id=session,
            params=json.dumps({"risk.min_edge": edge, "latency.mean_ms": 50}),
            profile_name="p", profile_sha256=f"{edges.index(edge):064d}", run_id="r",
            rejects_by_reason="{}", decisions_sha256="0" * 64, pnl=pnl,
        )  # fmt: skip
        row["param.risk.min_edge"] = edge
        store.record(row, "test")
        ids.append(row["cell_id"])
    store.write_results(ids)
    return store


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    """Same seed, same interval; the interval holds the sample mean; one value gives a point."""
    values = [5 * USD, -1 * USD, 2 * USD, 0, 3 * USD]
    a = bootstrap_interval(values, np.random.default_rng(7))
    b = bootstrap_interval(values, np.random.default_rng(7))
    assert a == b
    assert a[0] < np.mean(values) < a[1]
    assert bootstrap_interval([4 * USD], np.random.default_rng(0)) == (4.0 * USD, 4.0 * USD)


def test_concentration_warning_when_one_session_carries_the_best_cell(tmp_path: Path) -> None:
    """Best set earns 10$ in one of three sessions: warned; an evenly earning best set is not."""
    lucky = _store(tmp_path / "a", {
        ("0.005", "s1"): 10 * USD, ("0.005", "s2"): USD // 10, ("0.005", "s3"): -USD // 10,
        ("0.02", "s1"): USD, ("0.02", "s2"): USD, ("0.02", "s3"): USD,
    })  # fmt: skip
    report = build_report(lucky, seed=1)
    assert report.cells[0].params["risk.min_edge"] == "0.005"
    assert any("concentration" in w and "s1" in w for w in report.warnings)
    steady = _store(tmp_path / "b", {
        ("0.005", "s1"): 2 * USD, ("0.005", "s2"): 2 * USD, ("0.005", "s3"): 3 * USD,
        ("0.02", "s1"): USD, ("0.02", "s2"): 0, ("0.02", "s3"): USD,
    })  # fmt: skip
    report = build_report(steady, seed=1)
    assert not [w for w in report.warnings if "concentration" in w]
    board = format_leaderboard(report)
    assert board.splitlines()[2].startswith("1 ") and "risk.min_edge=0.005" in board.splitlines()[2]
    assert "$2.3333" in board  # mean per session of the best set


def test_report_cli_prints_leaderboard_and_writes_html_with_plots(
    sweep_recordings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sweep report NAME` after `sweep run`: leaderboard on stdout; HTML with 2 embedded PNGs."""
    path = write_sweep(tmp_path, "for-report")
    rec = str(sweep_recordings)
    assert main(["sweep", "run", str(path), "--scheduler", "serial", "--recordings", rec]) == 0
    html_path = tmp_path / "page.html"
    args = ["sweep", "report", "for-report", "--x", "latency.mean_ms", "--y", "risk.min_edge"]
    assert main([*args, "--html", str(html_path), "--recordings", rec]) == 0
    out = capsys.readouterr().out
    assert "95% bootstrap CI" in out and "latency.mean_ms=20" in out
    page = html_path.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "latency.mean_ms × risk.min_edge" in page
    assert main(["sweep", "report", "for-report", "--x", "nope", "--recordings", rec]) == 2
    assert "not a swept key" in capsys.readouterr().err


def test_count_bar_shows_done_total_rate_and_eta() -> None:
    """The sweep progress bar: cells done/total, cells/s and an ETA column."""
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120, color_system=None)
    with count_bar("sweep x", "cells", enabled=True, console=console) as update:
        update(0, 4)
        update(2, 4)
    text = buf.getvalue()
    assert "2/4" in text and "cells/s" in text and "ETA" in text


@given(st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=30), st.integers(0, 2**32))
@settings(max_examples=60, deadline=None)
def test_bootstrap_interval_stays_within_the_data(values: list[int], seed: int) -> None:
    """Property: the interval is ordered and inside [min, max] of the sessions' PnL."""
    low, high = bootstrap_interval(values, np.random.default_rng(seed), samples=200)
    assert min(values) - 1e-6 <= low <= high <= max(values) + 1e-6
