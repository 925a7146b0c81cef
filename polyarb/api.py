"""The Python entry points behind :mod:`polyarb`'s exports that are not a class elsewhere.

Heavy modules (pyarrow, the engine) load inside the functions, so importing this
module, and ``polyarb`` itself, stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polyarb.alerts.rules import AlertRules
    from polyarb.config.profile import Profile
    from polyarb.runs.runjson import RunJson


def default_profile() -> Profile:
    """``Profile`` defaults with every registered detector on (named ``default``)."""
    from polyarb.config.profile import DETECTORS, Profile

    return Profile(name="default", detectors=tuple(DETECTORS))


def replay(
    session: str | Path,
    profile: Profile | str | Path | None = None,
    *,
    recordings: str | Path | None = None,
    run_id: str | None = None,
    cache: bool = False,
) -> RunJson:
    """Replay a session with a profile into ``<session>/runs/<run_id>/``; returns its run.json.

    ``session`` is a session folder or an id under ``recordings`` (default
    ``$POLYARB_RECORDINGS`` or ``./recordings``). ``profile`` is a :class:`Profile`, a
    profile YAML (its ``alerts:`` file is loaded too) or ``None`` for
    :func:`default_profile`. The result is a typed :class:`~polyarb.runs.runjson.RunJson`
    (``run.summary.total_pnl``, ``run.decisions_sha256``; docs/runs.md); errors are :class:`~polyarb.errors.PolyarbError` subclasses.
    ``cache`` replays from the decoded-session cache (built when missing or stale; docs/sessions.md).
    """
    from polyarb.engine.replay import replay as replay_session

    loaded, rules = _profile(profile)
    return replay_session(
        _session(session, recordings), loaded, run_id=run_id, alert_rules=rules, cache=cache
    )


def replay_many(
    session: str | Path,
    profiles: Sequence[Profile | str | Path | None],
    *,
    recordings: str | Path | None = None,
    cache: bool = False,
) -> list[RunJson]:
    """Replay a session once for several profiles (each frame parsed once); one run.json each.

    Arguments as for :func:`replay`; every run is the run ``replay`` writes for that
    profile alone (same ``decisions_sha256``), under its default run id.
    """
    from polyarb.engine.replay import replay_many as replay_session_many

    loaded = [_profile(p) for p in profiles]
    return replay_session_many(
        _session(session, recordings),
        [p for p, _ in loaded],
        alert_rules=[r for _, r in loaded],
        cache=cache,
    )


def _session(session: str | Path, recordings: str | Path | None) -> Path:
    path = Path(session)
    if not (path / "manifest.json").is_file():
        root = Path(recordings or os.environ.get("POLYARB_RECORDINGS", "recordings"))
        path = root / session
    return path


def _profile(profile: Profile | str | Path | None) -> tuple[Profile, AlertRules | None]:
    from polyarb.alerts.rules import rules_for_profile
    from polyarb.config.profile import load_profile

    if profile is None:
        return default_profile(), None
    if isinstance(profile, str | Path):
        loaded = load_profile(profile)
        return loaded, rules_for_profile(profile, loaded.alerts)
    return profile, None
