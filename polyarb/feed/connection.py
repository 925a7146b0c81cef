"""One market-channel WebSocket for one shard of assets, kept alive across failures.

Per connection (docs/protocol.md §Subscribing, §Feed pitfalls): send the subscribe with
``initial_dump: true`` first; text ``PING`` every ``ping_interval_s`` only
after that (a PING before it gets close 1008); a data-silence watchdog that
PONGs do not feed; on any failure a ``close`` and a ``gap`` row, then a
reconnect with backoff, a fresh subscribe and so a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from polyarb.clock import WallClock
from polyarb.events import CONTROL_BYTES
from polyarb.feed.backoff import Backoff
from polyarb.feed.config import FeedConfig
from polyarb.frames import FrameBlock, FrameKind
from polyarb.protocol.wire import compact, subscribe_text

Sink = Callable[[str, str, int, int, int], None]
"""``sink(kind, payload, recv_ns, mono_ns, conn_id)``: called once per row, in arrival order."""
FramesSink = Callable[[FrameBlock], None]
"""Called with each read's market frames as one :class:`FrameBlock`, in order with the rows."""

CLOSE_SILENCE = 4000
CLOSE_PONG_TIMEOUT = 4001
CLOSE_STOP = 1000
CLOSE_RESYNC = 4002
_CONTROL_MAX = max(map(len, CONTROL_BYTES)) + 1


