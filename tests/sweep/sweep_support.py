"""Helpers of the sweep tests: sweep files and a real Dask cluster on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NEGRISK_PROFILE = REPO / "profiles" / "live_shadow_negrisk_v1.yaml"
SESSIONS = ("crossing-burst-2026-09-29", "negrisk-a", "negrisk-b")


def write_sweep(folder: Path, name: str, sessions: str = "['*']") -> Path:
    """A 4-set grid over latency and min edge on the neg-risk shadow profile (12 cells)."""
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n"
        f"base: {NEGRISK_PROFILE}\n"
        "grid:\n"
        "  latency.mean_ms: [20, 900]\n"
        '  risk.min_edge: ["0.005", "0.02"]\n'
        f"sessions: {sessions}\n"
    )
    return path


@dataclass
class DaskCluster:
    address: str
    folder: Path
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]

    def add_worker(self) -> None:
        """One more ``dask worker`` process; returns once the scheduler counts it."""
        from distributed import Client

        alive = sum(w.poll() is None for w in self.workers)
        self.workers.append(_worker(self.folder, len(self.workers)))
        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(alive + 1, timeout=90)


def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=fh, env=dict(os.environ))


def _worker(folder: Path, i: int) -> subprocess.Popen[bytes]:
    args = _dask("worker", "--scheduler-file", str(folder / "scheduler.json"),
                 "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--local-directory", str(folder / f"w{i}"))  # fmt: skip
    return _spawn(args, folder / f"worker{i}.log")


def start_cluster(folder: Path, n_workers: int = 2) -> DaskCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (no dashboard, 1 thread)."""
    from distributed import Client

    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "scheduler.json"
    scheduler = _spawn(
        _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(file)),
        folder / "scheduler.log",
    )  # fmt: skip
    deadline = time.monotonic() + 60
    address = None
    while address is None:
        if time.monotonic() > deadline or scheduler.poll() is not None:
            scheduler.kill()
            pytest.fail(f"dask scheduler did not start: {(folder / 'scheduler.log').read_text()}")
        try:
            address = json.loads(file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    workers = [_worker(folder, i) for i in range(n_workers)]
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(n_workers, timeout=90)
    return DaskCluster(address, folder, scheduler, workers)


def stop_cluster(cluster: DaskCluster) -> None:
    for proc in [*cluster.workers, cluster.scheduler]:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in [*cluster.workers, cluster.scheduler]:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
