"""The market-channel frames of a session, in seq order, streamed with bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from polyarb.frames import FrameKind
from polyarb.recording.reader import SessionReader


class BinaryFrame(bytes):
    """A recorded binary message: the server sends it with the binary opcode."""


_SERVED = pa.array([FrameKind.FRAME.value, FrameKind.BINARY.value])


class Timeline:
    """``(recv_ns, payload bytes)`` of every ``frame`` row of a session."""

    def __init__(self, session_dir: Path | str, *, batch_size: int = 16_384) -> None:
        self.reader = SessionReader(session_dir)
        self.batch_size = batch_size

    @property
    def total(self) -> int:
        """How many market frames the session holds (from the manifest)."""
        counts = self.reader.manifest.counts
        return counts.get(FrameKind.FRAME, 0) + counts.get(FrameKind.BINARY, 0)

    @property
    def assets(self) -> list[str]:
        return list(self.reader.manifest.assets)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for recv, payload in self.batches():
            yield from zip(recv, payload, strict=True)

    def batches(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """Column lists per batch; the bytes exactly as received, so nothing is re-encoded.

        A frame that was not UTF-8 comes back as its original bytes (``payload_bin``),
        a binary message as a :class:`BinaryFrame`.
        """
        for batch in self.reader.iter_batches(
            batch_size=self.batch_size,
            columns=["recv_ns", "kind", "payload", "payload_bin"],
            include_open=True,
        ):
            table = pa.Table.from_batches([batch])
            table = table.filter(pc.is_in(table.column("kind"), _SERVED))
            if not table.num_rows:
                continue
            exact = table.column("payload_bin")
            payload = table.column("payload").cast(pa.binary())
            if exact.null_count == len(exact):
                yield table.column("recv_ns").to_pylist(), payload.to_pylist()
                continue
            data = pc.if_else(pc.is_null(exact), payload, exact).to_pylist()
            kinds = table.column("kind").to_pylist()
            binary = FrameKind.BINARY.value
            out = [BinaryFrame(d) if k == binary else d for k, d in zip(kinds, data, strict=True)]
            yield table.column("recv_ns").to_pylist(), out
