"""``polyarb record`` against ``polyarb serve``: lossless, also across injected faults."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from recorder_support import REPO, epochs, record, serve_process

from polyarb.recording import SessionReader
from polyarb.recording.recorder import RecorderStatus
from polyarb.server import FaultPlan
from polyarb.server.thread import ServerThread
from polyarb.testing.sessions import build_repeated_session


@pytest.fixture
def resolvedkit(bundled_recordings: Path) -> Path:
    return bundled_recordings / "resolvedkit-btc15m"


def _finished_event(server: ServerThread) -> asyncio.Event:
    """An asyncio event (for this loop) set when the server thread has played everything."""
    loop = asyncio.get_running_loop()
    event = asyncio.Event()

    def wait() -> None:
        server.wait_finished()
        loop.call_soon_threadsafe(event.set)

    threading.Thread(target=wait, daemon=True).start()
    return event


def _record_against(server: ServerThread, out: Path, assets: list[str], **cfg: object) -> None:
    async def main() -> None:
        await record(server.url, out, "rec", assets, until=_finished_event(server), **cfg)

    asyncio.run(main())


def test_records_exactly_what_was_served(resolvedkit: Path, tmp_path: Path) -> None:
    reader = SessionReader(resolvedkit)
    with ServerThread(resolvedkit, speed=None, digest=True) as server:
        _record_against(server, tmp_path, reader.manifest["assets"])
    rec = SessionReader(tmp_path / "rec")
    assert rec.sealed
    sent = server.stats.connections
    got = epochs(tmp_path / "rec")
    assert [(e.frames, e.bytes, e.sha256) for e in got] == [
        (c.frames, c.bytes, c.sha256) for c in sent
    ]
    assert server.stats.finished and server.stats.frames == rec.manifest["counts"]["frame"]
    kinds = [f.kind for f in rec.frames()][:2]
    assert kinds == ["open", "subscribe"]
    subscribe = json.loads(next(f.payload for f in rec.frames() if f.kind == "subscribe"))
    assert subscribe["initial_dump"] is True and subscribe["type"] == "market"
    ticks = [json.loads(f.payload) for f in rec.frames() if f.kind == "tick"]
    assert ticks and all(t["connections"] == 1 for t in ticks)
    assert all(f.conn_id == -1 for f in rec.frames() if f.kind == "tick")
    # Frames completed by one socket read share its receive time (they arrive as one block).
    recvs = [f.recv_ns for f in rec.frames() if f.kind == "frame"]
    assert recvs == sorted(recvs) and len(set(recvs)) < len(recvs) // 4


def test_disconnects_lose_nothing_that_was_sent(resolvedkit: Path, tmp_path: Path) -> None:
    reader = SessionReader(resolvedkit)
    plan = FaultPlan(disconnect_after=4_000)
    with ServerThread(resolvedkit, speed=None, digest=True, faults=plan) as server:
        _record_against(server, tmp_path, reader.manifest["assets"])
    sent = server.stats.connections
    assert len(sent) >= 9  # 38k frames / 4k per connection
    got = epochs(tmp_path / "rec")
    assert [(e.frames, e.bytes, e.sha256) for e in got] == [
        (c.frames, c.bytes, c.sha256) for c in sent
    ]
    rows = [f for f in SessionReader(tmp_path / "rec").frames() if f.kind != "tick"]
    gaps = [json.loads(f.payload) for f in rows if f.kind == "gap"]
    assert len(gaps) == len(sent) - 1
    assert all("1011" in g["reason"] for g in gaps)
    # After each reconnect: close, gap, open, subscribe, then a fresh dump (a JSON array).
    for i, f in enumerate(rows):
        if f.kind == "gap":
            assert [r.kind for r in rows[i + 1 : i + 3]] == ["open", "subscribe"]
            nxt = next(r for r in rows[i + 3 :] if r.kind == "frame")
            assert nxt.payload.startswith("[")


def test_sharded_connections_each_subscribe_their_assets(resolvedkit: Path, tmp_path: Path) -> None:
    assets = SessionReader(resolvedkit).manifest["assets"]
    with ServerThread(resolvedkit, speed=None, digest=True, clients=4) as server:
        _record_against(server, tmp_path, assets, shard_size=10)
    rows = list(SessionReader(tmp_path / "rec").frames())
    subs = {f.conn_id: json.loads(f.payload)["assets_ids"] for f in rows if f.kind == "subscribe"}
    assert sorted(len(s) for s in subs.values()) == [6, 10, 10, 10]
    assert sorted(a for s in subs.values() for a in s) == sorted(assets)
    by_index = sorted(server.stats.connections, key=lambda c: c.index)
    recorded = sum(1 for f in rows if f.kind == "frame")
    assert recorded == sum(c.frames for c in by_index)
    assert sorted((e.frames, e.sha256) for e in epochs(tmp_path / "rec")) == sorted(
        (c.frames, c.sha256) for c in by_index
    )


def test_watchdog_reconnects_a_silent_connection_pongs_do_not_count(
    resolvedkit: Path, tmp_path: Path
) -> None:
    plan = FaultPlan(freeze_after=50, connections=1)
    assets = SessionReader(resolvedkit).manifest["assets"]

    frames_at_gap: list[int] = []

    def reconnected_with_data(status: RecorderStatus) -> bool:
        # Until the watchdog has reconnected and data flows again (not a fixed 3 s): the
        # first frame after the reopen is the fresh snapshot, PINGs come 0.1 s later.
        if status.gaps and not frames_at_gap:
            frames_at_gap.append(status.frames)
        return bool(frames_at_gap) and status.connected == 1 and status.frames > frames_at_gap[0]

    async def main(server: ServerThread) -> None:
        await record(
            server.url,
            tmp_path,
            "rec",
            assets,
            until=reconnected_with_data,
            ping_interval_s=0.1,
            silence_timeout_s=0.8,
        )

    with ServerThread(resolvedkit, speed=2000, faults=plan) as server:
        asyncio.run(main(server))
    rows = list(SessionReader(tmp_path / "rec").frames())
    gaps = [json.loads(f.payload) for f in rows if f.kind == "gap"]
    assert gaps and "watchdog" in gaps[0]["reason"]
    first_gap = next(i for i, f in enumerate(rows) if f.kind == "gap")
    frozen = rows[:first_gap]
    assert sum(f.payload == "PONG" for f in frozen) >= 3  # PONGs kept coming while frozen
    data = [f for f in frozen if f.kind == "frame" and f.payload != "PONG"]
    assert len(data) == 1 + 50
    assert sum(f.kind == "open" for f in rows) >= 2
    opens = [i for i, f in enumerate(rows) if f.kind == "open"]
    after = next(f for f in rows[opens[1] :] if f.kind == "frame" and f.payload != "PONG")
    assert after.payload.startswith("[")  # the fresh snapshot
    # PINGs only after subscribing: the server closes 1008 otherwise.
    closes = [json.loads(f.payload) for f in rows if f.kind == "close"]
    assert all(c["code"] != 1008 for c in closes)


def test_garbage_and_duplicates_are_recorded_raw(resolvedkit: Path, tmp_path: Path) -> None:
    plan = FaultPlan(garbage_every=1000, duplicate_every=500)
    assets = SessionReader(resolvedkit).manifest["assets"]
    with ServerThread(resolvedkit, speed=None, digest=True, faults=plan) as server:
        _record_against(server, tmp_path, assets)
    got = epochs(tmp_path / "rec")
    assert [(e.frames, e.sha256) for e in got] == [
        (c.frames, c.sha256) for c in server.stats.connections
    ]


@pytest.mark.slow
def test_lossless_at_scale_200k_frames(bundled_recordings: Path, tmp_path: Path) -> None:
    """200k frames through ``serve --max`` (subprocess) into the recorder: same count, bytes
    and digest. The 1,000,000-frame case runs in benchmarks/bench_recorder.py."""
    sources = [
        bundled_recordings / "resolvedkit-btc15m",
        bundled_recordings / "crossing-burst-2026-09-29",
    ]
    big = build_repeated_session(sources, tmp_path / "src", "big", 200_000)
    stats_path = tmp_path / "stats.json"
    assets = SessionReader(big).manifest["assets"]
    with serve_process(big, "--max", "--exit-at-end", "--digest", "--stats", str(stats_path)) as (
        url,
        proc,
    ):

        async def main() -> None:
            ended = asyncio.Event()

            async def watch() -> None:
                while proc.poll() is None:
                    await asyncio.sleep(0.1)
                ended.set()

            watcher = asyncio.create_task(watch())
            await record(url, tmp_path, "rec", assets, until=ended, settle_s=0.2)
            await watcher

        asyncio.run(main())
    stats = json.loads(stats_path.read_text())
    assert stats["finished"] and stats["played"] == 200_000
    got = epochs(tmp_path / "rec")
    assert len(got) >= 1
    first = got[0]
    sent = stats["connections"][0]
    assert (first.frames, first.bytes, first.sha256) == (
        sent["frames"],
        sent["bytes"],
        sent["sha256"],
    )


@pytest.mark.slow
def test_record_cli_from_a_session_against_serve(resolvedkit: Path, tmp_path: Path) -> None:
    with serve_process(
        resolvedkit, "--max", "--exit-at-end", "--recordings", str(resolvedkit.parent)
    ) as (
        url,
        proc,
    ):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "polyarb",
                "record",
                "--recordings",
                str(tmp_path),
                "--markets-from",
                str(resolvedkit),
                "--url",
                url,
                "--session",
                "cli",
                "--duration",
                "4",
                "--tick-ms",
                "200",
                "--no-status",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
        proc.wait(30)
    assert result.returncode == 0, result.stderr
    assert "sealed cli" in result.stderr
    rec = SessionReader(tmp_path / "cli")
    assert rec.sealed
    assert len(rec.markets()) == len(SessionReader(resolvedkit).markets())
    assert rec.manifest["counts"]["frame"] >= 38_000


def test_parts_rotate_by_size_and_by_age(resolvedkit: Path, tmp_path: Path) -> None:
    from polyarb.feed import FeedConfig
    from polyarb.recording import SessionWriter
    from polyarb.recording.recorder import Recorder

    assets = SessionReader(resolvedkit).manifest["assets"]

    async def run(url: str, session: str, **limits: float) -> None:
        writer = SessionWriter(tmp_path, session, **limits)  # type: ignore[arg-type]
        recorder = Recorder(
            writer, assets, config=FeedConfig(url=url, tick_interval_s=0.05), flush_interval_s=0.1
        )
        task = asyncio.create_task(recorder.run())
        # Until three parts are sealed, not for a fixed time: a loaded machine records less
        # per second (the served session plays for ~45 s at this speed; the deadline is slack).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 40
        while len(list((tmp_path / session / "frames").glob("*.parquet"))) < 3:
            assert loop.time() < deadline, f"{session}: parts never rotated"
            await asyncio.sleep(0.05)
        recorder.stop()
        await task

    for session, limits in (
        ("by-size", {"part_max_bytes": 64 << 10}),
        ("by-age", {"part_max_seconds": 0.5}),
    ):
        with ServerThread(resolvedkit, speed=400) as server:
            asyncio.run(run(server.url, session, **limits))
        reader = SessionReader(tmp_path / session)
        parts = reader.manifest["parts"]
        assert len(parts) >= 3, (session, parts)
        assert not list((tmp_path / session / "frames").glob("*.arrows"))
        frames = list(reader.frames())
        assert [f.seq for f in frames] == list(range(len(frames)))
        assert [p["first_seq"] for p in parts] == sorted(p["first_seq"] for p in parts)
