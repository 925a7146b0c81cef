"""The replay server: one shared timeline broadcast to every subscribed connection.

Like the exchange, the stream does not wait for anyone: a client that
reconnects gets a fresh snapshot (each asset's book as it stands, changes folded in)
and misses what played while it was away. Under ``--max`` the timeline runs
as fast as the subscribers read, and pauses while nobody is subscribed.
Protocol behaviour follows docs/protocol.md §Market channel and §Feed pitfalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, islice
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from polyarb.server.books import DumpBooks
from polyarb.server.faults import FaultPlan, garbage_of
from polyarb.server.routing import Route, book_asset, is_control
from polyarb.server.timeline import BinaryFrame, Timeline

log = logging.getLogger("polyarb.server")

CLOSE_POLICY = 1008  # what Polymarket sends for a PING before the first subscribe (NT #4864)
CLOSE_FAULT = 1011
CLOSE_END = 1000
_BATCH_BYTES = 64 << 10
_CHUNK = 256
_CHANGE_MARK = b'"price_change"'
"""Frames per bulk write under --max; the player yields to the event loop between chunks."""


@cache
def frame_header(size: int, binary: bool = False) -> bytes:
    """The header of an unmasked final text (or binary) frame of ``size`` bytes (RFC 6455 §5.2)."""
    op = 0x82 if binary else 0x81
    if size < 126:
        return bytes((op, size))
    if size < 65_536:
        return bytes((op, 0x7E)) + size.to_bytes(2, "big")
    return bytes((op, 0x7F)) + size.to_bytes(8, "big")


@dataclass
class ConnectionStats:
    """What one connection was sent, in wire order (``sha256`` when digests are on)."""

    index: int
    frames: int = 0
    bytes: int = 0
    data_frames: int = 0
    dropped: int = 0
    sha256: str = ""
    close: str = ""


@dataclass
class ServeStats:
    """The server's account of a run; ``polyarb serve --stats FILE`` writes it as JSON."""

    session: str
    session_frames: int
    played: int = 0
    finished: bool = False
    play_s: float = 0.0
    """Wall time from the first streamed frame to the end of the session."""
    connections: list[ConnectionStats] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return sum(c.frames for c in self.connections)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.connections)

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "session_frames": self.session_frames,
            "played": self.played,
            "finished": self.finished,
            "play_s": round(self.play_s, 3),
            "frames": self.frames,
            "bytes": self.bytes,
            "connections": [vars(c) for c in self.connections],
        }


class _Client:
    __slots__ = (
        "covers_all",
        "custom",
        "cut",
        "faulty",
        "freeze_until",
        "frozen",
        "hasher",
        "out",
        "stats",
        "subs",
        "subscribed",
        "ws",
    )

    def __init__(self, ws: ServerConnection, stats: ConnectionStats, faulty: bool, digest: bool):
        self.ws = ws
        self.stats = stats
        self.faulty = faulty
        self.subs: set[str] = set()
        self.custom = False
        self.covers_all = False
        self.subscribed = False
        self.frozen = False
        self.freeze_until = 0.0
        self.hasher = hashlib.sha256() if digest else None
        self.cut = False  # an injected disconnect is under way: send nothing more
        self.out = bytearray()  # framed bytes not yet handed to the transport

    @property
    def closed(self) -> bool:
        return self.cut or self.ws.protocol.state is not State.OPEN


