"""The market-channel frames of a session, in seq order, streamed with bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from polyarb.frames import FrameKind
from polyarb.recording.reader import SessionReader


class Timeline:
    """``(recv_ns, payload bytes)`` of every ``frame`` row of a session."""

    def __init__(self, session_dir: Path | str, *, batch_size: int = 16_384) -> None:
        self.reader = SessionReader(session_dir)
        self.batch_size = batch_size

    @property
    def total(self) -> int:
        """How many market frames the session holds (from the manifest)."""
        return self.reader.manifest.counts.get(FrameKind.FRAME, 0)

    @property
    def assets(self) -> list[str]:
        return list(self.reader.manifest.assets)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for recv, payload in self.batches():
            yield from zip(recv, payload, strict=True)

    def batches(self) -> Iterator[tuple[list[int], list[bytes]]]:
        """Column lists per batch; bytes so the server never re-encodes text."""
        for batch in self.reader.iter_batches(
            batch_size=self.batch_size,
            columns=["recv_ns", "kind", "payload"],
            include_open=True,
        ):
            table = pa.Table.from_batches([batch])
            table = table.filter(pc.equal(table.column("kind"), FrameKind.FRAME.value))
            if not table.num_rows:
                continue
            payload = table.column("payload").cast(pa.binary())
            yield table.column("recv_ns").to_pylist(), payload.to_pylist()
