"""Time ``promote-check --phase 1`` over 30 days of synthetic shadow history.

Writes 30 one-day sessions (frames + one shadow run each, ≥ 50 million rows
across frames and metrics) into a temp dir with pyarrow, then evaluates the
phase-1 rules in DuckDB several times and prints wall time, rows per second
and peak memory (RSS of this process, sampled, and DuckDB's own high-water
mark). Target: < 5 s per evaluation. Prints numbers; asserts nothing about time.

    .venv/bin/python benchmarks/bench_promote.py [--days 30] [--rows 50e6] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil

from polyarb.analytics.promotion import PromotionRules, evaluate
from polyarb.analytics.views import connect
from polyarb.testing.history import DAY_NS, NS, write_checklist, write_history

TARGET_S = 5.0


class PeakRss:
    """Samples this process's RSS every 10 ms in a thread (DuckDB allocates outside Python)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.peak = self.proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--rows", type=float, default=50e6, help="target frames + metrics rows")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the history here and keep it")
    args = ap.parse_args()

    # frames per day = ticks * (1 + per_tick) and metrics = ticks * (1 + per_tick) too
    # (one connected per tick, one latency per frame), so rows ≈ 2 * ticks * (1 + per_tick)
    per_tick = 9
    ticks_per_day = int(args.rows / args.days / 2 / (1 + per_tick)) + 1
    tick_s = DAY_NS / NS / ticks_per_day

    base = args.keep or Path(tempfile.mkdtemp(prefix="bench_promote_"))
    recordings, reports = base / "recordings", base / "reports"
    try:
        t0 = time.perf_counter()
        truths = write_history(
            recordings, days=args.days, tick_s=tick_s, frames_per_tick=per_tick, opp_every=500
        )
        write_checklist(reports, 1)
        gen_s = time.perf_counter() - t0
        con = connect(recordings, reports)
        frames = con.execute("SELECT count(*) FROM frames").fetchone()[0]  # type: ignore[index]
        metrics = con.execute("SELECT count(*) FROM metrics").fetchone()[0]  # type: ignore[index]
        run_rows = sum(t.rows for t in truths)
        disk = sum(p.stat().st_size for p in recordings.rglob("*") if p.is_file())
        print(
            f"history: {args.days} days, {frames:,} frames rows + {metrics:,} metrics rows "
            f"= {frames + metrics:,} (all run tables {run_rows:,}), "
            f"{disk / 2**20:.0f} MiB on disk, written in {gen_s:.1f} s"
        )

        rules = PromotionRules()
        times = []
        for i in range(args.repeat):
            with PeakRss() as mem:
                t = time.perf_counter()
                result = evaluate(1, rules, recordings=recordings, reports=reports)
                times.append(time.perf_counter() - t)
            print(
                f"run {i + 1}: {times[-1]:.2f} s, verdict {result.verdict}, "
                f"peak RSS {mem.peak / 2**20:.0f} MiB"
            )
        best = min(times)
        rows = frames + metrics
        print(
            f"promote-check --phase 1: best {best:.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
            f"over {args.repeat} run(s); {rows / best / 1e6:.1f} M rows/s"
        )
        print(
            f"target {TARGET_S:.1f} s: best/target = {best / TARGET_S:.2f} "
            f"({'within' if best < TARGET_S else 'OVER'} target)"
        )
        for c in result.criteria:
            print(f"  {c.name:20s} {c.measured:>18s}  {c.verdict}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
