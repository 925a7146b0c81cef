"""The live recorder: feed rows → a session on disk, lossless and crash-safe.

The event loop only appends each row, and each socket read's frames as one
:class:`FrameBlock`, to a deque (the feed's sinks). A store
thread drains it every ``flush_interval_s`` into the :class:`SessionWriter`'s
journal, so a SIGKILL loses at most that interval; full parts are sealed to
Parquet in a second thread while new rows go to the next journal, so sealing
never stalls receiving. A store error (disk full, read-only folder) stops the
recording with a clear message; what is on disk stays readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TextIO

from polyarb.clock import WallClock
from polyarb.feed import FeedClient, FeedConfig, frames_to_rows
from polyarb.frames import FrameBlock
from polyarb.protocol.markets import MarketMeta
from polyarb.recording.reader import read_markets_table
from polyarb.recording.writer import SessionWriter, StoreError, seal_journal

Row = tuple[str, str, int, int, int]
_POLL_S = 0.02
_DRAIN_ITEMS = 64
"""Queued rows or blocks (a block is one socket read, up to 256 KiB) that trigger a drain."""
Item = Row | FrameBlock


class _Store(threading.Thread):
    """Owns the writer: drains rows, flushes the journal, rotates and seals parts."""

    def __init__(self, writer: SessionWriter, rows: deque[Item], interval_s: float) -> None:
        super().__init__(name="polyarb-store", daemon=True)
        self.writer = writer
        self.rows = rows
        self.interval_s = interval_s
        self.error: BaseException | None = None
        self.on_error: Callable[[], None] = lambda: None
        self.rows_written = 0
        self._finish = threading.Event()
        self._sealer = ThreadPoolExecutor(1, thread_name_prefix="polyarb-seal")
        self._sealing: list[Future[dict[str, Any] | None]] = []

    def run(self) -> None:
        try:
            last = time.monotonic()
            while not self._finish.wait(_POLL_S):
                # A burst drains early: what waits in memory stays a few MB, not an interval's.
                if len(self.rows) >= _DRAIN_ITEMS or time.monotonic() - last >= self.interval_s:
                    last = time.monotonic()
                    self._drain()
            self._drain()
            self._submit(self.writer.detach_part())
            for future in self._sealing:
                future.result()
            self._collect()
            self.writer.close()
        except BaseException as exc:
            self.error = exc
            self.on_error()
        finally:
            self._sealer.shutdown(wait=True)

    def finish(self) -> None:
        self._finish.set()

    def _drain(self) -> None:
        items = self.rows
        writer = self.writer
        first = writer.next_seq
        for _ in range(len(items)):
            item = items.popleft()
            if isinstance(item, FrameBlock):
                writer.append_block(item)
            else:
                writer.append(*item)
        if writer.next_seq != first:
            writer.flush()
            self.rows_written += writer.next_seq - first
        self._collect()
        if self.writer.part_full():
            self._submit(self.writer.detach_part())

    def _submit(self, journal: Any) -> None:
        if journal is not None:
            level = self.writer.compression_level
            self._sealing.append(self._sealer.submit(seal_journal, journal, level))

    def _collect(self) -> None:
        done = [f for f in self._sealing if f.done()]
        for future in done:
            self._sealing.remove(future)
            self.writer.add_part(future.result())  # re-raises a seal's StoreError here


@dataclass
class RecorderStatus:
    """What the status line shows (also returned when a recording ends)."""

    frames: int
    frames_per_s: float
    connected: int
    connections: int
    bytes: int
    gaps: int
    rows_written: int

    def line(self) -> str:
        return (
            f"{self.frames_per_s:>9,.0f} frames/s  {self.frames:>12,} frames  "
            f"{self.connected}/{self.connections} connected  "
            f"{self.bytes / 1e6:>9,.1f} MB  {self.gaps} gaps"
        )


class Recorder:
    """Record ``assets`` through a :class:`FeedClient` into ``writer`` until stopped.

    ``markets`` go to ``markets.parquet`` first (only those whose metadata
    changed when resuming a session). ``tap``, if given, also receives every
    row, in order, on the event loop (shadow mode's engine). Call :meth:`stop`
    (e.g. from a signal handler) to seal the session.
    """

    def __init__(
        self,
        writer: SessionWriter,
        assets: list[str],
        *,
        markets: list[MarketMeta] | None = None,
        config: FeedConfig | None = None,
        clock: WallClock | None = None,
        rng: random.Random | None = None,
        flush_interval_s: float = 0.5,
        status: TextIO | None = None,
        status_interval_s: float = 1.0,
        tap: Callable[[str, str, int, int, int], None] | None = None,
    ) -> None:
        if not 0 < flush_interval_s <= 1.0:
            raise ValueError(f"flush interval must be within (0, 1] s, got {flush_interval_s}")
        self.writer = writer
        self.rows: deque[Item] = deque()
        append = self.rows.append

        def sink(kind: str, payload: str, recv_ns: int, mono_ns: int, conn_id: int) -> None:
            append((kind, payload, recv_ns, mono_ns, conn_id))

        frames_sink: Callable[[FrameBlock], None] = append
        if tap is not None:
            # Shadow mode: the engine sees each row right after it is queued for disk, in the
            # same order, so the writer's seq numbering is the engine's too.
            def tapped(kind: str, payload: str, recv_ns: int, mono_ns: int, conn_id: int) -> None:
                append((kind, payload, recv_ns, mono_ns, conn_id))
                tap(kind, payload, recv_ns, mono_ns, conn_id)

            tap_frames = frames_to_rows(tap)

            def tapped_frames(block: FrameBlock) -> None:
                append(block)
                tap_frames(block)

            sink, frames_sink = tapped, tapped_frames

        self.push = sink
        """Add one row to the journal (and the tap) as if the feed had delivered it: call on the
        event loop's thread only (live mode's user-channel frames and REST answers)."""
        self.feed = FeedClient(
            assets, sink, frames_sink=frames_sink, config=config, clock=clock, rng=rng
        )
        self._markets = markets or []
        self._store = _Store(writer, self.rows, flush_interval_s)
        self._status = status
        self._status_interval_s = status_interval_s
        self._stop = asyncio.Event()
        writer.set_assets(assets)

    def stop(self) -> None:
        """Ask the recording to end; :meth:`run` then seals the session and returns."""
        self._stop.set()

    def status(self, frames_per_s: float = 0.0) -> RecorderStatus:
        feed = self.feed
        return RecorderStatus(
            feed.frames,
            frames_per_s,
            feed.connected,
            len(feed.connections),
            feed.bytes,
            feed.gaps,
            self._store.rows_written,
        )

    async def run(self, duration_s: float | None = None) -> RecorderStatus:
        """Record until :meth:`stop`, ``duration_s`` or a store error; always seals."""
        self._write_markets()
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._stop.set)

        self._store.on_error = wake
        self._store.start()
        feed_task = asyncio.create_task(self.feed.run(), name="feed")
        status_task = asyncio.create_task(self._show_status()) if self._status else None
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), duration_s)
        finally:
            self.feed.stop()
            await feed_task
            if status_task is not None:
                status_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await status_task
            self._store.finish()
            await asyncio.to_thread(self._store.join)
            if self._status:
                self._status.write("\n")
        if self._store.error is not None:
            error = self._store.error
            if isinstance(error, StoreError):
                raise error
            raise StoreError(f"recording stopped: {type(error).__name__}: {error}") from error
        return self.status()

    def _write_markets(self) -> None:
        path = self.writer.dir / "markets.parquet"
        known = {m.condition_id: m for _, m in read_markets_table(path)} if path.exists() else {}
        changed = [m for m in self._markets if known.get(m.condition_id) != m]
        if changed:
            self.writer.write_markets(changed, valid_from_seq=self.writer.next_seq)

    async def _show_status(self) -> None:
        out = self._status
        assert out is not None
        last_frames, last_t = 0, time.monotonic()
        while True:
            await asyncio.sleep(self._status_interval_s)
            now = time.monotonic()
            frames = self.feed.frames
            rate = (frames - last_frames) / max(1e-9, now - last_t)
            last_frames, last_t = frames, now
            out.write("\r" + self.status(rate).line())
            out.flush()


def default_status_stream() -> TextIO | None:
    """stderr when it is a terminal (the live status line), else nothing."""
    return sys.stderr if sys.stderr.isatty() else None
