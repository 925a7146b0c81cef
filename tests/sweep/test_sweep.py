"""`polyarb sweep`: cells are replays, identical on every engine, recorded once, resumable."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sweep_support import NEGRISK_PROFILE, SESSIONS, write_sweep

from polyarb.cli import main
from polyarb.config.profile import load_profile
from polyarb.sweep.grid import SweepError, apply_overrides, load_sweep, select_sessions
from polyarb.sweep.run import max_drawdown, run_sweep
from polyarb.sweep.store import SweepStore


def _by_cell(path: Path) -> dict[str, tuple[Any, ...]]:
    rows = pq.read_table(str(path)).to_pylist()
    return {
        r["cell_id"]: (
            r["session_id"],
            r["profile_sha256"],
            r["decisions_sha256"],
            r["pnl"],
            r["fills"],
        )
        for r in rows
    }


@pytest.fixture(scope="module")
def serial_results(
    sweep_recordings: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Any, ...]]:
    """The reference: every cell replayed in this process, one after the other."""
    spec = load_sweep(write_sweep(tmp_path_factory.mktemp("spec"), "ref-serial"))
    outcome = run_sweep(spec, sweep_recordings, scheduler="serial")
    assert outcome.computed == len(outcome.tasks) == 4 * len(SESSIONS)
    return _by_cell(outcome.results)


def test_overrides_are_validated_by_the_profile_schema(tmp_path: Path) -> None:
    """A bad override gets the profile's own error naming the key and range; hashes match run.json's."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {NEGRISK_PROFILE}\ngrid:\n  risk.min_edge: ['0.9']\n")
    with pytest.raises(SweepError, match=r"risk\.min_edge = '0\.9'.*le 0\.5"):
        load_sweep(bad)
    bad.write_text(f"base: {NEGRISK_PROFILE}\ngrid:\n  risk.min_edgy: ['0.01']\n")
    with pytest.raises(SweepError, match=r"min_edgy = '0\.01': unknown key"):
        load_sweep(bad)
    spec = load_sweep(write_sweep(tmp_path, "ok"))
    base = load_profile(NEGRISK_PROFILE)
    first = spec.cells[0]
    assert first.params == {"latency.mean_ms": 20, "risk.min_edge": "0.005"}
    expected = base.model_copy(
        update={
            "latency": base.latency.model_copy(update={"mean_ms": 20}),
            "risk": base.risk.model_copy(
                update={"min_edge": __import__("decimal").Decimal("0.005")}
            ),
        }
    )
    assert first.sha256 == expected.sha256()


def test_results_table_columns_and_runs(
    serial_results: dict[str, Any], sweep_recordings: Path
) -> None:
    """One Parquet table per sweep with the documented columns; each cell's run folder exists."""
    table = pq.read_table(str(sweep_recordings / "sweeps" / "ref-serial" / "results.parquet"))
    for col in ("session_id", "params", "param.risk.min_edge", "param.latency.mean_ms", "profile_sha256",
                "pnl", "fills", "fees", "max_drawdown", "rejects_by_reason", "decisions_sha256"):  # fmt: skip
        assert col in table.column_names
    rows = table.to_pylist()
    assert len({r["decisions_sha256"] for r in rows}) > 1, "the grid must change decisions"
    for r in rows:
        run = json.loads(
            (sweep_recordings / r["session_id"] / "runs" / r["run_id"] / "run.json").read_text()
        )
        assert run["profile_sha256"] == r["profile_sha256"]
        assert run["decisions_sha256"] == r["decisions_sha256"]