class _TextConnection(ClientConnection):
    """Hands each read's complete text messages to ``on_block`` as one block, in order.

    At 100k frames/s websockets' generator-based frame parser, message queue and
    ``recv()`` future cost more than everything else per frame. While the
    connection is open this class cuts the byte stream into frames itself and
    collects unfragmented text frames (RFC 6455 §5.2: server frames are unmasked)
    into one :class:`FrameBlock`-shaped ``(data, ends)`` per read; every other
    frame (control, fragmented, binary) is handed to websockets whole, so its
    parser always stays at a frame boundary and keeps doing pings, pongs,
    fragments and the closing handshake. Text is passed on as bytes, never
    decoded, so a frame that is not UTF-8 is stored exactly as it arrived; a
    binary message is passed on with ``binary=True``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_block: BlockSink | None = None
        self._early: list[tuple[bytes, bool]] = []
        self._fragments: list[bytes] | None = None
        self._binary = False
        self._pending = b""

    def data_received(self, data: bytes) -> None:
        on_block = self._on_block
        if on_block is None or self.protocol.state is not State.OPEN:
            super().data_received(data)
            return
        buf = self._pending + data if self._pending else data
        view = memoryview(buf)
        size = len(buf)
        limit = self.protocol.max_message_size
        pieces: list[memoryview] = []
        ends = array("q")
        total = 0
        pos = 0
        while size - pos >= 2:
            second = buf[pos + 1]
            if second & 0x80:  # a masked server frame: let websockets fail the connection
                self._pending = b""
                if pieces:
                    on_block(b"".join(pieces), ends)
                super().data_received(buf[pos:])
                return
            length = second & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            end = pos + head + length
            if end > size:
                break
            if buf[pos] == 0x81 and self._fragments is None and (limit is None or length <= limit):
                pieces.append(view[pos + head : end])
                total += length
                ends.append(total)
            else:
                if pieces:  # what came before this frame goes first
                    on_block(b"".join(pieces), ends)
                    pieces, ends, total = [], array("q"), 0
                super().data_received(buf[pos:end])
                if self.protocol.state is not State.OPEN:
                    self._pending = b""
                    if end < size:
                        super().data_received(buf[end:])
                    return
            pos = end
        self._pending = buf[pos:]
        if pieces:
            on_block(b"".join(pieces), ends)

    def deliver_to(self, on_block: BlockSink) -> None:
        """Start delivering; messages that arrived with the handshake go first."""
        self._on_block = on_block
        early, self._early = self._early, []
        for data, binary in early:
            on_block(data, array("q", [len(data)]), binary)

    def process_event(self, event: Any) -> None:
        if not isinstance(event, Frame) or event.opcode not in _DATA:
            super().process_event(event)
            return
        if event.opcode is not Opcode.CONT:
            self._fragments = []
            self._binary = event.opcode is Opcode.BINARY
        if self._fragments is None:
            return  # a continuation without a start: a protocol error websockets reports
        self._fragments.append(bytes(event.data))
        if not event.fin:
            return
        data = b"".join(self._fragments) if len(self._fragments) > 1 else self._fragments[0]
        self._fragments = None
        if self._on_block is None:
            self._early.append((data, self._binary))
        else:
            self._on_block(data, array("q", [len(data)]), self._binary)


_DATA = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})


class BlockSink(Protocol):
    def __call__(self, data: bytes, ends: array[int], binary: bool = False, /) -> None: ...


class FeedConnection:
    """Keeps one shard subscribed until :meth:`stop`; reports every row to ``sink``."""

    def __init__(
        self,
        conn_id: int,
        assets: list[str],
        config: FeedConfig,
        sink: Sink,
        frames_sink: FramesSink,
        clock: WallClock,
        backoff: Backoff,
    ) -> None:
        self.conn_id = conn_id
        self.assets = assets
        self.config = config
        self.sink = sink
        self.frames_sink = frames_sink
        self.clock = clock
        self.backoff = backoff
        self.up = False
        self.frames = 0
        self.bytes = 0
        self.opens = 0
        self.gaps = 0
        self.rtts_us: deque[int] = deque(maxlen=64)
        self._ws: ClientConnection | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._why = ""
        self._last_data_mono = 0
        self._ping_sent_mono = 0
        self._pong_pending = False
        self._got_data = False
        self._closing: set[asyncio.Task[None]] = set()
        self.last_resync_mono = 0

    def resync(self, why: str) -> bool:
        """Reconnect now for a fresh snapshot of this shard's books; False if not connected.

        The engine asks for it when a book's hash no longer matches the exchange's:
        a new subscribe is the one documented way to get every book again.
        """
        ws = self._ws
        if ws is None or not self.up:
            return False
        self._why = why
        self.last_resync_mono = self.clock.mono_ns()
        task = asyncio.get_running_loop().create_task(ws.close(CLOSE_RESYNC, "resync"))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return True

    def _row(self, kind: str, payload: str) -> None:
        self.sink(kind, payload, self.clock.now_ns(), self.clock.mono_ns(), self.conn_id)

    async def run(self) -> None:
        """Connect, subscribe, read; on failure reconnect with backoff; until stopped."""
        while not self._stopping:
            await self._session()
            if self._stopping:
                break
            delay = self.backoff.next()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def stop(self) -> None:
        """Close cleanly (writes a ``close`` row, no gap)."""
        self._stopping = True
        self._wake.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(CLOSE_STOP, "recorder stopping")

    async def _session(self) -> None:
        cfg = self.config
        try:
            ws = await connect(
                cfg.url,
                compression=None,
                ping_interval=None,  # the market channel has its own text heartbeat
                open_timeout=cfg.open_timeout_s,
                close_timeout=2,
                max_size=cfg.max_frame_bytes,
                max_queue=1024,
                create_connection=_TextConnection,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            self._row(FrameKind.ERROR, compact({"conn": self.conn_id, "error": _describe(exc)}))
            return
        self._ws = ws
        self.opens += 1
        self._why = ""
        self._row(
            FrameKind.OPEN,
            compact({"url": cfg.url, "assets": len(self.assets), "attempt": self.opens}),
        )
        helpers: list[asyncio.Task[None]] = []
        try:
            subscribe = subscribe_text(self.assets)
            if not cfg.custom_feature_enabled:
                obj = json.loads(subscribe)
                obj["custom_feature_enabled"] = False
                subscribe = compact(obj)
            await ws.send(subscribe)
            self._row(FrameKind.SUBSCRIBE, subscribe)
            self._last_data_mono = self.clock.mono_ns()
            self._pong_pending = False
            self._got_data = False
            self.up = True
            assert isinstance(ws, _TextConnection)
            ws.deliver_to(self._on_block)
            helpers = [
                asyncio.create_task(self._heartbeat(ws)),
                asyncio.create_task(self._watchdog(ws)),
            ]
            await ws.wait_closed()
        except ConnectionClosed:
            pass
        except Exception as exc:  # an adapter must not die of one bad connection
            self._why = self._why or _describe(exc)
            with contextlib.suppress(Exception):
                await ws.close(1011, "client error")
        finally:
            self.up = False
            self._ws = None
            for task in helpers:
                task.cancel()
            for task in helpers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._closed(ws)

    def _on_block(self, data: bytes, ends: array[int], binary: bool = False) -> None:
        mono = self.clock.mono_ns()
        self.frames_sink(FrameBlock(data, ends, self.clock.now_ns(), mono, self.conn_id, binary))
        self.frames += len(ends)
        self.bytes += len(data)
        fed = False
        start = 0
        for end in ends:
            if end - start < _CONTROL_MAX and data[start:end] in CONTROL_BYTES:
                if data[start:end] == b"PONG" and self._pong_pending:
                    self._pong_pending = False
                    self.rtts_us.append((mono - self._ping_sent_mono) // 1000)
            else:
                fed = True  # PONGs are not data: they must not feed the watchdog
            start = end
        if fed:
            self._last_data_mono = mono
            if not self._got_data:
                self._got_data = True
                self.backoff.reset()

    async def _heartbeat(self, ws: ClientConnection) -> None:
        cfg = self.config
        while True:
            await asyncio.sleep(cfg.ping_interval_s)
            mono = self.clock.mono_ns()
            if self._pong_pending and mono - self._ping_sent_mono > cfg.pong_timeout_s * 1e9:
                self._why = f"no PONG for {cfg.pong_timeout_s:g}s"
                await ws.close(CLOSE_PONG_TIMEOUT, "pong timeout")
                return
            if not self._pong_pending:
                self._ping_sent_mono = mono
                self._pong_pending = True
            await ws.send("PING")

    async def _watchdog(self, ws: ClientConnection) -> None:
        limit = self.config.silence_timeout_s
        step = min(1.0, limit / 4)
        while True:
            await asyncio.sleep(step)
            silent = (self.clock.mono_ns() - self._last_data_mono) / 1e9
            if silent > limit:
                self._why = f"no data for {silent:.1f}s (watchdog {limit:g}s)"
                await ws.close(CLOSE_SILENCE, "data silence")
                return

    def _closed(self, ws: ClientConnection) -> None:
        code = ws.close_code if ws.close_code is not None else 1006
        reason = ws.close_reason or ""
        self._row(
            FrameKind.CLOSE,
            compact({"conn": self.conn_id, "code": code, "reason": reason, "why": self._why}),
        )
        if self._stopping:
            return
        self.gaps += 1
        gap: dict[str, Any] = {
            "conn": self.conn_id,
            "reason": self._why or f"closed by server ({code} {reason})".strip(),
            "assets": len(self.assets),
        }
        self._row(FrameKind.GAP, compact(gap))


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]
