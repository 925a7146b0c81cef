"""Recorder throughput: ``polyarb serve --max`` (subprocess) → :class:`Recorder` (this process).

Builds a synthetic session of N frames by repeating the real bundled frames
(resolvedkit books and the crossing burst), serves it as fast as possible and
records it. Prints sustained frames/s, CPU seconds per million frames, peak
RSS, Parquet bytes per frame against gzip'd JSONL of the same rows (live parts,
re-sealed at zstd 9, and compacted by ``polyarb sessions compact``), and checks
the recording is lossless (count, bytes, SHA-256 of the stream), also after
compaction. Targets: ≥ 100,000 frames/s and Parquet ≤ 0.5 × gzip; reported,
never asserted.

    python benchmarks/bench_recorder.py [--frames 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import multiprocessing as mp
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil
import pyarrow.compute as pc
import pyarrow.parquet as pq
from bench_support import serve_process

from polyarb.cli.common import shared_data_dir
from polyarb.feed import FeedConfig
from polyarb.recording import SessionReader, SessionWriter
from polyarb.recording.compact import ARCHIVE_LEVEL, compact_session
from polyarb.recording.imports import import_burst, import_resolvedkit
from polyarb.recording.recorder import Recorder
from polyarb.recording.schema import LIVE_COMPRESSION_LEVEL, PARQUET_OPTIONS
from polyarb.testing.sessions import build_repeated_session

REPO = Path(__file__).resolve().parents[1]


async def _record(url: str, out: Path, assets: list[str], proc: subprocess.Popen[str]) -> dict:
    writer = SessionWriter(out, "rec", feed_url=url, compression_level=LIVE_COMPRESSION_LEVEL)
    recorder = Recorder(writer, assets, config=FeedConfig(url=url, tick_interval_s=1.0))
    cpu0 = time.process_time()
    loop_cpu0 = time.thread_time()  # this thread runs the event loop: the receive path
    task = asyncio.create_task(recorder.run())
    first_t = last_t = None
    last_frames = 0
    me = psutil.Process()
    peak_rss = me.memory_info().rss
    while proc.poll() is None:
        await asyncio.sleep(0.05)
        peak_rss = max(peak_rss, me.memory_info().rss)
        frames = recorder.feed.frames
        if frames and first_t is None:
            first_t = time.perf_counter()
        if frames != last_frames:
            last_frames, last_t = frames, time.perf_counter()
    recv_cpu = time.process_time() - cpu0
    loop_cpu = time.thread_time() - loop_cpu0
    recorder.stop()
    seal0 = time.perf_counter()
    status = await task
    return {
        "frames": status.frames,
        "receive_s": (last_t or 0) - (first_t or 0),
        "seal_s": time.perf_counter() - seal0,
        "cpu_s": time.process_time() - cpu0,
        "receive_cpu_s": recv_cpu,
        "loop_cpu_s": loop_cpu,
        "peak_rss": max(peak_rss, me.memory_info().rss),
    }


def _digest(session: Path) -> tuple[int, int, str]:
    digest = hashlib.sha256()
    frames = size = 0
    for batch in SessionReader(session).iter_batches(columns=["kind", "payload"]):
        for kind, payload in zip(
            batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
        ):
            if kind == "frame":
                data = payload.encode()
                digest.update(len(data).to_bytes(4, "big"))
                digest.update(data)
                frames += 1
                size += len(data)
    return frames, size, digest.hexdigest()


def _gzip_jsonl_bytes(session: Path) -> int:
    """gzip (level 6, the gzip tool's default) of one JSON line per row, all six columns."""
    sink = _Counter()
    with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6) as stream:  # type: ignore[arg-type]
        for batch in SessionReader(session).iter_batches():
            names = batch.schema.names
            cols = [batch.column(i).to_pylist() for i in range(len(names))]
            stream.write(
                b"".join(
                    json.dumps(dict(zip(names, row, strict=True)), separators=(",", ":")).encode()
                    + b"\n"
                    for row in zip(*cols, strict=True)
                )
            )
    return sink.size


def _reseal_bytes(session: Path, level: int) -> tuple[int, float]:
    """Bytes and CPU seconds of the session's parts written again at zstd ``level``."""
    total, cpu = 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for part in sorted((session / "frames").glob("*.parquet")):
            table = pq.read_table(part)
            target = Path(tmp) / part.name
            t = time.process_time()
            pq.write_table(
                table,
                target,
                row_group_size=131_072,
                **{**PARQUET_OPTIONS, "compression_level": level},
            )
            cpu += time.process_time() - t
            total += target.stat().st_size
            target.unlink()
    return total, cpu


