"""``run.json``: what one run was (session, profile, code) and what it did, as a typed record.

Replay (:func:`polyarb.engine.replay.replay`) and shadow (:class:`polyarb.shadow.runner.ShadowRun`)
build it with :func:`build_run_json`; the run writer writes :meth:`RunJson.to_dict`;
:func:`read_run_json` reads one back. docs/runs.md §run.json explains each key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

import msgspec

from polyarb._version import __version__
from polyarb.config.profile import Profile
from polyarb.runs.summary import Keyed, RunFileError, RunSummary

RunMode = Literal["replay", "shadow", "live", "drill"]
"""``drill``: a breaker drill (polyarb/ops/drill.py), counted only as breaker evidence."""


class FeedStats(Keyed, msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A shadow run's feed, as the process saw it (not part of the decisions)."""

    frames: int
    bytes: int
    reconnects: int
    resyncs: int
    connections: int
    connected_ticks: int
    connection_ticks: int
    duplicate_frames: int
    max_frame_gap_ns: int


class RunJson(Keyed, msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """One run folder's ``run.json``. Optional fields are left out of the file when unset."""

    run_id: str
    session_id: str
    mode: RunMode
    profile_name: str
    profile_sha256: str
    phase: int
    polyarb_version: str
    first_recv_ns: int | None
    """Receive time of the first row (``None`` for an empty session)."""
    last_recv_ns: int
    frames: int
    counts: dict[str, int]
    """Rows per run table."""
    summary: RunSummary
    decisions_sha256: str
    # -- shadow runs only
    wall_start_ns: int | None = None
    wall_end_ns: int | None = None
    clean_exit: bool | None = None
    feed: FeedStats | None = None
    error: str | None = None
    live: dict[str, Any] | None = None
    """A live run's exchange view: orders sent and unanswered, trade statuses, user-channel
    drops, client stats, the kill switch, and account vs ledger (docs/live.md)."""
    """``<exception class>: <message>`` when the engine stopped the shadow run."""
    # -- returned by replay/shadow, never written
    run_dir: str | None = None


class FinishedEngine(Protocol):
    """What :func:`build_run_json` reads of a finished :class:`~polyarb.engine.Engine`."""

    @property
    def first_recv_ns(self) -> int | None: ...

    @property
    def now_ns(self) -> int: ...

    @property
    def frames(self) -> int: ...


def build_run_json(
    engine: FinishedEngine,
    summary: RunSummary,
    profile: Profile,
    *,
    run_id: str,
    session_id: str,
    mode: RunMode,
    counts: dict[str, int],
    decisions_sha256: str,
) -> RunJson:
    """The run.json of a finished engine run: the one builder replay and shadow share."""
    return RunJson(
        run_id=run_id,
        session_id=session_id,
        mode=mode,
        profile_name=profile.name,
        profile_sha256=profile.sha256(),
        phase=profile.phase,
        polyarb_version=__version__,
        first_recv_ns=engine.first_recv_ns,
        last_recv_ns=engine.now_ns,
        frames=engine.frames,
        counts=counts,
        summary=summary,
        decisions_sha256=decisions_sha256,
    )


def run_json_dict(run_json: RunJson) -> dict[str, object]:
    """What goes into the file: :meth:`RunJson.to_dict` without the in-memory ``run_dir``."""
    out = run_json.to_dict()
    out.pop("run_dir", None)
    return out


def read_run_json(path: Path | str) -> RunJson:
    """Read a run folder's ``run.json`` (or the file itself); :class:`RunFileError` naming it."""
    file = Path(path)
    if file.is_dir():
        file = file / "run.json"
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise RunFileError(f"{file}: cannot read run.json: {exc.strerror or exc}") from exc
    try:
        return msgspec.json.decode(data, type=RunJson, strict=True)
    except msgspec.ValidationError as exc:
        raise RunFileError(f"{file}: not a valid run.json: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise RunFileError(f"{file}: not valid JSON: {exc}") from exc
