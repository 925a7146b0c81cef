"""The synthetic history generator writes run.json files the product's own reader accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyarb.runs.runjson import read_run_json
from polyarb.testing.history import Faults, write_history


@pytest.mark.parametrize(
    ("mode", "phase", "faults"),
    [
        ("shadow", 0, Faults()),
        ("shadow", 0, Faults(crash=True, parity_fail=True, breaker_stuck=True)),
        ("live", 1, Faults(critical_alert=True)),
    ],
)
def test_every_generated_run_json_passes_read_run_json(
    tmp_path: Path, mode: str, phase: int, faults: Faults
) -> None:
    """Proves every run.json write_history writes (shadow, live, the replays beside them,
    faulted or not) is a valid run.json for read_run_json. Old code wrote a "parity" key and a
    three-key summary, which read_run_json refused while DuckDB read them anyway."""
    truths = write_history(
        tmp_path, days=3, mode=mode, phase=phase, faults=faults, with_replay=True, tick_s=600.0
    )
    files = sorted(tmp_path.glob("*/runs/*/run.json"))
    assert len(files) == 2 * len(truths) == 6
    for file in files:
        run = read_run_json(file)
        assert run.run_id == file.parent.name and run.mode in (mode, "replay")
    for truth in truths:
        run = read_run_json(tmp_path / truth.session_id / "runs" / truth.run_id)
        assert run.summary.total_pnl == truth.pnl
        assert run.summary.opportunities_total == truth.opportunities
        assert run.summary.fills == truth.fills
