"""Shared by the benchmarks: ``polyarb serve`` in its own process, as a real feed would be."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
