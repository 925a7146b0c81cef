"""Replay cost as the session grows: 1x, 4x and 16x the resolvedkit session's frames.

Builds each session (the resolvedkit frames repeated, shifted in time), replays it with
``polyarb.api.replay`` in a fresh process, and prints CPU time per row and that
process's peak RSS. Issue 16 item 5: peak RSS at 16x within 10 % of 1x, time per row
flat. Run: ``.venv/bin/python benchmarks/bench_scale.py [--scales 1,4,16]``. Never
asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from polyarb.cli.common import shared_data_dir
from polyarb.recording import SessionReader
from polyarb.recording.imports import import_resolvedkit
from polyarb.testing.sessions import build_repeated_session

SESSION = "resolvedkit-btc15m"

_CHILD = """
import json, resource, sys, time
from polyarb.api import replay
start = time.process_time()
run = replay(sys.argv[1])
cpu = time.process_time() - start
print(json.dumps({"rows": run["frames"], "cpu_s": cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(session: Path) -> dict[str, float]:
    """Replay ``session`` in a fresh interpreter; its CPU seconds and peak RSS."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(session)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="1,4,16", help="comma-separated multiples")
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        import_resolvedkit(shared_data_dir() / "resolvedkit_btc15m", root / "src")
        source = root / "src" / SESSION
        frames = sum(1 for f in SessionReader(source).frames() if f.kind == "frame")
        base: dict[str, float] | None = None
        print(
            f"{'scale':>5} {'rows':>10} {'cpu s':>8} {'us/row':>8} {'peak RSS MB':>12} {'vs 1x':>7}"
        )
        for k in scales:
            session = build_repeated_session([source], root, f"scale-{k}x", frames * k)
            m = measure(session)
            base = base or m
            per_row = m["cpu_s"] / m["rows"] * 1e6
            print(f"{k:>4}x {int(m['rows']):>10,} {m['cpu_s']:>8.2f} {per_row:>8.1f}"
                  f" {m['peak_rss_mb']:>12.1f} {m['peak_rss_mb'] / base['peak_rss_mb']:>6.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
