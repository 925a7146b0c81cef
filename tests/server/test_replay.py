"""``polyarb serve``: the market-channel protocol, replay order, pacing and faults."""

from __future__ import annotations

import asyncio
import json
import time
from itertools import pairwise
from pathlib import Path

import pytest
from serve_support import subscribe
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from polyarb.events import CONTROL_TEXTS, BookSnapshot, LevelChange, RejectedFrame
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader
from polyarb.recording.imports.negrisk import import_negrisk
from polyarb.server import FaultPlan, ReplayServer
from polyarb.server.thread import ServerThread


def session_frames(path: Path) -> list[str]:
    return [f.payload for f in SessionReader(path).frames() if f.kind == "frame"]


async def collect(url: str, first: str, *, limit: int = 10**9, timeout: float = 20) -> list[str]:
    """Send ``first``, then read until the server closes (or ``limit`` frames)."""
    out: list[str] = []
    # max_queue=None: a client that stops reading early must still see the close frame.
    async with connect(url, ping_interval=None, max_size=None, max_queue=None) as ws:
        await ws.send(first)
        try:
            async with asyncio.timeout(timeout):
                while len(out) < limit:
                    out.append(await ws.recv())
        except ConnectionClosed:
            pass
    return out


def asset_of(text: str) -> set[str]:
    assets: set[str] = set()
    for event in parse_frame(text):
        asset = getattr(event, "asset_id", None)
        if asset:
            assets.add(asset)
        assets.update(getattr(event, "asset_ids", ()))
    return assets


def test_max_replays_every_frame_in_order_after_one_dump(burst: Path) -> None:
    frames = session_frames(burst)
    with ServerThread(burst, speed=None, exit_at_end=True) as server:
        assets = SessionReader(burst).manifest["assets"]
        got = asyncio.run(collect(server.url, subscribe(assets)))
    dump = json.loads(got[0])
    assert isinstance(dump, list) and [d["event_type"] for d in dump] == ["book"]
    # The session opens with one book; it becomes the dump, the rest follows as recorded.
    assert json.loads(frames[0]) == dump[0]
    assert got[1:] == frames[1:]
    assert server.stats.frames == len(got)
    assert server.stats.bytes == sum(len(t.encode()) for t in got)


def test_max_bulk_path_sends_what_the_paced_path_sends(resolvedkit: Path) -> None:
    # --max to a client that takes everything goes out in chunks of frames (one write
    # each); a paced replay goes frame by frame. Same bytes, same stats, same digest.
    assets = SessionReader(resolvedkit).manifest["assets"]
    runs = {}
    for speed in (None, 1e9):
        with ServerThread(resolvedkit, speed=speed, exit_at_end=True, digest=True) as server:
            got = asyncio.run(collect(server.url, subscribe(assets)))
        runs[speed] = (got, server.stats.connections[0])
    (bulk, bulk_stats), (paced, paced_stats) = runs[None], runs[1e9]
    assert len(bulk) > 30_000 and bulk == paced
    assert (bulk_stats.frames, bulk_stats.bytes, bulk_stats.sha256) == (
        paced_stats.frames,
        paced_stats.bytes,
        paced_stats.sha256,
    )
    assert bulk_stats.data_frames == paced_stats.data_frames == len(bulk) - 1  # minus the dump


def test_only_subscribed_assets_and_dump_holds_their_books(resolvedkit: Path) -> None:
    reader = SessionReader(resolvedkit)
    market = reader.markets()[3]
    wanted = set(market.token_ids)
    with ServerThread(resolvedkit, speed=None, exit_at_end=True) as server:
        got = asyncio.run(collect(server.url, subscribe(list(market.token_ids))))
    assert got, "nothing received"
    for text in got:
        assert asset_of(text) <= wanted, text[:120]
    books = [e for t in got for e in parse_frame(t) if isinstance(e, BookSnapshot)]
    assert {b.asset_id for b in books} == wanted
    expected = [p for p in session_frames(resolvedkit) if asset_of(p) and asset_of(p) <= wanted]
    assert got == expected  # this market opens later, so its first books arrive as recorded


def test_custom_feature_off_hides_market_resolved(resolvedkit: Path) -> None:
    market = SessionReader(resolvedkit).markets()[0]
    with ServerThread(resolvedkit, speed=None, exit_at_end=True) as server:
        on = asyncio.run(collect(server.url, subscribe(list(market.token_ids))))
    with ServerThread(resolvedkit, speed=None, exit_at_end=True) as server:
        off = asyncio.run(collect(server.url, subscribe(list(market.token_ids), custom=False)))
    assert sum('"market_resolved"' in t for t in on) == 1
    assert not any('"market_resolved"' in t for t in off)
    assert len(on) == len(off) + 1


