"""Issue 18 item 9: a frame that is not UTF-8, or a binary message, is kept byte for byte.

Before the fix the recorder replaced each bad byte with U+FFFD (the original
was lost) and stored a binary message as if it were a text frame; ``serve``
could only send text. A loopback server writes raw WebSocket frames (invalid
UTF-8 text, fragmented invalid text, a binary message); the recorder stores
them, the reader gives the exact bytes back, and a second recording of
``polyarb serve`` playing that session gets the same bytes with the same opcodes.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from recorder_support import record
from websockets.asyncio.server import ServerConnection, serve

from polyarb.recording import SessionReader
from polyarb.server.thread import ServerThread

TEXT_OK = b"hello, \xc3\xa9"  # valid UTF-8
TEXT_BAD = b"caf\xe9 \xff\xfe end"  # Latin-1 and stray bytes: not UTF-8
BINARY = bytes(range(256))
FRAGMENTS = (b"half \xf0\x9f", b"\x98 \xc0 and bad")  # one message: split mid-character, bad byte


def _frame(opcode: int, data: bytes, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(data) < 126:
        return head + bytes([len(data)]) + data
    return head + b"\x7e" + len(data).to_bytes(2, "big") + data


SENT = [
    ("frame", TEXT_OK),
    ("frame", TEXT_BAD),
    ("binary", BINARY),
    ("frame", b"".join(FRAGMENTS)),
]
WIRE = (
    _frame(1, TEXT_OK)
    + _frame(1, TEXT_BAD)
    + _frame(2, BINARY)
    + _frame(1, FRAGMENTS[0], fin=False)
    + _frame(0, FRAGMENTS[1])
)


def _received(session: Path) -> list[tuple[str, bytes]]:
    return [
        (f.kind, f.data) for f in SessionReader(session).frames() if f.kind in ("frame", "binary")
    ]


def test_invalid_utf8_and_binary_frames_are_stored_and_served_exactly(tmp_path: Path) -> None:
    done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # the subscribe
        ws.transport.write(WIRE)  # raw frames: websockets itself refuses to send bad UTF-8
        done.set()
        await ws.wait_closed()

    async def first() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            await record(f"ws://127.0.0.1:{port}", tmp_path, "raw", ["1"], until=done)

    asyncio.run(first())
    assert _received(tmp_path / "raw") == SENT
    frames = [f for f in SessionReader(tmp_path / "raw").frames() if f.kind in ("frame", "binary")]
    # what the parser and SQL see: text with U+FFFD; the exact bytes beside it only when needed
    assert frames[0].payload_bin is None
    assert frames[1].payload == TEXT_BAD.decode("utf-8", "replace")
    assert frames[2].payload == ""

    # polyarb serve plays the session back: same bytes, binary as binary
    with ServerThread(tmp_path / "raw", speed=None) as server:

        async def second() -> None:
            loop = asyncio.get_running_loop()
            finished = asyncio.Event()

            def wait() -> None:
                server.wait_finished()
                loop.call_soon_threadsafe(finished.set)

            threading.Thread(target=wait, daemon=True).start()
            await record(server.url, tmp_path / "again", "raw", ["1"], until=finished)

        asyncio.run(second())
    assert _received(tmp_path / "again" / "raw")[-len(SENT) :] == SENT


def test_parts_written_before_payload_bin_still_read(tmp_path: Path) -> None:
    """A part without the column (older polyarb) reads with payload_bin NULL, compacts, queries."""
    import json

    import pyarrow.parquet as pq

    from polyarb.analytics.views import connect
    from polyarb.recording import SessionWriter
    from polyarb.recording.compact import compact_session
    from polyarb.recording.files import sha256_file

    with SessionWriter(tmp_path, "old") as writer:
        writer.append("open", "{}", 1, 1, 0)
        writer.append("frame", '{"event_type":"x"}', 2, 2, 0)
    folder = tmp_path / "old"
    part = folder / "frames" / "part-000000.parquet"
    pq.write_table(pq.read_table(part).drop_columns(["payload_bin"]), part)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["parts"][0].update(bytes=part.stat().st_size, sha256=sha256_file(part))
    (folder / "manifest.json").write_text(json.dumps(manifest))
    expected = [("open", "{}", None), ("frame", '{"event_type":"x"}', None)]
    got = [(f.kind, f.payload, f.payload_bin) for f in SessionReader(folder).frames()]
    assert got == expected
    con = connect(tmp_path)
    assert con.execute("SELECT count(*), count(payload_bin) FROM frames").fetchone() == (2, 0)
    compact_session(folder)
    got = [(f.kind, f.payload, f.payload_bin) for f in SessionReader(folder).frames()]
    assert got == expected
