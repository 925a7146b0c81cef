"""The feed client: shards assets over connections and inserts ``tick`` rows.

Reusable by anything that consumes the market channel. Rows (open, subscribe,
close, gap, error, tick) go to ``sink``; market frames go, one socket read at
a time, to ``frames_sink`` as a :class:`FrameBlock`, or to ``sink`` one by one
when no ``frames_sink`` is given (:class:`QueueSink`, tests). Both arrive in
one order, so a recording of the stream is exactly what the consumer saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable, Iterable
from typing import Any

from polyarb.clock import WallClock
from polyarb.feed.backoff import Backoff
from polyarb.feed.config import MARKET_URL, FeedConfig
from polyarb.feed.connection import FeedConnection, FramesSink, Sink
from polyarb.frames import FrameBlock, FrameKind

TICK_CONN_ID = -1
"""``conn_id`` of tick rows: they belong to the client, not to one connection."""

__all__ = [
    "MARKET_URL",
    "TICK_CONN_ID",
    "FeedClient",
    "FeedConfig",
    "FramesSink",
    "QueueSink",
    "Sink",
    "frames_to_rows",
]


class QueueSink:
    """A sink that puts each row on an asyncio queue (for consumers that pull)."""

    def __init__(self, maxsize: int = 0) -> None:
        self.queue: asyncio.Queue[tuple[str, str, int, int, int]] = asyncio.Queue(maxsize)

    def __call__(self, kind: str, payload: str, recv_ns: int, mono_ns: int, conn_id: int) -> None:
        self.queue.put_nowait((kind, payload, recv_ns, mono_ns, conn_id))


def frames_to_rows(sink: Sink) -> FramesSink:
    """A frames sink that hands each frame of a block to ``sink`` as a ``frame`` row."""
    frame, binary = FrameKind.FRAME.value, FrameKind.BINARY.value

    def rows(block: FrameBlock) -> None:
        kind = binary if block.binary else frame  # as the writer stores it, so replays agree
        for text in block.texts():
            sink(kind, text, block.recv_ns, block.mono_ns, block.conn_id)

    return rows


class FeedClient:
    """Subscribe ``assets`` (sharded); report rows to ``sink`` and frames to ``frames_sink``."""

    def __init__(
        self,
        assets: list[str],
        sink: Sink,
        *,
        frames_sink: FramesSink | None = None,
        config: FeedConfig | None = None,
        clock: WallClock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not assets:
            raise ValueError("no assets to subscribe")
        self.config = config or FeedConfig()
        self.sink = sink
        self.frames_sink = frames_sink or frames_to_rows(sink)
        self.clock = clock or WallClock()
        rng = rng or random.Random()
        unique = list(dict.fromkeys(assets))
        size = self.config.shard_size
        self.connections = [
            FeedConnection(
                index,
                unique[start : start + size],
                self.config,
                sink,
                self.frames_sink,
                self.clock,
                Backoff(
                    self.config.backoff_initial_s,
                    self.config.backoff_max_s,
                    rng=random.Random(rng.getrandbits(64)),
                ),
            )
            for index, start in enumerate(range(0, len(unique), size))
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = asyncio.Event()

    # -- health --------------------------------------------------------------------------

    @property
    def frames(self) -> int:
        return sum(c.frames for c in self.connections)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.connections)

    @property
    def gaps(self) -> int:
        return sum(c.gaps for c in self.connections)

    @property
    def connected(self) -> int:
        return sum(1 for c in self.connections if c.up)

    extra_health: Callable[[], dict[str, Any]] | None = None
    """Fields merged into every tick payload (set by shadow/live runs)."""

    def health(self) -> dict[str, Any]:
        """The tick payload: connections up and total, PING→PONG p95 when measured."""
        out: dict[str, Any] = {"connected": self.connected, "connections": len(self.connections)}
        if self.extra_health is not None:
            # balance / rpc_ok from a monitor (polyarb.live.monitors): recorded, so replayed
            out.update(self.extra_health())
        rtts = sorted(r for c in self.connections for r in c.rtts_us)
        if rtts:
            out["latency_p95_us"] = rtts[min(len(rtts) - 1, (len(rtts) * 95) // 100)]
        return out

    def resync(self, assets: Iterable[str], why: str, *, min_interval_s: float = 30.0) -> set[str]:
        """Reconnect the connections that carry ``assets``; returns the assets handled.

        A connection resyncs at most once per ``min_interval_s``: assets whose
        connection resynced more recently (or is down, and so resyncs anyway when
        it comes back) are not returned, so the caller can ask again later.
        """
        wanted = set(assets)
        done: set[str] = set()
        now = self.clock.mono_ns()
        for conn in self.connections:
            mine = wanted.intersection(conn.assets)
            if not mine:
                continue
            recent = conn.last_resync_mono and now - conn.last_resync_mono < min_interval_s * 1e9
            if not recent and conn.resync(f"{why} ({len(mine)} asset(s))"):
                done |= mine
        return done

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Run every connection and the tick timer until :meth:`stop` is called."""
        self._tasks = [asyncio.create_task(c.run()) for c in self.connections]
        if self.config.tick_interval_s:
            self._tasks.append(asyncio.create_task(self._ticks()))
        stopped = asyncio.create_task(self._stopped.wait())
        try:
            # A task only ends early by a bug (connections retry forever): surface it.
            done, _ = await asyncio.wait(
                [stopped, *self._tasks], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not stopped and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stopped.cancel()
            await asyncio.gather(*(c.stop() for c in self.connections), return_exceptions=True)
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def stop(self) -> None:
        self._stopped.set()

    async def _ticks(self) -> None:
        # Deadlines on the monotonic clock, so the cadence does not drift with load.
        interval = int(self.config.tick_interval_s * 1e9)
        deadline = self.clock.mono_ns() + interval
        tick = FrameKind.TICK.value
        while True:
            await asyncio.sleep(max(0.0, (deadline - self.clock.mono_ns()) / 1e9))
            payload = json.dumps(self.health(), separators=(",", ":"), sort_keys=True)
            self.sink(tick, payload, self.clock.now_ns(), self.clock.mono_ns(), TICK_CONN_ID)
            deadline += interval
            now = self.clock.mono_ns()
            if deadline < now:  # the loop stalled: skip missed ticks rather than burst them
                deadline = now + interval