async def next_reply(ws: ClientConnection, *, array: bool = False) -> str:
    """The next control text (or JSON array, with ``array``), skipping streamed data."""
    while True:
        text = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(text, str)
        if text in CONTROL_TEXTS or (array and text.startswith("[")):
            return text


def test_ping_pong_and_second_initial_subscribe(burst: Path) -> None:
    yes, _ = SessionReader(burst).markets()[0].token_ids

    async def run(url: str) -> tuple[list[str], str, str]:
        async with connect(url, ping_interval=None) as ws:
            await ws.send(subscribe([yes]))
            dump = json.loads(await ws.recv())
            await ws.send("PING")
            pong = await next_reply(ws)
            await ws.send(subscribe([yes]))
            return [d["asset_id"] for d in dump], pong, await next_reply(ws)

    # Nearly frozen pace: at most the first recorded frame plays during the exchange.
    with ServerThread(burst, speed=1e-6) as server:
        dump, pong, second = asyncio.run(run(server.url))
    assert dump == [yes]
    assert pong == "PONG"
    assert second == "INVALID OPERATION"


def test_dynamic_subscribe_and_unsubscribe(resolvedkit: Path) -> None:
    market = SessionReader(resolvedkit).markets()[0]
    up, down = market.token_ids

    async def run(url: str) -> list[list[str]]:
        dumps = []
        async with connect(url, ping_interval=None) as ws:
            await ws.send(subscribe([up]))
            dumps.append(await next_reply(ws, array=True))
            op = {"assets_ids": [down], "operation": "subscribe"}
            await ws.send(json.dumps(op))
            dumps.append(await next_reply(ws, array=True))
            await ws.send(json.dumps({**op, "operation": "unsubscribe"}))
            await ws.send(json.dumps(op))  # subscribed again: a fresh book is due
            dumps.append(await next_reply(ws, array=True))
            await ws.send(json.dumps({"assets_ids": [up], "operation": "subscribe"}))
            await ws.send("PING")  # already subscribed: no dump, so the PONG comes first
            dumps.append(await next_reply(ws, array=True))
        return [[d["asset_id"] for d in json.loads(t)] if t[0] == "[" else [t] for t in dumps]

    with ServerThread(resolvedkit, speed=1e-6) as server:
        got = asyncio.run(run(server.url))
    assert got == [[up], [down], [down], ["PONG"]]


def test_ping_before_subscribe_closes_1008(burst: Path) -> None:
    async def run(url: str) -> tuple[int | None, str | None]:
        async with connect(url, ping_interval=None) as ws:
            await ws.send("PING")
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code, ws.close_reason

    with ServerThread(burst) as server:
        code, reason = asyncio.run(run(server.url))
    assert code == 1008
    assert reason == "invalid subscription payload"


def test_speed_paces_by_recorded_receive_times(burst: Path) -> None:
    reader = SessionReader(burst)
    recvs = [f.recv_ns for f in reader.frames() if f.kind == "frame"]
    span_s = (recvs[-1] - recvs[1]) / 1e9  # from the first streamed frame (after the dump)
    speed = 200.0
    with ServerThread(burst, speed=speed, exit_at_end=True) as server:
        start = time.monotonic()
        asyncio.run(collect(server.url, subscribe(reader.manifest["assets"])))
        elapsed = time.monotonic() - start
    assert elapsed >= span_s / speed * 0.9  # sleeps never return early: a firm lower bound
    assert elapsed < span_s / speed + 5


def test_disconnect_after_n_closes_1011_after_exactly_n(burst: Path) -> None:
    async def run(url: str) -> tuple[list[str], int | None]:
        frames: list[str] = []
        async with connect(url, ping_interval=None) as ws:
            await ws.send(subscribe(SessionReader(burst).manifest["assets"]))
            with pytest.raises(ConnectionClosed):
                while True:
                    frames.append(await asyncio.wait_for(ws.recv(), 10))
            return frames, ws.close_code

    plan = FaultPlan(disconnect_after=7)
    with ServerThread(burst, speed=None, faults=plan) as server:
        frames, code = asyncio.run(run(server.url))
    assert code == 1011
    assert len(frames) == 1 + 7  # the dump, then exactly 7 streamed frames
    assert frames[1:] == session_frames(burst)[1:8]


