"""The replay as it stood when issue 16 was filed, measured beside today's in one run.

Issue 16 asks for end-to-end replay ">= 3x today's frames/s", "today" being the day it
was filed. ``bench_replay.py``'s reference parse path keeps only that day's *parser*: both
sides of its ratio run today's engine, so what the issue's own work made faster in the
engine (tick rows, incremental alerts, streamed reads, the one-book pass) counts on neither.
This module keeps the whole reference instead: main as of :data:`COMMIT` (the last commit
before work on the issue began), taken from the repository's history with ``git archive``
into a temporary folder and run in a child process (its own ``polyarb`` package first on
``PYTHONPATH``) over the same session, one round at a time when asked, so its rounds
interleave with the parent's and a load on the machine hits both alike.

Needs a git checkout with history (a fresh ``git clone`` has it); without one,
:func:`open_filing_day` returns None and the benchmark says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from polyarb.cli.common import shared_data_dir

COMMIT = "f9f0a9ed007b8457fb5347f68eea33a3fe0e6432"
"""main on 2026-11-25, when issue 16 was filed: its replay is the issue's "today"."""
REPO = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("filing_day_child.py")


class FilingDayReplay:
    """A child process replaying the resolvedkit session with the filing-day code."""

    def __init__(self, tree: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(tree), "POLYARB_SHARED_DATA": str(shared_data_dir())}
        self._proc = subprocess.Popen(
            [sys.executable, str(CHILD)],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.rows = int(self._ask("rows"))

    def _ask(self, command: str) -> str:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"filing-day replay died (exit {self._proc.wait()})")
        return answer.strip()

    def replay(self) -> float:
        """CPU seconds of one full replay (engine, filing-day parse, tick rows) in the child."""
        return float(json.loads(self._ask("replay"))["cpu_s"])

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=30)


def open_filing_day(tmp: Path) -> FilingDayReplay | None:
    """Extract :data:`COMMIT` under ``tmp`` and start its replay child (None: no git history)."""
    tree = tmp / "filing-day"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", COMMIT, "polyarb"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return FilingDayReplay(tree)


if __name__ == "__main__":  # a quick look: one filing-day replay
    with tempfile.TemporaryDirectory() as tmp:
        fd = open_filing_day(Path(tmp))
        if fd is None:
            raise SystemExit("no git history: cannot extract the filing-day code")
        print(f"{fd.rows:,} rows, {fd.replay():.3f} CPU-s")
        fd.close()
