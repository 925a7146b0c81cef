"""Cells per second of ``polyarb sweep``: serial vs a local Dask cluster of 2 workers.

Imports the neg-risk session under several ids (and, with ``--heavy``, the
5-hour resolvedkit session) into a temp dir, then runs one grid of profile
overrides over them serially in this process and on a 2-worker local cluster,
and prints cells/s of each and the speed-up. Cluster start-up is timed and
printed separately (it is paid once per sweep, not per cell), and so is a
warm-up of two cells per worker (first-call imports and caches). Prints numbers; asserts only that both runs
give the same decisions_sha256 per cell.

    .venv/bin/python benchmarks/bench_sweep.py [--sessions 4] [--workers 2] [--heavy]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from polyarb.cli.common import shared_data_dir
from polyarb.recording.imports import import_resolvedkit
from polyarb.recording.imports.negrisk import import_negrisk
from polyarb.sweep.grid import load_sweep
from polyarb.sweep.run import dask_client, execute, plan, run_cell
from polyarb.sweep.store import SweepStore

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sessions", type=int, default=4, help="copies of the neg-risk session")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--heavy", action="store_true", help="add the 5 h resolvedkit session")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "recordings"
        data = shared_data_dir()
        ids = [f"negrisk-{i}" for i in range(args.sessions)]
        for sid in ids:
            import_negrisk(data, root, session_id=sid)
        if args.heavy:
            ids.append(import_resolvedkit(data / "resolvedkit_btc15m", root).name)
        spec_path = Path(tmp) / "bench.yaml"
        spec_path.write_text(
            f"name: bench\nbase: {REPO / 'profiles' / 'live_shadow_negrisk_v1.yaml'}\n"
            "grid:\n  latency.mean_ms: [20, 120, 900]\n"
            '  risk.min_edge: ["0.005", "0.01", "0.02"]\n'
        )
        tasks = plan(load_sweep(spec_path), ids, str(root))
        print(f"{len(tasks)} cells ({len(ids)} sessions × 9 parameter sets)")

        serial = SweepStore(root, "bench-serial")
        serial.prepare({})
        t0 = time.perf_counter()
        execute(tasks, serial, scheduler="serial")
        serial_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        with dask_client("local", args.workers) as client:
            # each worker's first cells pay imports and caches; a long sweep amortises that
            client.gather(client.map(run_cell, tasks[: 2 * args.workers], pure=False))
            startup_s = time.perf_counter() - t0
            cluster = SweepStore(root, "bench-cluster")
            cluster.prepare({})
            t0 = time.perf_counter()
            execute(tasks, cluster, client=client)
            cluster_s = time.perf_counter() - t0
        ids_order = [t.cell_id for t in tasks]
        a = serial.write_results(ids_order)
        b = cluster.write_results(ids_order)
        import pyarrow.parquet as pq

        same = (
            pq.read_table(a).column("decisions_sha256").to_pylist()
            == pq.read_table(b).column("decisions_sha256").to_pylist()
        )
        assert same, "serial and cluster runs disagree"
        n = len(tasks)
        print(f"serial:                {n / serial_s:8.2f} cells/s  ({serial_s:.2f} s)")
        print(
            f"local cluster ({args.workers} w): {n / cluster_s:8.2f} cells/s  ({cluster_s:.2f} s; "
            f"start-up + warm-up {startup_s:.2f} s not included)"
        )
        print(f"speed-up:              {serial_s / cluster_s:8.2f}x  (decisions identical: {same})")


if __name__ == "__main__":
    main()