class ReplayServer:
    """Serve ``session_dir`` on ``ws://host:port`` (port 0 picks a free one).

    ``speed`` scales recorded receive-time gaps (2.0 = twice as fast); ``None``
    means as fast as possible. Playback starts once ``clients`` connections
    have subscribed. ``digest`` keeps a SHA-256 of each connection's stream.
    """

    def __init__(
        self,
        session_dir: Path | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float | None = 1.0,
        clients: int = 1,
        faults: FaultPlan | None = None,
        exit_at_end: bool = False,
        digest: bool = False,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        # Reading a batch of the session blocks the loop; paced, a small batch keeps that
        # stall (and the burst of overdue frames after it) to about a millisecond.
        self.timeline = Timeline(session_dir, batch_size=16_384 if speed is None else 256)
        self.host = host
        self.port = port
        self.speed = speed
        self.clients_needed = max(1, clients)
        self.faults = faults or FaultPlan()
        self.exit_at_end = exit_at_end
        self.digest = digest
        self.stats = ServeStats(self.timeline.reader.id, self.timeline.total)
        self._assets = frozenset(self.timeline.assets)
        self._books = DumpBooks()
        self._subscribed: tuple[_Client, ...] = ()
        self._connections = 0
        self._clients: list[_Client] = []
        self._closers: set[asyncio.Task[None]] = set()
        self._started = asyncio.Event()
        self._any_subscribed = asyncio.Event()
        self.finished = asyncio.Event()
        self._server: Server | None = None
        self._player: asyncio.Task[None] | None = None
        self._frames: Iterator[tuple[int, bytes]] = iter(self.timeline)
        self._first = self._absorb_opening_snapshot()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> int:
        """Listen and start the player; returns the bound port."""
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            compression=None,
            ping_interval=None,
            close_timeout=2,
            max_size=1 << 20,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._player = asyncio.create_task(self._play(), name="replay-player")
        return self.port

    def current_book(self, asset: str) -> bytes | None:
        """The book a subscriber to ``asset`` would be sent now (None before any is recorded)."""
        return self._books[asset] if asset in self._books else None  # noqa: SIM401 (no .get)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def serve(self) -> None:
        """Run until the session ends (with ``exit_at_end``) or the task is cancelled."""
        if self._server is None:
            await self.start()
        try:
            if self.exit_at_end:
                await self.finished.wait()
                await self._close_all(CLOSE_END, "end of session")
            else:
                await asyncio.Future()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._finalise_stats()

    def _finalise_stats(self) -> None:
        for client in self._all_clients():
            if client.hasher is not None:
                client.stats.sha256 = client.hasher.hexdigest()

    def _all_clients(self) -> list[_Client]:
        return self._clients

    async def _close_all(self, code: int, reason: str) -> None:
        await asyncio.gather(
            *(c.ws.close(code, reason) for c in self._all_clients() if not c.closed),
            return_exceptions=True,
        )

    # -- connections ---------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        stats = ConnectionStats(self._connections)
        self.stats.connections.append(stats)
        faulty = self.faults.any and self.faults.applies_to(self._connections)
        client = _Client(ws, stats, faulty, self.digest)
        self._connections += 1
        self._clients.append(client)
        log.info("connection %d from %s", stats.index, ws.remote_address)
        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                await self._on_message(client, text)
        except ConnectionClosed:
            pass
        finally:
            self._unsubscribe_client(client)
            if client.hasher is not None:
                stats.sha256 = client.hasher.hexdigest()
            rcvd = ws.close_code if ws.close_code is not None else "none"
            stats.close = f"{rcvd} {ws.close_reason or ''}".strip()
            log.info("connection %d closed (%s)", stats.index, stats.close)

    async def _on_message(self, client: _Client, text: str) -> None:
        if text == "PING":
            if not client.subscribed:
                await client.ws.close(CLOSE_POLICY, "invalid subscription payload")
                return
            await self._send(client, b"PONG")
            return
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if not isinstance(obj, dict) or not isinstance(obj.get("assets_ids"), list):
            await self._invalid(client)
            return
        assets = [str(a) for a in obj["assets_ids"]]
        operation = obj.get("operation")
        if operation is None and str(obj.get("type", "")).lower() == "market":
            if client.subscribed:
                await self._send(client, b"INVALID OPERATION")  # NT PR #3717
                return
            client.subscribed = True
            client.custom = bool(obj.get("custom_feature_enabled"))
            self._set_subs(client, set(assets))
            dump = self._books.dump(assets) if obj.get("initial_dump", True) else None
            if dump is not None:
                await self._send(client, dump)
        elif operation in ("subscribe", "unsubscribe") and client.subscribed:
            if "custom_feature_enabled" in obj:
                client.custom = bool(obj["custom_feature_enabled"])
            if operation == "unsubscribe":
                self._set_subs(client, client.subs - set(assets))
                return
            new = [a for a in assets if a not in client.subs]
            self._set_subs(client, client.subs | set(new))
            dump = self._books.dump(new)
            if dump is not None:
                await self._send(client, dump)
        else:
            await self._invalid(client)

    async def _invalid(self, client: _Client) -> None:
        if client.subscribed:
            await self._send(client, b"INVALID OPERATION")
        else:
            await client.ws.close(CLOSE_POLICY, "invalid subscription payload")

    def _set_subs(self, client: _Client, subs: set[str]) -> None:
        client.subs = subs
        client.covers_all = self._assets <= subs
        if client.closed:
            return
        if client not in self._subscribed:
            # Join before the dump is written (no await in between), so no frame falls between.
            self._subscribed = (*self._subscribed, client)
            self._any_subscribed.set()
            if len(self._subscribed) >= self.clients_needed:
                self._started.set()

    def _unsubscribe_client(self, client: _Client) -> None:
        self._subscribed = tuple(c for c in self._subscribed if c is not client)
        if not self._subscribed:
            self._any_subscribed.clear()

    # -- sending -------------------------------------------------------------------------

    async def _send(self, client: _Client, data: bytes, *, flush: bool = True) -> bool:
        """Queue one text frame; counted now, so stats follow wire order.

        Frames collect in a per-connection buffer written with one syscall
        (a write per frame costs more than the rest of its trip at --max);
        ``flush=False`` lets the player batch, everything else writes at once.
        """
        if client.closed:
            return False
        stats = client.stats
        stats.frames += 1
        stats.bytes += len(data)
        if client.hasher is not None:
            client.hasher.update(len(data).to_bytes(4, "big"))
            client.hasher.update(data)
        client.out += frame_header(len(data), type(data) is BinaryFrame)
        client.out += data
        if flush or len(client.out) >= _BATCH_BYTES:
            return await self._flush(client)
        return True

    async def _flush(self, client: _Client) -> bool:
        if not client.out:
            return True
        ws = client.ws
        if ws.protocol.state is not State.OPEN:
            client.out.clear()
            return False
        ws.transport.write(bytes(client.out))
        client.out.clear()
        if ws.paused:
            try:
                await ws.drain()
            except ConnectionClosed:
                return False
        return True

    async def _flush_all(self) -> None:
        for client in self._subscribed:
            if client.out:
                await self._flush(client)

    async def _deliver(self, client: _Client, data: bytes) -> None:
        if not client.faulty:
            client.stats.data_frames += 1
            await self._send(client, data, flush=False)
            return
        f = self.faults
        loop = asyncio.get_running_loop()
        if client.frozen:
            if f.freeze_for_s and loop.time() >= client.freeze_until:
                client.frozen = False
            else:
                client.stats.dropped += 1
                return
        n = client.stats.data_frames + 1
        if f.delay_every and f.delay_ms and n % f.delay_every == 0:
            await asyncio.sleep(f.delay_ms / 1000)
        if f.garbage_every and n % f.garbage_every == 0:
            await self._send(client, garbage_of(data))
        client.stats.data_frames = n
        await self._send(client, data)
        if f.duplicate_every and n % f.duplicate_every == 0:
            await self._send(client, data)
        if f.freeze_after and n == f.freeze_after:
            client.frozen = True
            client.freeze_until = loop.time() + f.freeze_for_s
            log.info("connection %d: injected freeze", client.stats.index)
        if f.disconnect_after and n >= f.disconnect_after and not client.closed:
            await self._flush(client)
            log.info("connection %d: injected disconnect after %d frames", client.stats.index, n)
            self._unsubscribe_client(client)
            client.cut = True
            # close() writes the close frame now (after every frame sent so far), then waits.
            closer = asyncio.create_task(client.ws.close(CLOSE_FAULT, "injected fault: disconnect"))
            self._closers.add(closer)
            closer.add_done_callback(self._closers.discard)

    def _bulk_ready(self) -> bool:
        """Whether every subscriber takes every frame unchanged and without faults."""
        subscribed = self._subscribed
        return bool(subscribed) and all(
            c.covers_all and c.custom and not c.faulty for c in subscribed
        )

    async def _bulk(self, chunk: list[tuple[int, bytes]]) -> None:
        """Send a chunk of frames to subscribers that take everything: one write per chunk.

        Per-frame calls dominated the cost of ``--max``; this frames the whole
        chunk with one join and keeps the same stats, digests and book state.
        """
        datas = [data for _, data in chunk if not is_control(data)]
        for data in datas:
            self._note_books(data)
        self.stats.played += len(datas)
        if not datas:
            return
        size = sum(map(len, datas))
        wire = b"".join(
            [
                part
                for data in datas
                for part in (frame_header(len(data), type(data) is BinaryFrame), data)
            ]
        )
        digest_input: bytes | None = None
        for client in self._subscribed:
            if client.closed:
                continue
            stats = client.stats
            stats.frames += len(datas)
            stats.data_frames += len(datas)
            stats.bytes += size
            if client.hasher is not None:
                if digest_input is None:
                    digest_input = b"".join(
                        [part for data in datas for part in (len(data).to_bytes(4, "big"), data)]
                    )
                client.hasher.update(digest_input)
            client.out += wire
            await self._flush(client)

    def _note_books(self, data: bytes) -> Route | None:
        """Keep each asset's book current for dumps (books, level changes); an array's Route."""
        asset = book_asset(data)
        if asset is not None:
            self._books[asset] = data
            return None
        if _CHANGE_MARK in data:
            self._books.fold(data)
        if data[:1] != b"[":
            return None
        route = Route(data)
        for a, b in route.books():
            self._books[a] = b
        return route

    # -- the timeline --------------------------------------------------------------------

    def _absorb_opening_snapshot(self) -> tuple[int, bytes] | None:
        """Fold the session's leading ``book`` frames into the state the first dumps show.

        A recorded session opens with the exchange's initial dump; replaying it
        after our own dump would send every book twice. Stops at the first frame
        that is not a book, or a book of an asset already seen.
        """
        for recv, data in self._frames:
            if is_control(data):
                continue
            asset = book_asset(data)
            books = [(asset, data)] if asset is not None else Route(data).books()
            if not books or any(a in self._books for a, _ in books):
                return recv, data
            if asset is None and len(books) != len(Route(data).elements or ()):
                return recv, data  # an array that mixes books with other events
            for a, b in books:
                self._books[a] = b
            self.stats.played += 1
        return None

    async def _play(self) -> None:
        await self._started.wait()
        loop = asyncio.get_running_loop()
        began = loop.time()
        head = [self._first] if self._first is not None else []
        base_recv: int | None = None
        base_time = 0.0
        speed = self.speed
        played = 0
        frames = chain(head, self._frames)
        for recv, data in frames:
            if speed is None and self._bulk_ready():
                # The common --max case: hand the rest of this chunk over in one piece.
                chunk = [(recv, data), *islice(frames, _CHUNK - 1)]
                played += len(chunk)
                await self._bulk(chunk)
                await asyncio.sleep(0)  # let PINGs and subscribes in
                continue
            played += 1
            if is_control(data):
                continue
            if speed is None:
                if not self._subscribed:
                    await self._any_subscribed.wait()
                if played & 255 == 0:
                    await self._flush_all()
                    await asyncio.sleep(0)  # let PINGs and subscribes in
            else:
                if base_recv is None:
                    base_recv, base_time = recv, loop.time()
                wait = base_time + (recv - base_recv) / 1e9 / speed - loop.time()
                if wait > 0.0005:
                    await asyncio.sleep(wait)
                elif played & 255 == 0:
                    await asyncio.sleep(0)
            route = self._note_books(data)
            for client in self._subscribed:
                if client.covers_all and client.custom:
                    await self._deliver(client, data)
                    continue
                if route is None:
                    route = Route(data)
                out = route.for_subscription(client.subs, client.custom)
                if out is not None:
                    await self._deliver(client, out)
            if speed is not None:
                # Paced, each frame is written when it is due, as a live feed sends it;
                # only --max batches writes.
                await self._flush_all()
            self.stats.played += 1
        await self._flush_all()
        self.stats.play_s = loop.time() - began
        self.stats.finished = True
        self._finalise_stats()
        self.finished.set()
        log.info("session %s played to the end", self.stats.session)
