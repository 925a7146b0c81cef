"""The feed client: backoff, heartbeat order, reconnects, ticks, the queue sink."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.server import ServerConnection, serve

from polyarb.feed import Backoff, FeedClient, FeedConfig, QueueSink


@given(
    seed=st.integers(0, 2**32),
    initial=st.floats(0.01, 5),
    factor=st.floats(1, 100),
    jitter=st.floats(0, 1),
    attempts=st.integers(1, 80),
)
def test_backoff_stays_within_its_bounds(
    seed: int, initial: float, factor: float, jitter: float, attempts: int
) -> None:
    cap = initial * factor
    backoff = Backoff(initial, cap, jitter=jitter, rng=random.Random(seed))
    for n in range(attempts):
        base = min(cap, initial * 2**n)
        delay = backoff.next()
        assert base * (1 - jitter) - 1e-9 <= delay <= base + 1e-9


def test_backoff_is_seeded_and_resets() -> None:
    a = [Backoff(0.5, 30, rng=random.Random(7)).next() for _ in range(3)]
    b = [Backoff(0.5, 30, rng=random.Random(7)).next() for _ in range(3)]
    assert a == b
    backoff = Backoff(1, 8, jitter=0)
    assert [backoff.next() for _ in range(5)] == [1, 2, 4, 8, 8]
    backoff.reset()
    assert backoff.next() == 1


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="shard_size"):
        FeedConfig(shard_size=0)
    with pytest.raises(ValueError, match="silence_timeout_s"):
        FeedConfig(silence_timeout_s=0)


def test_sharding_splits_at_most_shard_size() -> None:
    assets = [str(10**40 + i) for i in range(450)]
    client = FeedClient(assets + assets[:10], lambda *row: None, config=FeedConfig(shard_size=200))
    sizes = [len(c.assets) for c in client.connections]
    assert sizes == [200, 200, 50]
    assert [a for c in client.connections for a in c.assets] == assets


async def _introspect(
    ping_s: float, enough: Callable[[list[tuple[float, str]], list[tuple]], bool]
) -> tuple[list[tuple[float, str]], list[tuple], float]:
    """A bare loopback server that logs what the client sends and answers PING; the client
    runs until ``enough(seen, rows)`` (a condition, not a guessed duration: a loaded machine
    gets through less per second). Returns what was seen, the rows, and the seconds run."""
    seen: list[tuple[float, str]] = []
    rows: list[tuple] = []
    loop = asyncio.get_running_loop()

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            assert isinstance(message, str)
            seen.append((loop.time(), message))
            if message == "PING":
                await ws.send("PONG")
            else:
                await ws.send('[{"event_type":"book"}]')

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        config = FeedConfig(
            url=f"ws://127.0.0.1:{port}", ping_interval_s=ping_s, tick_interval_s=0.1
        )
        client = FeedClient(["1" * 77], lambda *row: rows.append(row), config=config)
        started = loop.time()
        task = asyncio.create_task(client.run())
        while not enough(seen, rows):
            assert loop.time() - started < 60, "the client never got there"
            await asyncio.sleep(0.05)
        elapsed = loop.time() - started
        client.stop()
        await task
    return seen, rows, elapsed


def test_subscribe_first_then_ping_at_the_interval() -> None:
    def enough(seen: list[tuple[float, str]], rows: list[tuple]) -> bool:
        pings = sum(m == "PING" for _, m in seen)
        return pings >= 3 and sum(r[0] == "tick" for r in rows) >= 8

    seen, rows, elapsed = asyncio.run(_introspect(0.2, enough))
    first = json.loads(seen[0][1])
    assert first == {
        "assets_ids": ["1" * 77],
        "type": "market",
        "custom_feature_enabled": True,
        "initial_dump": True,
    }
    pings = [t for t, m in seen if m == "PING"]
    assert 3 <= len(pings) <= elapsed / 0.2 + 1  # sleeps never return early: a firm bound
    # Never right after subscribing (the interval is 0.2 s; these are the server's receive
    # times, so a stalled loop may shave some off: not asserted to the millisecond).
    assert pings[0] - seen[0][0] >= 0.1
    kinds = [r[0] for r in rows]
    assert kinds[:3] == ["open", "subscribe", "frame"]
    assert kinds[-1] == "close" and "gap" not in kinds  # a clean stop is no gap
    ticks = [json.loads(r[1]) for r in rows if r[0] == "tick"]
    assert len(ticks) >= 8
    assert ticks[-1]["connected"] == 1 and ticks[-1]["connections"] == 1
    assert "latency_p95_us" in ticks[-1]


def test_unreachable_server_retries_with_backoff() -> None:
    async def main() -> list[tuple]:
        sink = QueueSink()
        # Port 9 (discard) on loopback: nothing listens, so every attempt is refused.
        config = FeedConfig(
            url="ws://127.0.0.1:9", backoff_initial_s=0.05, backoff_max_s=0.4, tick_interval_s=0
        )
        rows: list[tuple] = []
        client = FeedClient(["1" * 77], sink, config=config, rng=random.Random(1))
        loop = asyncio.get_running_loop()
        started = loop.time()
        task = asyncio.create_task(client.run())
        # Until five refusals, not for a guessed 1.5 s: a loaded machine retries fewer times.
        while sum(r[0] == "error" for r in rows) < 5:
            assert loop.time() - started < 60, "the client stopped retrying"
            await asyncio.sleep(0.05)
            rows += [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]
        client.stop()
        await task
        return rows + [sink.queue.get_nowait() for _ in range(sink.queue.qsize())]

    rows = asyncio.run(main())
    errors = [r for r in rows if r[0] == "error"]
    assert len(errors) >= 5
    gaps = [errors[i + 1][3] - errors[i][3] for i in range(len(errors) - 1)]
    assert gaps[-1] > gaps[0]  # the pause grows
    assert "Connect" in json.loads(errors[0][1])["error"] or "refused" in errors[0][1]
