"""Replay throughput on the resolvedkit session vs decode-only (parse_frame of the same rows).

Prints frames/s and level updates/s for both, and their ratio (target ≥ 0.5).
Run: ``.venv/bin/python benchmarks/bench_replay.py [--recordings DIR]``. Never asserted in tests.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from polyarb.api import default_profile
from polyarb.cli.common import shared_data_dir
from polyarb.engine import Engine, MemorySink
from polyarb.engine.replay import split_history
from polyarb.events import BookSnapshot, LevelChange
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader
from polyarb.recording.imports import import_resolvedkit

SESSION = "resolvedkit-btc15m"


def _rows(reader: SessionReader) -> list[tuple[int, int, str, str, int]]:
    return [(f.seq, f.recv_ns, f.kind, f.payload, f.conn_id) for f in reader.frames()]


def _level_updates(rows: list[tuple[int, int, str, str, int]]) -> int:
    n = 0
    for _, _, kind, payload, _ in rows:
        if kind == "frame":
            for ev in parse_frame(payload):
                if isinstance(ev, BookSnapshot):
                    n += len(ev.bids) + len(ev.asks)
                elif isinstance(ev, LevelChange):
                    n += 1
    return n


def decode_only(rows: list[tuple[int, int, str, str, int]]) -> float:
    start = time.perf_counter()
    for _, _, kind, payload, _ in rows:
        if kind == "frame":
            parse_frame(payload)
    return time.perf_counter() - start


def engine_replay(reader: SessionReader, rows: list[tuple[int, int, str, str, int]]) -> float:
    start_metas, later = split_history(reader.market_history())
    engine = Engine(start_metas, default_profile(), MemorySink(), updates=later)
    on_frame = engine.on_frame
    start = time.perf_counter()
    for seq, recv_ns, kind, payload, conn_id in rows:
        on_frame(seq, recv_ns, kind, payload, conn_id)
    engine.finish()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recordings", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.recordings
        if root is None or not (root / SESSION / "manifest.json").exists():
            root = Path(tmp)
            import_resolvedkit(shared_data_dir() / "resolvedkit_btc15m", root)
        reader = SessionReader(root / SESSION)
        rows = _rows(reader)
        frames = len(rows)
        levels = _level_updates(rows)
        decode = min(decode_only(rows) for _ in range(args.repeat))
        replay = min(engine_replay(reader, rows) for _ in range(args.repeat))
    print(
        f"session {SESSION}: {frames:,} rows, {levels:,} level updates (snapshot levels + deltas)"
    )
    print(
        f"decode only : {frames / decode:12,.0f} rows/s  {levels / decode:14,.0f} levels/s"
        f"  ({decode:.3f} s)"
    )
    print(
        f"engine      : {frames / replay:12,.0f} rows/s  {levels / replay:14,.0f} levels/s"
        f"  ({replay:.3f} s)"
    )
    print(f"ratio engine/decode throughput: {decode / replay:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