def _hash_bytes(session: Path) -> int:
    """20 bytes per 40-hex book hash in the payloads: random, so no codec stores them in less."""
    count = 0
    for batch in SessionReader(session).iter_batches(columns=["payload"]):
        count += pc.sum(pc.count_substring(batch.column(0), '"hash":"')).as_py() or 0
    return 20 * count


def _build(shared: Path, src: Path, frames: int) -> Path:
    sources = [
        import_resolvedkit(shared / "resolvedkit_btc15m", src),
        import_burst(shared, src),
    ]
    return build_repeated_session(sources, src, "synthetic", frames)


class _Counter:
    """A write-only file that counts bytes (gzip output size without keeping it)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-recorder-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        shared = shared_data_dir()
        src = work / "src"
        t = time.perf_counter()
        # Built in a child process, so the peak RSS below is the recorder's own.
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            big = pool.submit(_build, shared, src, args.frames).result()
        print(f"built {args.frames:,}-frame session in {time.perf_counter() - t:.1f} s")
        stats_path = work / "serve-stats.json"
        url, proc = serve_process(big, "--max", "--digest", "--stats", str(stats_path))
        assets = SessionReader(big).manifest["assets"]
        shutil.rmtree(work / "out", ignore_errors=True)  # a kept folder from an earlier run
        rss0 = psutil.Process().memory_info().rss
        result = asyncio.run(_record(url, work / "out", assets, proc))
        peak_rss = result["peak_rss"]
        stats = json.loads(stats_path.read_text())
        sent = stats["connections"]
        rec = work / "out" / "rec"
        frames, size, digest = _digest(rec)
        lossless = len(sent) == 1 and (frames, size, digest) == (
            sent[0]["frames"],
            sent[0]["bytes"],
            sent[0]["sha256"],
        )
        parquet = sum(p.stat().st_size for p in (rec / "frames").glob("*.parquet"))
        rows = SessionReader(rec).count()
        gz = _gzip_jsonl_bytes(rec)
        rate = result["frames"] / max(result["receive_s"], 1e-9)
        print(
            f"served frames            {stats['frames']:,} ({stats['bytes'] / stats['frames']:,.0f} B avg)"
        )
        print(f"recorded frames          {frames:,}  lossless (count, bytes, sha256): {lossless}")
        print(
            f"sustained receive rate   {rate:,.0f} frames/s  (target 100,000: ratio {rate / 1e5:.2f})"
        )
        per_m = 1e6 / result["frames"]
        loop = result["loop_cpu_s"] * per_m
        print(
            f"recorder CPU             {result['cpu_s'] * per_m:.2f} s per million frames"
            f" (while receiving: {result['receive_cpu_s'] * per_m:.2f}; of which the event loop"
            f" {loop:.2f}, the store and seal threads {result['receive_cpu_s'] * per_m - loop:.2f})"
        )
        print(f"seal after stop          {result['seal_s']:.1f} s")
        print(
            f"peak RSS while recording {peak_rss / 1e6:,.0f} MB "
            f"(+{(peak_rss - rss0) / 1e6:,.0f} MB over this process before recording)"
        )
        print(
            f"Parquet                  {parquet / rows:,.1f} B/row ({parquet / 1e6:,.1f} MB, zstd {LIVE_COMPRESSION_LEVEL})"
        )
        print(f"gzip JSONL (level 6)     {gz / rows:,.1f} B/row ({gz / 1e6:,.1f} MB)")
        print(f"Parquet / gzip           {parquet / gz:.2f}  (target ≤ 0.5)")
        level9, cpu9 = _reseal_bytes(rec, 9)
        print(
            f"  re-sealed at zstd 9    {level9 / gz:.2f}  ({cpu9 * per_m:.1f} CPU-s per million frames"
            f" to seal, vs {LIVE_COMPRESSION_LEVEL} live)"
        )
        t = time.perf_counter()
        cpu = time.process_time()
        packed = compact_session(rec)["after"]
        print(
            f"  compacted (book-delta) {packed / gz:.2f}  (target ≤ 0.5; `polyarb sessions compact`,"
            f" zstd {ARCHIVE_LEVEL}, {(time.process_time() - cpu) * per_m:.0f} CPU-s per million"
            f" frames incl. verification, {time.perf_counter() - t:.0f} s)"
        )
        lossless_after = _digest(rec) == (frames, size, digest)
        print(f"  compacted reads back   {lossless_after} (count, bytes, sha256 as served)")
        hashes = _hash_bytes(rec)
        print(
            f"  book hashes alone      {hashes / gz:.2f} of gzip: {hashes / rows:.1f} B/row of random"
            " 40-hex digests that no lossless store can shrink below 20 B each"
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
