"""Shared pieces of the importers: synthetic ids and the tick cadence.

Frame text in the wire's style comes from :mod:`polyarb.protocol.wire`.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec

from polyarb.recording.files import pid_alive

P = ParamSpec("P")

TICK_INTERVAL_NS = 1_000_000_000
"""Cadence of tick rows in imported sessions, as the live feed inserts them."""


def synthetic_token_id(condition_id: str, outcome: str) -> str:
    """A stable 77-digit decimal token id for data that publishes none (documented as synthetic)."""
    digest = hashlib.sha256(f"{condition_id}:{outcome}".encode()).hexdigest()
    return str(int(digest, 16) % 10**77).rjust(77, "1")


STAGE_PREFIX = ".importing-"
"""Hidden staging folders under the recordings root: never listed as sessions."""


def _clear_stale_stages(recordings: Path) -> None:
    """Remove what an import that was killed mid-way left (its process is gone)."""
    for stage in recordings.glob(f"{STAGE_PREFIX}*"):
        pid = stage.name.rsplit("-", 1)[-1]
        if stage.is_dir() and not stage.is_symlink() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def staged_session(recordings: Path, session_id: str) -> Iterator[Path]:
    """A hidden folder to write ``<session_id>/`` into; moved to ``recordings/`` only on success.

    An import that raises or is killed part-way never leaves an empty or unsealed
    session in ``recordings/``: the old session (if any) stays until the new one is
    sealed, then is swapped out by two renames on the same file system. The old
    session's runs (replays, shadow runs, parity reports: hours of work) are moved
    into the new session first, never deleted: see :func:`keep_runs`.
    """
    recordings.mkdir(parents=True, exist_ok=True)
    _clear_stale_stages(recordings)
    stage = recordings / f"{STAGE_PREFIX}{session_id}-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        target = recordings / session_id
        if target.is_dir() and not target.is_symlink():
            keep_runs(target, stage / session_id)
        if target.exists() or target.is_symlink():
            target.rename(stage / ".replaced")
        (stage / session_id).rename(target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def keep_runs(old: Path, new: Path) -> list[str]:
    """Move every run folder of session ``old`` into session ``new``; returns their names.

    A run the new session already has keeps its name and the old one is kept beside it
    as ``<run>.previous[-N]``: nothing of the old session's runs is ever dropped."""
    runs = old / "runs"
    if not runs.is_dir():
        return []
    dest = new / "runs"
    kept = []
    for run in sorted(runs.iterdir()):
        if run.name.startswith(".") or not run.is_dir():
            continue
        dest.mkdir(parents=True, exist_ok=True)
        name, n = run.name, 0
        while (dest / name).exists():
            n += 1
            name = f"{run.name}.previous" + (f"-{n}" if n > 1 else "")
        run.rename(dest / name)
        kept.append(name)
    return kept


def existing_runs(recordings: Path) -> dict[str, list[str]]:
    """``{session id: [run ids]}`` under ``recordings`` now (what an import must keep)."""
    out: dict[str, list[str]] = {}
    for runs in sorted(recordings.glob("*/runs")):
        if runs.parent.name.startswith("."):
            continue
        names = sorted(p.name for p in runs.iterdir() if p.is_dir() and not p.name.startswith("."))
        if names:
            out[runs.parent.name] = names
    return out


def staged(importer: Callable[P, Path]) -> Callable[P, Path]:
    """Run ``importer(shared, recordings, ..., session_id=...)`` inside :func:`staged_session`."""
    signature = inspect.signature(importer)

    @functools.wraps(importer)
    def run(*args: P.args, **kwargs: P.kwargs) -> Path:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        recordings = Path(bound.arguments["recordings"])
        session_id = str(bound.arguments["session_id"])
        with staged_session(recordings, session_id) as stage:
            bound.arguments["recordings"] = stage
            importer(*bound.args, **bound.kwargs)
        return recordings / session_id

    return run
