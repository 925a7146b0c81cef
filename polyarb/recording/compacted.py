"""Reading a compacted part (see :mod:`polyarb.recording.compact`): its schema and decoder.

Apart from compacting, so the reader can decode parts without importing the compactor,
which itself reads sessions through the reader.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from polyarb.recording.codec import BookState, decode_row
from polyarb.recording.schema import FRAMES_SCHEMA, conform

COMPACT_SCHEMA = pa.schema(
    [
        *(f for f in FRAMES_SCHEMA if f.name not in ("payload", "payload_bin")),
        pa.field("payload", pa.string(), nullable=True),
        FRAMES_SCHEMA.field("payload_bin"),
        pa.field("book_skeleton", pa.string(), nullable=True),
        pa.field("book_ref", pa.int8(), nullable=True),
        pa.field("book_ops", pa.string(), nullable=True),
    ]
)


def is_compacted(pf: pq.ParquetFile) -> bool:
    return "book_ops" in pf.schema_arrow.names


def row_group_batches(
    pf: pq.ParquetFile, batch_size: int, columns: list[str] | None
) -> Iterator[pa.RecordBatch]:
    """``pf``'s rows one row group at a time, decoded on this thread.

    The allocator's freed pages go back after each group: peak RSS stays that of one
    batch however many row groups a part holds (docs/engine.md §Performance,
    tests/engine/test_replay_memory.py). A whole-file threaded scan reads ahead and grows
    with the row group.
    """
    for group in range(pf.num_row_groups):
        yield from pf.iter_batches(
            batch_size=batch_size, row_groups=[group], columns=columns, use_threads=False
        )
        pa.default_memory_pool().release_unused()


def decoded_batches(
    pf: pq.ParquetFile, *, batch_size: int, columns: list[str] | None
) -> Iterator[pa.RecordBatch]:
    """A compacted part's rows with their exact payloads, in the frames schema."""
    wanted = columns or FRAMES_SCHEMA.names
    have = pf.schema_arrow.names
    if "payload" not in wanted:
        for raw in row_group_batches(pf, batch_size, [c for c in wanted if c in have]):
            yield conform(raw, wanted)
        return
    state = BookState()  # decoding needs every row of the part, from its first
    for raw in row_group_batches(pf, batch_size, None):
        batch = conform(raw, [*COMPACT_SCHEMA.names])
        kinds = batch.column("kind").to_pylist()
        payloads = batch.column("payload").to_pylist()
        skeletons = batch.column("book_skeleton").to_pylist()
        refs = batch.column("book_ref").to_pylist()
        ops = batch.column("book_ops").to_pylist()
        texts = [
            decode_row(*row, state)
            for row in zip(kinds, payloads, skeletons, refs, ops, strict=True)
        ]
        arrays = [
            pa.array(texts, pa.string()) if name == "payload" else batch.column(name)
            for name in wanted
        ]
        if columns:
            yield pa.RecordBatch.from_arrays(arrays, names=list(wanted))
        else:
            yield pa.RecordBatch.from_arrays(arrays, schema=FRAMES_SCHEMA)
