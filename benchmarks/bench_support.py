"""Shared by the benchmarks: ``polyarb serve`` in its own process, as a real feed would be."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def serve_process(session: Path, *args: str) -> tuple[str, subprocess.Popen[str]]:
    """Start ``polyarb serve --session S --port 0 --exit-at-end ARGS``; returns (url, process).

    A server thread in the measuring process would share its GIL and count the
    server's own work as the client's latency.
    """
    cmd = [sys.executable, "-m", "polyarb", "serve", "--session", str(session),
           "--port", "0", "--exit-at-end", *args]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if " on " not in line:
        proc.kill()
        raise SystemExit(f"serve did not start: {line!r}")
    return line.split(" on ")[1].split()[0], proc


def write_paced(
    root: Path,
    assets: Sequence[str],
    markets: Sequence[Any],
    frames: Iterable[tuple[int, str]],
    t0: int,
) -> Path:
    """A session ``root/paced`` of ``(recv_ns, payload)`` frames with a tick row every second
    from ``t0`` (as a recorder writes them), in one part."""
    from polyarb.recording import SessionWriter

    writer = SessionWriter(root, "paced", part_max_rows=10**9)
    writer.set_assets(list(assets))
    writer.write_markets(list(markets), valid_from_seq=0)
    next_tick = t0 + 10**9
    for recv, payload in frames:
        while next_tick <= recv:
            writer.append("tick", "", next_tick, next_tick - t0, 0)
            next_tick += 10**9
        writer.append("frame", payload, recv, recv - t0, 0)
    writer.close()
    return root / "paced"
