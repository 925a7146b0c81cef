"""Running a sweep's cells: serially, on a local Dask cluster, or on an existing one.

Every cell is :func:`polyarb.engine.replay` of one session with one profile,
so a cell's ``decisions_sha256`` is the same whichever engine ran it. The
client records each finished cell (:class:`~polyarb.sweep.store.SweepStore`)
as soon as its result arrives, so a killed worker costs only its running cell
(Dask runs it again elsewhere) and an interrupted client resumes where it
stopped: cells already recorded are not computed again unless ``force``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyarb.errors import PolyarbError
from polyarb.sweep.grid import SweepSpec, cell_id, params_json
from polyarb.sweep.store import SweepStore

SERIAL = "serial"
LOCAL = "local"


@dataclass(frozen=True)
class CellTask:
    """Everything a worker needs for one cell (plain data: it travels to remote workers)."""

    sweep: str
    cell_id: str
    cell_index: int
    session_id: str
    recordings: str
    params: dict[str, Any]
    profile: dict[str, Any]
    profile_sha256: str
    base_path: str | None


def max_drawdown(pnl_rows: list[dict[str, Any]]) -> int:
    """Largest fall of realised + marked PnL from its running peak (peak starts at 0), micro."""
    peak = 0
    worst = 0
    for row in pnl_rows:
        value = (row.get("realised_pnl") or 0) + (row.get("marked_pnl") or 0)
        peak = max(peak, value)
        worst = max(worst, peak - value)
    return worst


def _session_dir(task: CellTask) -> Path:
    from polyarb.recording.storage import cache_root, is_remote, pull_session

    if is_remote(task.recordings):
        return pull_session(task.recordings, task.session_id, cache_root(task.recordings))
    return Path(task.recordings) / task.session_id


def _upload_run(task: CellTask, run_dir: Path) -> None:
    """With sessions in a bucket, the run goes back beside its session (workers' disks are
    not where anyone looks); ``run.json`` last, as locally, so its presence means complete."""
    from polyarb.recording.storage import filesystem, is_remote

    if not is_remote(task.recordings):
        return
    fs, root = filesystem(task.recordings)
    target = f"{root}/{task.session_id}/runs/{run_dir.name}"
    files = sorted(p for p in run_dir.iterdir() if p.is_file())
    for path in sorted(files, key=lambda p: p.name == "run.json"):
        fs.put_file(str(path), f"{target}/{path.name}")


def run_cell(task: CellTask) -> dict[str, Any]:
    """Replay one cell (on whichever worker) and return its result row."""
    import json

    import pyarrow.parquet as pq

    from polyarb.alerts import rules_for_profile
    from polyarb.config.profile import Profile
    from polyarb.engine import replay

    profile = Profile.model_validate(task.profile)
    if profile.sha256() != task.profile_sha256:
        raise RuntimeError(f"cell {task.cell_id}: profile hash changed in transit")
    rules = rules_for_profile(task.base_path, profile.alerts) if task.base_path else None
    result = replay(_session_dir(task), profile, alert_rules=rules)
    s = result["summary"]
    pnl_rows = pq.read_table(Path(result["run_dir"]) / "pnl.parquet").to_pylist()
    _upload_run(task, Path(result["run_dir"]))
    rejects = dict(sorted(s["rejects_by_reason"].items()))
    return {
        "sweep": task.sweep,
        "cell_id": task.cell_id,
        "cell_index": task.cell_index,
        "session_id": result["session_id"],
        "params": params_json(task.params),
        **{f"param.{k}": str(v) for k, v in task.params.items()},
        "profile_name": result["profile_name"],
        "profile_sha256": result["profile_sha256"],
        "run_id": result["run_id"],
        "frames": int(result["frames"]),
        "pnl": int(s["total_pnl"]),
        "realised_pnl": int(s["realised_pnl"]),
        "marked_pnl": int(s["marked_pnl"]),
        "max_drawdown": max_drawdown(pnl_rows),
        "opportunities": int(s["opportunities_total"]),
        "orders": int(s["orders"]),
        "fills": int(s["fills"]),
        "fees": int(s["fees"]),
        "gas": int(s["gas"]),
        "rejects": int(s["verdicts"]["reject"]),
        "rejects_by_reason": json.dumps(rejects, separators=(",", ":")),
        "decisions": int(s["decisions"]),
        "decisions_sha256": result["decisions_sha256"],
    }


def plan(spec: SweepSpec, sessions: list[str], recordings: str) -> list[CellTask]:
    """Cells × sessions, in cell then session order (duplicates dropped)."""
    from polyarb.recording.storage import is_remote

    # workers may run elsewhere (another cwd, another machine): never a relative path
    location = str(recordings) if is_remote(recordings) else str(Path(recordings).resolve())
    tasks: list[CellTask] = []
    seen: set[str] = set()
    for cell in spec.cells:
        for sid in sessions:
            cid = cell_id(sid, cell.sha256)
            if cid in seen:
                continue
            seen.add(cid)
            tasks.append(
                CellTask(
                    sweep=spec.name,
                    cell_id=cid,
                    cell_index=cell.index,
                    session_id=sid,
                    recordings=location,
                    params=cell.params,
                    profile=cell.profile.model_dump(mode="json"),
                    profile_sha256=cell.sha256,
                    base_path=str(spec.base_path) if spec.base_path else None,
                )
            )
    return tasks


def default_workers() -> int:
    """One single-threaded worker process per CPU (the engine is pure Python)."""
    return max(1, os.cpu_count() or 1)


@contextmanager
def dask_client(scheduler: str, workers: int | None = None) -> Iterator[Any]:
    """A distributed Client: a fresh local cluster for ``local``, else the given scheduler."""
    from distributed import Client, LocalCluster

    if scheduler == LOCAL:
        with (
            LocalCluster(
                n_workers=workers or default_workers(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                # the scheduler's health endpoint still needs a port: any free one on loopback
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    with Client(scheduler, timeout="30s") as client:
        yield client


Progress = Callable[[int, int], None]


def execute(
    tasks: list[CellTask],
    store: SweepStore,
    *,
    scheduler: str = LOCAL,
    workers: int | None = None,
    progress: Progress | None = None,
    client: Any = None,
) -> int:
    """Run ``tasks``, recording each result as it arrives; returns the number computed.

    ``client`` reuses an open Dask client (benchmarks, tests); otherwise
    ``scheduler`` picks serial, a local cluster, or ``tcp://host:port``.
    """
    total = len(tasks)
    done = 0

    def finished(row: dict[str, Any], where: str) -> None:
        nonlocal done
        store.record(row, where)
        done += 1
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    if not tasks:
        return 0
    if scheduler == SERIAL and client is None:
        for task in tasks:
            finished(*run_cell_located(task))
        return done
    if client is not None:
        _run_on(client, tasks, finished)
    else:
        with dask_client(scheduler, workers) as own:
            _run_on(own, tasks, finished)
    return done


def _here() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class CellError(RuntimeError, PolyarbError):
    """A cell whose replay failed; the message names the cell, its session and parameters."""


def run_cell_located(task: CellTask) -> tuple[dict[str, Any], str]:
    """:func:`run_cell` plus the ``host:pid`` that computed it (for ``sweep.log``)."""
    try:
        return run_cell(task), _here()
    except Exception as exc:
        # a plain message survives the trip back from a remote worker
        raise CellError(
            f"cell {task.cell_id} (session {task.session_id}, set {task.cell_index} "
            f"{params_json(task.params)}) failed: {type(exc).__name__}: {exc}"
        ) from None


def _run_on(
    client: Any, tasks: list[CellTask], finished: Callable[[dict[str, Any], str], None]
) -> None:
    from distributed import as_completed

    # pure=False: a cell is recomputed when asked (--force), never served from another
    # client's memory; the key names the cell so the scheduler's logs say which one ran.
    futures = [
        client.submit(
            run_cell_located, t, pure=False, key=f"polyarb-cell-{t.cell_id}-{os.urandom(4).hex()}"
        )
        for t in tasks
    ]
    try:
        for future in as_completed(futures):
            row, where = future.result()
            finished(row, where)
    finally:
        client.cancel(futures)


@dataclass(frozen=True)
class SweepOutcome:
    """What :func:`run_sweep` did."""

    store: SweepStore
    tasks: list[CellTask]
    computed: int
    reused: int
    results: Path


def available_sessions(recordings: Path | str) -> dict[str, dict[str, Any]]:
    """``{id: manifest}`` of the sessions under a local folder or a remote location."""
    from polyarb.recording.reader import list_sessions
    from polyarb.recording.storage import is_remote, list_remote

    if is_remote(recordings):
        return list_remote(str(recordings))
    return {r.dir.name: r.manifest.to_dict() for r in list_sessions(recordings)}


def run_sweep(
    spec: SweepSpec,
    recordings: Path | str,
    *,
    scheduler: str = LOCAL,
    workers: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
    client: Any = None,
    sessions: list[str] | None = None,
) -> SweepOutcome:
    """Plan, run the cells not yet recorded (all with ``force``), write ``results.parquet``."""
    from polyarb.recording.storage import local_sessions_root
    from polyarb.sweep.grid import select_sessions

    chosen = select_sessions(sessions or spec.sessions, available_sessions(recordings))
    tasks = plan(spec, chosen, str(recordings))
    store = SweepStore(local_sessions_root(recordings), spec.name)
    store.prepare({**spec.describe(), "recordings": str(recordings), "selected": chosen})
    done = set() if force else store.done()
    pending = [t for t in tasks if t.cell_id not in done]
    computed = execute(
        pending, store, scheduler=scheduler, workers=workers, progress=progress, client=client
    )
    path = store.write_results([t.cell_id for t in tasks])
    return SweepOutcome(store, tasks, computed, len(tasks) - len(pending), path)
