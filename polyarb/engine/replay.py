"""Replay: a session's rows, in order, through :class:`~polyarb.engine.Engine` into a run folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from polyarb.alerts import AlertRules
from polyarb.config.profile import Profile
from polyarb.engine.engine import Engine
from polyarb.engine.run_writer import RunWriter
from polyarb.engine.sink import RunSink, decisions_sha256
from polyarb.execution.venue_api import Venue
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.parser import parse_frame
from polyarb.recording.reader import SessionReader
from polyarb.runs.runjson import RunJson, RunMode, build_run_json
from polyarb.runs.summary import RunSummary

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
) -> RunSummary:
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
    mode: RunMode = "replay",
    prepare: Callable[[Engine], None] | None = None,
) -> RunJson:
    """Replay ``session`` with ``profile`` into ``<session>/runs/<run_id>/``; returns run.json.

    ``prepare`` sees the engine before the first row (the binary breaker drill turns off
    the mirror guard of its inconsistent drill feed: polyarb.ops.drill).

    With ``sink`` given, rows go there instead and no folder is written. ``venue``
    replaces the simulated venue (a live recording replays with ``UserRowVenue``; the
    breaker drill with its ``FaultVenue`` and ``mode="drill"``).
    """
    reader = SessionReader(session)
    start, later = split_history(reader.market_history())
    run_id = run_id or default_run_id(profile)
    writer = RunWriter(reader.dir / "runs" / run_id) if sink is None else None
    out: RunSink = writer if writer is not None else sink  # type: ignore[assignment]
    engine = Engine(
        start, profile, out, alert_rules=alert_rules, updates=later, venue=venue, live=live
    )
    if prepare is not None:
        prepare(engine)
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
    run_json = build_run_json(
        engine,
        summary,
        profile,
        run_id=run_id,
        session_id=reader.id,
        mode=mode,
        counts=writer.counts() if writer is not None else {},
        decisions_sha256=decisions_sha256(rows),
    )
    if writer is not None:
        writer.close(run_json)
        run_json.run_dir = str(writer.dir)
    return run_json


def replay_many(
    session: Path | str,
    profiles: Sequence[Profile],
    *,
    run_ids: Sequence[str] | None = None,
    alert_rules: Sequence[AlertRules | None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunJson]:
    """Replay ``session`` once for several profiles; returns one run.json per profile, in order.

    Each frame is parsed once and its events go to every profile's engine (events are
    immutable), so N profiles cost the engines' work plus one parse. Every run is the
    run :func:`replay` writes for that profile alone, down to ``decisions_sha256``.
    """
    if not profiles:
        raise ValueError("replay_many needs at least one profile")
    ids = list(run_ids) if run_ids is not None else [default_run_id(p) for p in profiles]
    rules = list(alert_rules) if alert_rules is not None else [None] * len(profiles)
    if len(ids) != len(profiles) or len(rules) != len(profiles):
        raise ValueError("replay_many: run_ids and alert_rules need one entry per profile")
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"replay_many: two profiles would write the same run {dup[0]!r}")
    reader = SessionReader(session)
    start, later = split_history(reader.market_history())
    writers = [RunWriter(reader.dir / "runs" / run_id) for run_id in ids]
    engines = []
    for profile, run_id, writer, rule_set in zip(profiles, ids, writers, rules, strict=True):
        engines.append(Engine(start, profile, writer, alert_rules=rule_set, updates=later))
        writer.log(
            f"replay session={reader.id} profile={profile.name} sha256={profile.sha256()} "
            f"run_id={run_id}"
        )
    feeds = [engine.on_frame for engine in engines]
    total = int(reader.manifest.get("frames") or 0) or reader.count()
    done = 0
    for batch in reader.iter_batches(batch_size=16_384, columns=COLUMNS):
        cols = [batch.column(i).to_pylist() for i in range(len(COLUMNS))]
        for seq, recv_ns, conn_id, kind, payload in zip(*cols, strict=True):
            events = parse_frame(payload) if kind == "frame" else None
            for feed in feeds:
                feed(seq, recv_ns, kind, payload, conn_id, events)
        done += batch.num_rows
        if progress is not None:
            progress(done, total)
    out: list[RunJson] = []
    for profile, run_id, writer, engine in zip(profiles, ids, writers, engines, strict=True):
        summary = engine.finish()
        run_json = build_run_json(
            engine,
            summary,
            profile,
            run_id=run_id,
            session_id=reader.id,
            mode="replay",
            counts=writer.counts(),
            decisions_sha256=decisions_sha256(writer.tables["decisions"]),
        )
        writer.close(run_json)
        run_json.run_dir = str(writer.dir)
        out.append(run_json)
    return out
