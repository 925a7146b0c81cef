"""Replay: a session's rows, in order, through :class:`~polyarb.engine.Engine` into a run folder."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from polyarb.alerts import AlertRules
from polyarb.config.profile import Profile
from polyarb.engine.engine import Engine
from polyarb.engine.run_writer import RunWriter
from polyarb.engine.shared import SharedBooks
from polyarb.engine.sink import RunSink, decisions_sha256
from polyarb.execution.venue_api import Venue
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.parser import parse_frame
from polyarb.recording.event_cache import Row, ensure_cache, iter_cached_rows
from polyarb.recording.reader import SessionReader
from polyarb.runs.runjson import RunJson, RunMode, build_run_json
from polyarb.runs.summary import RunSummary

COLUMNS = ["seq", "recv_ns", "conn_id", "kind", "payload"]
_log = logging.getLogger("polyarb.replay")
BATCH_ROWS = 2_048
"""Rows read from the frames at a time. Measured on the resolvedkit session repeated 4x
(row groups of 65,536 rows): 2,048 keeps peak RSS flat from 1x to 4x (155 -> 157 MB
reading alone); 4,096 does not (169 -> 197 MB) and 16,384 peaks at 252 -> 297 MB, as the
Arrow allocator keeps the larger decoded batches. Per-batch overhead is a few Python calls."""


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


def session_rows(
    reader: SessionReader, *, cache: Path | None = None, batch_size: int = BATCH_ROWS
) -> Iterator[tuple[int, Iterator[Row]]]:
    """The session's rows in batches, ``(rows in it, its rows)``, each frame parsed once.

    Lazy within a batch: a frame's events live while the engine handles its row, so
    memory holds one batch of raw columns, not a batch of parsed books.

    From the decoded-session ``cache`` when given (:mod:`polyarb.recording.event_cache`),
    else from the frames through the parser: the engine gets events either way, so
    both go through the same :meth:`Engine.on_frame` path.
    """
    if cache is not None:
        yield from iter_cached_rows(cache)
        return
    parse = parse_frame
    for batch in reader.iter_batches(batch_size=batch_size, columns=COLUMNS):
        cols = [batch.column(i).to_pylist() for i in range(len(COLUMNS))]
        yield (
            batch.num_rows,
            (
                (seq, recv_ns, kind, payload, conn_id, parse(payload) if kind == "frame" else None)
                for seq, recv_ns, conn_id, kind, payload in zip(*cols, strict=True)
            ),
        )


def open_rows_cache(reader: SessionReader, cache: bool, log: Callable[[str], None]) -> Path | None:
    """With ``cache``, the session's valid decoded cache (built or rebuilt here); else None."""
    if not cache:
        return None

    def note(line: str) -> None:
        _log.warning(line)
        log(line)

    return ensure_cache(reader, log=note)


def run_session(
    reader: SessionReader,
    engine: Engine,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_ROWS,
    cache: Path | None = None,
) -> RunSummary:
    """Feed every row of ``reader`` (or of its ``cache``) to ``engine``; returns the summary."""
    total = int(reader.manifest.get("frames") or 0) or reader.count()
    done = 0
    on_frame = engine.on_frame
    for n, rows in session_rows(reader, cache=cache, batch_size=batch_size):
        for seq, recv_ns, kind, payload, conn_id, events in rows:
            on_frame(seq, recv_ns, kind, payload, conn_id, events)
        done += n
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
    cache: bool = False,
    prepare: Callable[[Engine], None] | None = None,
) -> RunJson:
    """Replay ``session`` with ``profile`` into ``<session>/runs/<run_id>/``; returns run.json.

    ``cache`` reads the decoded-session cache, building it first when it is missing,
    stale or corrupt (said in the run log): the same decisions, without parsing.
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
    rows_cache = open_rows_cache(reader, cache, out.log)
    summary = run_session(reader, engine, progress, cache=rows_cache)
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
    cache: bool = False,
) -> list[RunJson]:
    """Replay ``session`` once for several profiles; returns one run.json per profile, in order.

    Each frame is parsed once and the books are built once for every group of profiles
    that build the same books (same ``book_integrity`` and stale-book limit,
    :class:`~polyarb.engine.shared.SharedBooks`), so N profiles cost one parse, one
    book pass and N detector/risk/venue stacks. Every run is the run :func:`replay`
    writes for that profile alone, down to ``decisions_sha256``.
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
    # Profiles that build the same books share one BookState (one book-building pass).
    groups: dict[tuple[str, int], list[Engine]] = {}
    engines = []
    for profile, run_id, writer, rule_set in zip(profiles, ids, writers, rules, strict=True):
        key = (profile.book_integrity, profile.risk.stale_book_ms)
        group = groups.setdefault(key, [])
        books = group[0].state if group else None
        engine = Engine(start, profile, writer, alert_rules=rule_set, updates=later, books=books)
        group.append(engine)
        engines.append(engine)
        writer.log(
            f"replay session={reader.id} profile={profile.name} sha256={profile.sha256()} "
            f"run_id={run_id}"
        )
    passes = [SharedBooks(group) for group in groups.values()]
    feeds = [p.on_row for p in passes]

    def log_all(line: str) -> None:
        for writer in writers:
            writer.log(line)

    rows_cache = open_rows_cache(reader, cache, log_all)
    total = int(reader.manifest.get("frames") or 0) or reader.count()
    done = 0
    for n, rows in session_rows(reader, cache=rows_cache):
        for seq, recv_ns, kind, payload, conn_id, events in rows:
            for feed in feeds:
                feed(seq, recv_ns, kind, payload, conn_id, events)
        done += n
        if progress is not None:
            progress(done, total)
    for shared in passes:
        shared.finish()
    out: list[RunJson] = []
    for profile, run_id, writer, engine in zip(profiles, ids, writers, engines, strict=True):
        summary = engine.summary()
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
