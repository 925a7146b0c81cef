"""Large sessions for stress tests and benchmarks, built by repeating real recorded frames.

Round k replays the source frames shifted by k × (their span + 1 s), so receive
times keep increasing and pacing stays meaningful. Everything else (payload
text, assets, markets) is the sources' own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from polyarb.frames import FrameKind
from polyarb.recording.reader import SessionReader
from polyarb.recording.writer import SessionWriter


def build_repeated_session(
    sources: list[Path],
    recordings: Path,
    session_id: str,
    frames: int,
    *,
    compression_level: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``recordings/<session_id>`` holding exactly ``frames`` market frames."""
    if frames <= 0:
        raise ValueError("frames must be positive")
    rows: list[tuple[int, str]] = []
    assets: list[str] = []
    markets = []
    for source in sources:
        reader = SessionReader(source)
        rows += [(f.recv_ns, f.payload) for f in reader.frames() if f.kind == FrameKind.FRAME]
        assets += reader.manifest.assets
        markets += reader.markets()
    if not rows:
        raise ValueError("the source sessions hold no frames")
    rows.sort(key=lambda r: r[0])
    base = rows[0][0]
    span = rows[-1][0] - base + 1_000_000_000
    writer = SessionWriter.fresh(
        recordings,
        session_id,
        feed_url="synthetic:repeat",
        source={"derived": f"{frames} frames repeating {[s.name for s in sources]}"},
        part_max_rows=10**9,
        part_max_bytes=1 << 40,
        part_max_seconds=10**9,
        compression_level=compression_level,
    )
    writer.set_assets(assets)
    writer.write_markets(markets, valid_from_seq=0)
    kind = FrameKind.FRAME.value
    done = 0
    chunk: list[tuple[str, str, int, int, int]] = []
    while done < frames:
        shift = (done // len(rows)) * span
        for recv, payload in rows[: frames - done]:
            t = recv + shift
            chunk.append((kind, payload, t, t - base, 0))
            if len(chunk) >= 65_536:
                writer.append_rows(chunk)
                writer.flush()
                chunk.clear()
                if progress:
                    progress(writer.next_seq, frames)
        done += min(len(rows), frames - done)
    writer.append_rows(chunk)
    writer.close()
    return writer.dir
