"""The rows of a session as the feed produces them and the store keeps them.

:class:`FrameKind` says what a row is. A :class:`FrameBlock` is the text frames one
socket read delivered, stored without per-frame objects: at 100k frames/s a
Python ``str`` per frame, handed through callbacks and lists and then converted
to Arrow one by one, costs more than receiving and storing the bytes. A block keeps the payloads back to back in one ``bytes``
with the end offset of each, which is already the layout of an Arrow string
column, so the writer appends a whole read with a few buffer operations.
All frames of a block share one receive time: they arrived in the same read.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from enum import StrEnum


class FrameKind(StrEnum):
    """What a frames row is. Only ``frame`` and ``user`` rows carry wire payloads."""

    FRAME = "frame"  # market-channel text exactly as received
    BINARY = "binary"  # a binary message: its bytes are in payload_bin, payload is empty
    USER = "user"  # user-channel text (live order acks and fills)
    OPEN = "open"  # a connection opened; payload: JSON with url and assets
    CLOSE = "close"  # a connection closed; payload: JSON with code and reason
    SUBSCRIBE = "subscribe"  # what we sent to subscribe, exactly as sent
    TICK = "tick"  # timer cadence inserted by the live feed; payload empty
    GAP = "gap"  # data may be missing between the neighbouring rows; payload: JSON why
    ERROR = "error"  # an adapter error worth keeping; payload: JSON


FRAME_KINDS = tuple(k.value for k in FrameKind)


@dataclass(frozen=True, slots=True)
class FrameBlock:
    """``len(ends)`` payloads: payload ``i`` is ``data[ends[i-1]:ends[i]]`` (UTF-8 as received)."""

    data: bytes
    ends: array[int]
    """Cumulative end offsets into ``data`` (``array('q')``), one per frame."""
    recv_ns: int
    mono_ns: int
    conn_id: int
    binary: bool = False
    """One binary message (stored as a ``binary`` row), not text frames."""

    def __len__(self) -> int:
        return len(self.ends)

    def payloads(self) -> list[bytes]:
        """Each frame's bytes, in order."""
        data = self.data
        starts = (0, *self.ends[:-1])
        return [data[a:b] for a, b in zip(starts, self.ends, strict=True)]

    def texts(self) -> list[str]:
        """Each frame as text; bytes that are not UTF-8 become U+FFFD (as a reader sees them).

        A binary block gives one empty text: its ``payload`` column is empty, like a replay's.
        """
        if self.binary:
            return [""]
        return [p.decode("utf-8", "replace") for p in self.payloads()]


def block_of(texts: list[str], recv_ns: int, mono_ns: int, conn_id: int) -> FrameBlock:
    """A block holding ``texts`` (frames that took another path, e.g. fragmented ones)."""
    encoded = [t.encode() for t in texts]
    ends = array("q")
    total = 0
    for piece in encoded:
        total += len(piece)
        ends.append(total)
    return FrameBlock(b"".join(encoded), ends, recv_ns, mono_ns, conn_id)