def test_remote_scheduler_matches_serial_and_local_cluster(
    serial_results: dict[str, Any], sweep_recordings: Path, dask_cluster: Any, tmp_path: Path
) -> None:
    """--scheduler tcp:// (real dask scheduler + 2 workers) and a local cluster give serial's cells."""
    remote = run_sweep(
        load_sweep(write_sweep(tmp_path, "on-remote")),
        sweep_recordings,
        scheduler=dask_cluster.address,
    )
    assert remote.computed == len(serial_results)
    assert _by_cell(remote.results) == serial_results
    seen: list[tuple[int, int]] = []
    local = run_sweep(
        load_sweep(write_sweep(tmp_path, "on-local")), sweep_recordings, scheduler="local",
        workers=2, progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    n = len(serial_results)
    assert seen == [(i, n) for i in range(n + 1)], "progress: every cell, done/total"
    assert _by_cell(local.results) == serial_results
    hosts = {
        line.split(" on ")[-1] for line in (remote.store.dir / "sweep.log").read_text().splitlines()
    }
    assert len(hosts) == 2, "both remote workers computed cells"


def test_rerun_computes_nothing_unless_forced(
    serial_results: dict[str, Any], sweep_recordings: Path, tmp_path: Path
) -> None:
    """Cells are idempotent: a finished sweep run again computes 0 cells; --force computes all."""
    path = write_sweep(tmp_path, "rerun")
    assert (
        main(
            [
                "sweep",
                "run",
                str(path),
                "--scheduler",
                "serial",
                "--recordings",
                str(sweep_recordings),
            ]
        )
        == 0
    )
    store = SweepStore(sweep_recordings, "rerun")
    assert len(store.computed_log()) == len(serial_results)
    again = run_sweep(load_sweep(path), sweep_recordings, scheduler="serial")
    assert (again.computed, again.reused) == (0, len(serial_results))
    assert len(store.computed_log()) == len(serial_results)
    forced = run_sweep(load_sweep(path), sweep_recordings, scheduler="serial", force=True)
    assert forced.computed == len(serial_results)
    assert len(store.computed_log()) == 2 * len(serial_results)
    assert _by_cell(forced.results) == serial_results


def test_interrupted_client_resumes(
    serial_results: dict[str, Any], sweep_recordings: Path, dask_cluster: Any, tmp_path: Path
) -> None:
    """A client stopped after 4 cells leaves them recorded; the next run computes only the rest."""
    path = write_sweep(tmp_path, "resume")

    def stop_after_four(done: int, total: int) -> None:
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(
            load_sweep(path),
            sweep_recordings,
            scheduler=dask_cluster.address,
            progress=stop_after_four,
        )
    store = SweepStore(sweep_recordings, "resume")
    assert len(store.done()) == 4
    outcome = run_sweep(load_sweep(path), sweep_recordings, scheduler=dask_cluster.address)
    assert (outcome.computed, outcome.reused) == (len(serial_results) - 4, 4)
    assert sorted(store.computed_log()) == sorted(serial_results)
    assert _by_cell(outcome.results) == serial_results


def test_worker_killed_mid_sweep_loses_no_cell(
    serial_results: dict[str, Any], sweep_recordings: Path, dask_cluster: Any, tmp_path: Path
) -> None:
    """SIGKILL of one of two workers after the first cell: every cell still lands, as serial."""
    victim = next(w for w in dask_cluster.workers if w.poll() is None)
    seen: list[tuple[int, int]] = []

    def kill_a_worker(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 1:
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)

    try:
        outcome = run_sweep(
            load_sweep(write_sweep(tmp_path, "kill")), sweep_recordings,
            scheduler=dask_cluster.address, progress=kill_a_worker,
        )  # fmt: skip
    finally:
        dask_cluster.add_worker()  # the module's other tests keep two workers
    assert victim.returncode == -signal.SIGKILL
    assert seen[1][0] == 1 and seen[-1] == (len(serial_results), len(serial_results))
    assert outcome.computed == len(serial_results)
    assert _by_cell(outcome.results) == serial_results


def test_sweeps_view_in_sql(
    serial_results: dict[str, Any], sweep_recordings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`polyarb sql` sees every sweep's cells in the `sweeps` view."""
    query = "SELECT count(*) AS n FROM sweeps WHERE sweep = 'ref-serial'"
    assert main(["sql", "--json", query, "--recordings", str(sweep_recordings)]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": len(serial_results)}]


def test_bad_sweep_input_exits_2(
    tmp_path: Path, sweep_recordings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown sessions, schedulers and keys are one-line errors with exit 2."""
    path = write_sweep(tmp_path, "nosuch", sessions="['nothing-*']")
    assert (
        main(
            [
                "sweep",
                "run",
                str(path),
                "--scheduler",
                "serial",
                "--recordings",
                str(sweep_recordings),
            ]
        )
        == 2
    )
    assert "'nothing-*' matches no session" in capsys.readouterr().err
    assert main(["sweep", "run", str(path), "--scheduler", "yarn"]) == 2
    assert "--scheduler 'yarn'" in capsys.readouterr().err
    shutil.rmtree(tmp_path)


@given(
    st.dictionaries(
        st.tuples(st.sampled_from("abc"), st.sampled_from("abc")).map(".".join),
        st.integers(),
        max_size=6,
    )
)
def test_apply_overrides_sets_each_dotted_key_and_leaves_the_base(
    overrides: dict[str, int],
) -> None:
    """Property: every dotted key reads back its value, other keys keep theirs; base untouched."""
    base = {"a": {"b": 1, "z": 3}, "c": 2}
    out = apply_overrides(base, overrides)
    assert base == {"a": {"b": 1, "z": 3}, "c": 2}
    for key, value in overrides.items():
        top, leaf = key.split(".")
        assert out[top][leaf] == value
    assert out["a"]["z"] == 3
    if "a.b" not in overrides:
        assert out["a"]["b"] == 1


def test_max_drawdown_is_the_largest_fall_from_the_running_peak() -> None:
    """Peak starts at 0 (a run that only loses has drawdown = its worst loss); micro-USD ints."""
    rows = [
        {"realised_pnl": r, "marked_pnl": m} for r, m in [(0, 5), (3, 4), (2, -3), (10, 0), (4, 1)]
    ]
    assert max_drawdown(rows) == 7 - (-1)  # equity 5, 7, -1, 10, 5: the fall from 7 is the largest
    assert max_drawdown([{"realised_pnl": -7, "marked_pnl": 0}]) == 7
    assert max_drawdown([]) == 0


def test_failing_cell_is_named_and_finished_cells_are_kept(
    sweep_recordings: Path, dask_cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session whose frames are garbage: exit 1 naming cell and session, on serial and remote."""
    rec = tmp_path / "recordings"
    for sid in ("negrisk-a", "negrisk-b"):
        shutil.copytree(sweep_recordings / sid, rec / sid)
    for part in (rec / "negrisk-b" / "frames").glob("part-*.parquet"):
        part.write_bytes(b"not parquet")
    path = write_sweep(tmp_path, "broken")
    for scheduler in ("serial", dask_cluster.address):
        args = ["sweep", "run", str(path), "--scheduler", scheduler, "--recordings", str(rec)]
        assert main(args) == 1
        err = capsys.readouterr().err
        assert "session negrisk-b" in err and "failed" in err and "rerun to resume" in err
    assert SweepStore(rec, "broken").done(), "cells of the good session are recorded"


def test_cli_client_stopped_by_sigint_resumes(
    serial_results: dict[str, Any], sweep_recordings: Path, dask_cluster: Any, tmp_path: Path
) -> None:
    """A real `polyarb sweep run` process gets SIGINT after its first cell; a rerun does the rest.

    Whatever the timing, the cells recorded before the signal are never computed again
    and the final table equals the serial one.
    """
    path = write_sweep(tmp_path, "sigint")
    args = [sys.executable, "-m", "polyarb", "sweep", "run", str(path),
            "--scheduler", dask_cluster.address, "--recordings", str(sweep_recordings)]  # fmt: skip
    store = SweepStore(sweep_recordings, "sigint")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not store.done() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (130, 0), err.decode()
    before = store.done()
    assert before, "the first cell was recorded before the signal"
    outcome = run_sweep(load_sweep(path), sweep_recordings, scheduler=dask_cluster.address)
    assert (outcome.computed, outcome.reused) == (len(serial_results) - len(before), len(before))
    assert sorted(store.computed_log()) == sorted(serial_results)
    assert _by_cell(outcome.results) == serial_results


def test_sessions_by_glob_or_utc_date_range() -> None:
    """Session selection: id globs (sorted, each must match) or start dates, UTC, inclusive."""
    day = 86_400 * 10**9
    t0 = 1_790_000_000 * 10**9  # 2026-09-21T14:13:20Z
    available = {
        "a-1": {"start_ns": t0},
        "a-2": {"start_ns": t0 + day},
        "b": {"start_ns": t0 + 3 * day},
    }
    assert select_sessions(["a-*"], available) == ["a-1", "a-2"]
    assert select_sessions({"from": "2026-09-22", "to": "2026-09-24"}, available) == ["a-2", "b"]
    assert select_sessions({"to": "2026-09-21"}, available) == ["a-1"]
    with pytest.raises(SweepError, match="'c\\*' matches no session"):
        select_sessions(["a-*", "c*"], available)
