"""Shadow mode's internal latency (receive → decision) at a stated frame rate.

Real resolvedkit frames are re-timed to exactly ``--rate`` frames/s (default
10,000), served by a real ``polyarb serve`` (its own process) in real time on
127.0.0.1, and shadowed for the whole stream. Prints the achieved rate and the
p50/p95/p99/max of ``frame_latency_ns``: from the socket read that completed the
frame to the end of the engine's work on it, so a frame that arrived in one read
with others also counts the time spent on the frames before it. Target: p99 < 1 ms at 10,000 frames/s.
Run: ``.venv/bin/python benchmarks/bench_shadow.py [--rate N] [--frames N]``.
Never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from bench_support import serve_process, write_paced

from polyarb.alerts.rules import load_alert_rules
from polyarb.cli.common import shared_data_dir
from polyarb.config.profile import load_profile
from polyarb.feed import FeedConfig
from polyarb.recording import SessionReader
from polyarb.recording.imports import import_resolvedkit
from polyarb.shadow.parity import run_parity
from polyarb.shadow.runner import ShadowOptions, ShadowRun

REPO = Path(__file__).resolve().parents[1]


def paced_session(source: Path, root: Path, frames: int, rate: int) -> Path:
    """``frames`` market frames from ``source``, one every 1/rate s, with 1 s tick rows."""
    reader = SessionReader(source)
    payloads = [f.payload for f in reader.frames() if f.kind == "frame"][:frames]
    step = 1_000_000_000 // rate
    t0 = 1_790_000_000 * 10**9
    frames_at = [(t0 + i * step, payload) for i, payload in enumerate(payloads)]
    return write_paced(root, reader.manifest["assets"], reader.markets(), frames_at, t0)


def pct(values: list[int], q: float) -> int:
    return values[min(len(values) - 1, int(len(values) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=10_000, help="frames per second to serve")
    parser.add_argument("--frames", type=int, default=38_000, help="market frames to serve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = import_resolvedkit(shared_data_dir() / "resolvedkit_btc15m", root / "src")
        session = paced_session(source, root / "paced-rec", args.frames, args.rate)
        reader = SessionReader(session)
        profile = load_profile(REPO / "profiles" / "live_shadow_atomic_v1.yaml")
        rules = load_alert_rules(REPO / "profiles" / "alerts.production.yaml")
        url, proc = serve_process(session, "--speed", "1")
        try:
            shadow = ShadowRun(
                ShadowOptions(
                    profile=profile,
                    rules=rules,
                    markets=reader.markets(),
                    assets=list(reader.manifest["assets"]),
                    recordings=root / "out",
                    session_id="bench",
                    feed=FeedConfig(url=url, tick_interval_s=1.0),
                )
            )

            async def run() -> dict:  # type: ignore[type-arg]
                task = asyncio.create_task(shadow.run())
                await asyncio.to_thread(proc.wait, 600)  # serve exits at the end of the session
                await asyncio.sleep(0.5)
                shadow.stop()
                return await task

            t = time.perf_counter()
            result = asyncio.run(run())
            wall = time.perf_counter() - t
        finally:
            proc.kill()
        run_dir = root / "out" / "bench" / "runs" / "shadow"
        table = pq.read_table(
            str(run_dir / "metrics.parquet"), filters=[("name", "=", "frame_latency_ns")]
        )
        lat = sorted(table.column("value").to_pylist())
        ts = table.column("ts_ns").to_pylist()
        span = (max(ts) - min(ts)) / 1e9 if len(ts) > 1 else float("nan")
        parity = run_parity(root / "out" / "bench")
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    us = [v / 1000 for v in lat]
    print(
        f"shadow latency at a stated rate of {args.rate:,} frames/s ({args.frames:,} real frames)"
    )
    print(
        f"  frames shadowed      {len(lat):,} in {span:.2f} s of receive time "
        f"= {len(lat) / span:,.0f} frames/s achieved (wall {wall:.1f} s)"
    )
    print(f"  latency p50          {pct(us, 0.50):8.1f} µs")
    print(f"  latency p95          {pct(us, 0.95):8.1f} µs")
    print(
        f"  latency p99          {pct(us, 0.99):8.1f} µs   (target < 1000 µs: "
        f"{'met' if pct(us, 0.99) < 1000 else 'NOT met'}; ratio p99/target "
        f"{pct(us, 0.99) / 1000:.2f})"
    )
    print(f"  latency max          {us[-1]:8.1f} µs")
    print(f"  decisions            {result['summary']['decisions']:,}; parity {parity.status}")
    print(f"  peak RSS             {rss_mb:,.0f} MB")


if __name__ == "__main__":
    main()
