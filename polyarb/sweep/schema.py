"""The ``results.parquet`` columns of a sweep (docs/sweeps.md explains each one).

Besides these, a results file has one ``param.<dotted key>`` string column per
swept key (the value as written in the sweep file); ``params`` holds them all
as JSON.
"""

from __future__ import annotations

import pyarrow as pa

RESULTS = pa.schema(
    [
        pa.field("sweep", pa.string(), nullable=False),
        pa.field("cell_id", pa.string(), nullable=False),  # sha256(session, profile sha)[:16]
        pa.field("cell_index", pa.int64()),  # parameter set, in sweep-file order
        pa.field("session_id", pa.string(), nullable=False),
        pa.field("params", pa.string()),  # JSON of the overrides
        pa.field("profile_name", pa.string()),
        pa.field("profile_sha256", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("frames", pa.int64()),
        pa.field("pnl", pa.int64()),  # realised + marked at the end, micro USD
        pa.field("realised_pnl", pa.int64()),
        pa.field("marked_pnl", pa.int64()),
        pa.field("max_drawdown", pa.int64()),
        pa.field("opportunities", pa.int64()),
        pa.field("orders", pa.int64()),
        pa.field("fills", pa.int64()),
        pa.field("fees", pa.int64()),
        pa.field("gas", pa.int64()),
        pa.field("rejects", pa.int64()),
        pa.field("rejects_by_reason", pa.string()),  # JSON {reason: count}
        pa.field("decisions", pa.int64()),
        pa.field("decisions_sha256", pa.string()),
    ]
)
