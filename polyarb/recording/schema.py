"""Arrow schemas of a session's tables (docs/sessions.md); the frame kinds are in polyarb/frames.py."""

from __future__ import annotations

import pyarrow as pa

FRAMES_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("recv_ns", pa.int64(), nullable=False),
        pa.field("mono_ns", pa.int64(), nullable=False),
        pa.field("conn_id", pa.int32(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("payload", pa.string(), nullable=False),
        # The exact bytes when they are not the payload's UTF-8: a text frame that is not
        # valid UTF-8 (payload then holds it decoded with U+FFFD, as a parser sees it) or a
        # binary message. NULL on every other row, which costs nearly nothing in Parquet.
        # Parts written before this column existed read it as NULL.
        pa.field("payload_bin", pa.binary(), nullable=True),
    ]
)


def conform(batch: pa.RecordBatch, columns: list[str] | None = None) -> pa.RecordBatch:
    """``batch`` with exactly ``columns`` (default: the frames schema), missing ones as NULL.

    Parts and journals written before a column was appended to the schema lack it.
    """
    names = columns or FRAMES_SCHEMA.names
    have = batch.schema.names
    if have == names:
        return batch
    arrays = [
        batch.column(n) if n in have else pa.nulls(batch.num_rows, FRAMES_SCHEMA.field(n).type)
        for n in names
    ]
    if columns is None:
        return pa.RecordBatch.from_arrays(arrays, schema=FRAMES_SCHEMA)
    return pa.RecordBatch.from_arrays(arrays, names=names)


MARKETS_SCHEMA = pa.schema(
    [
        pa.field("valid_from_seq", pa.int64(), nullable=False),
        pa.field("condition_id", pa.string(), nullable=False),
        pa.field("question", pa.string()),
        pa.field("slug", pa.string()),
        pa.field("token_ids", pa.list_(pa.string())),
        pa.field("outcomes", pa.list_(pa.string())),
        pa.field("tick_size", pa.int64()),
        pa.field("min_order_size", pa.int64()),
        pa.field("neg_risk", pa.bool_()),
        pa.field("neg_risk_augmented", pa.bool_()),
        pa.field("neg_risk_market_id", pa.string()),
        pa.field("neg_risk_other", pa.bool_()),
        pa.field("event_id", pa.string()),
        pa.field("event_slug", pa.string()),
        pa.field("group_item_title", pa.string()),
        pa.field("fee_rate", pa.int64()),
        pa.field("fee_exponent", pa.int64()),
        pa.field("fee_taker_only", pa.bool_()),
        pa.field("end_date_ms", pa.int64()),
        pa.field("closed", pa.bool_()),
        pa.field("winning_token_id", pa.string()),
    ]
)

# seq, the clocks and conn_id step by small amounts row to row: delta encoding makes
# them nearly free, leaving the raw payload text as almost all of a part's bytes.
_DELTA = "DELTA_BINARY_PACKED"
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 6,
    "use_dictionary": ["kind"],
    "column_encoding": {"seq": _DELTA, "recv_ns": _DELTA, "mono_ns": _DELTA, "conn_id": _DELTA},
}

LIVE_COMPRESSION_LEVEL = 1
"""zstd level for parts sealed while recording. Measured on the bundled sessions and the
recorder benchmark, level 1 is both faster and smaller than 3 (0.78 vs 0.83 of gzip'd JSONL);
6 and 9 save 6-12 % more at 4-6 times the sealing CPU, which a 100k frames/s burst cannot spare."""