def test_freeze_stops_data_but_answers_ping(burst: Path) -> None:
    async def run(url: str) -> tuple[list[str], str]:
        got: list[str] = []
        async with connect(url, ping_interval=None) as ws:
            await ws.send(subscribe(SessionReader(burst).manifest["assets"]))
            with pytest.raises(TimeoutError):
                while True:
                    got.append(await asyncio.wait_for(ws.recv(), 1.0))
            await ws.send("PING")
            return got, await asyncio.wait_for(ws.recv(), 5)

    with ServerThread(burst, speed=None, faults=FaultPlan(freeze_after=5)) as server:
        got, pong = asyncio.run(run(server.url))
    assert len(got) == 1 + 5
    assert pong == "PONG"
    assert server.stats.connections[0].dropped > 0


def test_garbage_duplicates_and_delay(burst: Path) -> None:
    frames = session_frames(burst)
    plan = FaultPlan(garbage_every=10, duplicate_every=7, delay_every=5, delay_ms=20)
    with ServerThread(burst, speed=None, faults=plan, exit_at_end=True) as server:
        start = time.monotonic()
        got = asyncio.run(collect(server.url, subscribe(SessionReader(burst).manifest["assets"])))
        elapsed = time.monotonic() - start
    data = len(frames) - 1  # streamed frames: the session's, minus the book folded into the dump
    garbage = [t for t in got if isinstance(parse_frame(t)[0], RejectedFrame)]
    assert len(garbage) == data // 10
    duplicates = sum(1 for a, b in pairwise(got) if a == b)
    assert duplicates == data // 7
    assert len(got) == 1 + data + data // 10 + data // 7
    assert elapsed >= (data // 5) * 0.020 * 0.9


def test_fault_connections_limits_faults_to_the_first(burst: Path) -> None:
    plan = FaultPlan(disconnect_after=3, connections=1)
    assets = SessionReader(burst).manifest["assets"]

    async def run(url: str) -> tuple[list[str], list[str]]:
        first = await collect(url, subscribe(assets), timeout=10)
        second = await collect(url, subscribe(assets), limit=10, timeout=10)
        return first, second

    with ServerThread(burst, speed=None, faults=plan) as server:
        first, second = asyncio.run(run(server.url))
    assert len(first) == 1 + 3
    assert len(second) == 10  # the second connection is not faulted


def test_speed_must_be_positive(burst: Path) -> None:
    with pytest.raises(ValueError, match="speed"):
        ReplayServer(burst, speed=0)


def _book_state(frames: list[str]) -> dict[str, tuple[dict[int, int], dict[int, int], str]]:
    """Each asset's levels and hash after every frame, by the project's parser (not the server)."""
    state: dict[str, tuple[dict[int, int], dict[int, int], str]] = {}
    for text in frames:
        for event in parse_frame(text):
            if isinstance(event, BookSnapshot):
                state[event.asset_id] = (dict(event.bids), dict(event.asks), event.hash)
            elif isinstance(event, LevelChange) and event.asset_id in state:
                bids, asks, old = state[event.asset_id]
                side = bids if event.side == "BUY" else asks
                if event.size:
                    side[event.price] = event.size
                else:
                    side.pop(event.price, None)
                state[event.asset_id] = (bids, asks, event.hash or old)
    return state


def test_a_late_subscriber_gets_books_with_later_changes_folded_in(
    shared_data: Path, tmp_path: Path
) -> None:
    # Like the exchange, the dump is the book as it stands now, not the last recorded
    # `book` frame: the price_changes after it are folded in, hash and timestamp included.
    session = import_negrisk(shared_data, tmp_path)
    assets = SessionReader(session).manifest["assets"]
    frames = session_frames(session)
    with ServerThread(session, speed=None) as server:

        async def late_dump() -> str:
            async with connect(server.url, ping_interval=None, max_queue=None) as early:
                await early.send(subscribe(assets))
                assert await asyncio.to_thread(server.wait_finished, 30)
                async with connect(server.url, ping_interval=None, max_size=None) as late:
                    await late.send(subscribe(assets))
                    text = await asyncio.wait_for(late.recv(), 10)
                    assert isinstance(text, str)
                    return text

        dump = asyncio.run(late_dump())
    books = {e.asset_id: e for e in parse_frame(dump) if isinstance(e, BookSnapshot)}
    expected = _book_state(frames)
    assert set(books) == set(expected)
    for asset, book in books.items():
        assert (dict(book.bids), dict(book.asks), book.hash) == expected[asset], asset
    last_books = {
        e.asset_id: e for t in frames for e in parse_frame(t) if isinstance(e, BookSnapshot)
    }
    changed = [a for a in books if books[a].hash != last_books[a].hash]
    assert len(changed) >= 3  # the session's price_changes moved several books since
