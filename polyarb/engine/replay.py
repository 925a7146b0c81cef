"""Replay: a session's rows, in order, through :class:`~polyarb.engine.Engine` into a run folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from polyarb._version import __version__
from polyarb.alerts import AlertRules
from polyarb.config.profile import Profile
from polyarb.engine.engine import Engine
from polyarb.engine.run_writer import RunWriter
from polyarb.engine.sink import RunSink, decisions_sha256
from polyarb.execution.venue_api import Venue
from polyarb.protocol.markets import MarketMeta
from polyarb.recording.reader import SessionReader

COLUMNS = ["seq", "recv_ns", "conn_id", "kind", "payload"]


def default_run_id(profile: Profile) -> str:
    """``<profile name>-<first 8 of its sha256>``: rerunning one profile replaces its run."""
    return f"{profile.name}-{profile.sha256()[:8]}"


def split_history(
    history: list[tuple[int, MarketMeta]],
) -> tuple[list[MarketMeta], list[tuple[int, MarketMeta]]]:
    """Metadata known at the start (seq 0) and the later changes."""
    start = [m for seq, m in history if seq <= 0]
    later = [(seq, m) for seq, m in history if seq > 0]
    return start, later


def run_session(
    reader: SessionReader,
    engine: Engine,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 16_384,
) -> dict[str, Any]:
    """Feed every row of ``reader`` to ``engine`` and finish it; returns the summary."""
    total = int(reader.manifest.get("frames") or 0) or reader.count()
    done = 0
    on_frame = engine.on_frame
    for batch in reader.iter_batches(batch_size=batch_size, columns=COLUMNS):
        cols = [batch.column(i).to_pylist() for i in range(len(COLUMNS))]
        for seq, recv_ns, conn_id, kind, payload in zip(*cols, strict=True):
            on_frame(seq, recv_ns, kind, payload, conn_id)
        done += batch.num_rows
        if progress is not None:
            progress(done, total)
    return engine.finish()


def replay(
    session: Path | str,
    profile: Profile,
    *,
    run_id: str | None = None,
    alert_rules: AlertRules | None = None,
    progress: Callable[[int, int], None] | None = None,
    sink: RunSink | None = None,
    venue: Venue | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """Replay ``session`` with ``profile`` into ``<session>/runs/<run_id>/``; returns run.json.

    With ``sink`` given, rows go there instead and no folder is written. ``venue``
    replaces the simulated venue (a live recording replays with ``UserRowVenue``).
    """
    reader = SessionReader(session)
    start, later = split_history(reader.market_history())
    run_id = run_id or default_run_id(profile)
    writer = RunWriter(reader.dir / "runs" / run_id) if sink is None else None
    out: RunSink = writer if writer is not None else sink  # type: ignore[assignment]
    engine = Engine(
        start, profile, out, alert_rules=alert_rules, updates=later, venue=venue, live=live
    )
    out.log(
        f"replay session={reader.id} profile={profile.name} sha256={profile.sha256()} "
        f"run_id={run_id}"
    )
    summary = run_session(reader, engine, progress)
    rows = (
        writer.tables["decisions"]
        if writer is not None
        else getattr(sink, "tables", {}).get("decisions", [])
    )
    run_json: dict[str, Any] = {
        "run_id": run_id,
        "session_id": reader.id,
        "mode": "replay",
        "profile_name": profile.name,
        "profile_sha256": profile.sha256(),
        "phase": profile.phase,
        "polyarb_version": __version__,
        "first_recv_ns": engine.first_recv_ns,
        "last_recv_ns": engine.now_ns,
        "frames": engine.frames,
        "counts": writer.counts() if writer is not None else {},
        "summary": summary,
        "decisions_sha256": decisions_sha256(rows),
    }
    if writer is not None:
        writer.close(run_json)
        run_json["run_dir"] = str(writer.dir)
    return run_json
