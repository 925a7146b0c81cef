"""Replay cost as the session grows: 1x, 4x and 16x the resolvedkit session's frames.

Builds each session (the resolvedkit frames repeated, shifted in time), runs
``polyarb replay`` on it in a fresh process (the CLI's ``main``, in-process, so
``getrusage`` sees it), and prints CPU time per row and that process's peak RSS, from
the frames and from the decoded-session cache (``--cache``; built beforehand, not
timed). Issue 16 item 5: peak RSS at 16x within 10 % of 1x, time per row flat.
Run: ``.venv/bin/python benchmarks/bench_scale.py [--scales 1,4,16]``. Never asserted
in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from polyarb.cli.common import shared_data_dir
from polyarb.recording import SessionReader
from polyarb.recording.event_cache import build_cache
from polyarb.recording.imports import import_resolvedkit
from polyarb.testing.sessions import build_repeated_session

SESSION = "resolvedkit-btc15m"

# Peak RSS from VmHWM, not getrusage: Linux keeps ru_maxrss across exec, so a child's
# getrusage reports at least the RSS its parent had when it forked (this benchmark's own
# ~550 MB), which hid the replay's real peak; VmHWM belongs to the new address space.
_CHILD = """
import contextlib, io, json, resource, sys, time
from polyarb.cli import main

def peak_mb():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

start = time.process_time()
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["replay", "--session", sys.argv[1], "--json", *sys.argv[2:]])
cpu = time.process_time() - start
assert code == 0, code
run = json.loads(out.getvalue())
print(json.dumps({"rows": run["frames"], "cpu_s": cpu,
                  "peak_rss_mb": peak_mb()}))
"""


def measure(session: Path, *args: str) -> dict[str, float]:
    """``polyarb replay --session S ARGS`` in a fresh interpreter; its CPU seconds and peak RSS."""
    # The compiled level scanner from the first frame at every scale: in the default auto
    # mode numba (~150 MB of LLVM) would load only in runs past 50,000 book frames, a step
    # in RSS that says nothing about how replay memory grows with the session.
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(session), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "POLYARB_JIT": "1"},
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
        base: dict[str, dict[str, float]] = {}
        print(f"{'scale':>5} {'source':>7} {'rows':>10} {'cpu s':>8} {'us/row':>8}"
              f" {'peak RSS MB':>12} {'vs 1x':>7}")  # fmt: skip
        for k in scales:
            session = build_repeated_session([source], root, f"scale-{k}x", frames * k)
            build_cache(SessionReader(session))
            for label, args in (("frames", ()), ("cache", ("--cache",))):
                m = measure(session, *args)
                first = base.setdefault(label, m)
                per_row = m["cpu_s"] / m["rows"] * 1e6
                print(f"{k:>4}x {label:>7} {int(m['rows']):>10,} {m['cpu_s']:>8.2f} {per_row:>8.1f}"
                      f" {m['peak_rss_mb']:>12.1f} {m['peak_rss_mb'] / first['peak_rss_mb']:>6.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
