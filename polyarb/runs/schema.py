"""The tables every engine run writes under ``recordings/<session>/runs/<run_id>/``.

The engine writes them, ``parity`` compares them, analytics queries them in
DuckDB; this module is the single definition (docs/runs.md explains each).
All money, price and size columns are int64 micro units; times are int64 ns.
"""

from __future__ import annotations

import msgspec
import pyarrow as pa

from polyarb.runs.runjson import RunJson

DECISIONS = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),  # frame seq that caused the decision
        pa.field("recv_ns", pa.int64(), nullable=False),
        pa.field("decision_id", pa.string(), nullable=False),  # deterministic
        pa.field(
            "type", pa.string(), nullable=False
        ),  # opportunity | verdict | order | unwind | merge | settle | halt
        pa.field("detector", pa.string()),  # binary_complete_set | negrisk_basket | ""
        pa.field("market", pa.string()),  # condition id, or neg-risk market id for baskets
        pa.field("assets", pa.list_(pa.string())),
        pa.field("side", pa.string()),  # BUY | SELL | ""
        pa.field("size", pa.int64()),  # shares per leg (micro)
        pa.field("price", pa.int64()),  # cost or proceeds per set, or limit price (micro)
        pa.field("edge", pa.int64()),  # per share after fees (micro)
        pa.field("verdict", pa.string()),  # accept | reject | ""
        pa.field("reason", pa.string()),
        pa.field("detail", pa.string()),  # canonical JSON, sorted keys
    ]
)

ORDERS = pa.schema(
    [
        pa.field("order_id", pa.string(), nullable=False),
        pa.field("decision_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("submit_ns", pa.int64(), nullable=False),
        pa.field("arrive_ns", pa.int64()),
        pa.field("market", pa.string()),
        pa.field("asset_id", pa.string()),
        pa.field("side", pa.string()),
        pa.field("order_type", pa.string()),  # FOK | FAK
        pa.field("limit_price", pa.int64()),
        pa.field("size", pa.int64()),
        pa.field("filled_size", pa.int64()),
        pa.field("status", pa.string()),  # filled | partial | killed | rejected
        pa.field("reason", pa.string()),
        pa.field("simulated", pa.bool_()),
    ]
)

FILLS = pa.schema(
    [
        pa.field("fill_id", pa.string(), nullable=False),
        pa.field("order_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("ts_ns", pa.int64(), nullable=False),
        pa.field("market", pa.string()),
        pa.field("asset_id", pa.string()),
        pa.field("side", pa.string()),
        pa.field("price", pa.int64()),
        pa.field("size", pa.int64()),
        pa.field("fee", pa.int64()),
        pa.field("simulated", pa.bool_()),
    ]
)

PNL = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("ts_ns", pa.int64(), nullable=False),
        pa.field("cash", pa.int64()),
        pa.field("position_value", pa.int64()),  # positions marked at best bid (or settlement)
        pa.field("realised_pnl", pa.int64()),
        pa.field("marked_pnl", pa.int64()),
        pa.field("fees_paid", pa.int64()),
        pa.field("gas_paid", pa.int64()),
        pa.field("exposure", pa.int64()),  # cost basis of open positions
    ]
)

POSITIONS = pa.schema(
    [
        pa.field("market", pa.string(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("size", pa.int64()),
        pa.field("cost", pa.int64()),
        pa.field("settled", pa.bool_()),
        pa.field("payout", pa.int64()),
    ]
)

METRICS = pa.schema(
    [
        pa.field("ts_ns", pa.int64(), nullable=False),
        pa.field("seq", pa.int64()),
        pa.field("name", pa.string(), nullable=False),
        pa.field("value", pa.int64()),
        pa.field("label", pa.string()),
    ]
)
"""Known names: frame_latency_ns (shadow: receive → decision), connected (0/1 per tick),
reconnect, gap, stale_books, unverified_books, hash_mismatch, crossed_books, rejected_frames."""

ALERTS = pa.schema(
    [
        pa.field("ts_ns", pa.int64(), nullable=False),
        pa.field("seq", pa.int64()),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("level", pa.string(), nullable=False),  # CRITICAL | WARNING | INFO
        pa.field("state", pa.string(), nullable=False),  # fired | cleared
        pa.field("message", pa.string()),
        pa.field("value", pa.int64()),
        pa.field("threshold", pa.int64()),
    ]
)

CALIBRATION = pa.schema(
    [
        pa.field("order_id", pa.string(), nullable=False),
        pa.field("decision_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),  # frame seq of the decision
        pa.field("submit_ns", pa.int64(), nullable=False),  # engine time of the decision
        pa.field("market", pa.string()),
        pa.field("asset_id", pa.string()),
        pa.field("side", pa.string()),
        pa.field("order_type", pa.string()),
        pa.field("tick", pa.int64()),
        pa.field("limit_price", pa.int64()),  # after tick rounding
        pa.field("size", pa.int64()),  # after size-grid rounding
        # what SimVenue would have done with the book at the decision and one latency draw
        pa.field("pred_status", pa.string()),
        pa.field("pred_filled_size", pa.int64()),
        pa.field("pred_cash", pa.int64()),
        pa.field("pred_avg_price", pa.int64()),  # null when nothing fills
        pa.field("pred_fees", pa.int64()),
        pa.field("pred_latency_ns", pa.int64()),
        pa.field("model_latency_p50_ns", pa.int64()),  # of the profile's model, not of one draw
        pa.field("model_latency_p90_ns", pa.int64()),
        # what the exchange did, read from the recorded user rows
        pa.field("real_status", pa.string()),
        pa.field("real_filled_size", pa.int64()),
        pa.field("real_cash", pa.int64()),
        pa.field("real_avg_price", pa.int64()),
        pa.field("real_fees", pa.int64()),
        pa.field("real_latency_ns", pa.int64()),  # decision → answer row; null if unanswered
        pa.field("final_seq", pa.int64()),
        pa.field("final_ns", pa.int64()),
    ]
)
"""One row per order of a run whose fills are real (live, or its replay): the simulated
venue's prediction next to the outcome (docs/calibration.md). Empty for simulated runs."""

TABLES: dict[str, pa.Schema] = {
    "decisions": DECISIONS,
    "orders": ORDERS,
    "fills": FILLS,
    "pnl": PNL,
    "positions": POSITIONS,
    "metrics": METRICS,
    "alerts": ALERTS,
    "calibration": CALIBRATION,
}

RUN_JSON_KEYS: tuple[str, ...] = tuple(
    f.encode_name for f in msgspec.structs.fields(RunJson) if f.required
)
"""Keys every run.json has (the required fields of :class:`~polyarb.runs.runjson.RunJson`);
shadow runs add ``wall_start_ns``, ``wall_end_ns``, ``clean_exit``, ``feed`` and maybe ``error``."""
