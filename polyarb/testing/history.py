"""Synthetic run histories: real session and run folders, written with the real schemas.

Tests and ``benchmarks/bench_promote.py`` need weeks of shadow and live
history that no bundled recording has. :func:`write_history` writes one
session per UTC day (manifest, markets, gapless frames) with one run in it
(``runs/shadow`` or ``runs/live``, optionally a ``runs/replay`` beside it),
vectorised with numpy/pyarrow so 50 million rows take seconds, not minutes.
:class:`Faults` breaks exactly one promotion criterion at a time, so a test
can prove each criterion is checked and named.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from polyarb._version import __version__
from polyarb.recording.manifest import Manifest, write_manifest
from polyarb.recording.schema import FRAMES_SCHEMA, MARKETS_SCHEMA, PARQUET_OPTIONS
from polyarb.runs import schema as rs
from polyarb.runs.runjson import RunJson, run_json_dict
from polyarb.runs.summary import RunSummary

NS = 1_000_000_000
DAY_NS = 86_400 * NS
MS = 1_000_000

_FRAME_PAYLOAD = (
    '{"event_type":"price_change","market":"0xsynthetic","price_changes":'
    '[{"asset_id":"1","price":"0.48","size":"100","side":"BUY"}]}'
)


@dataclass(frozen=True)
class Faults:
    """What to break in a history; the defaults give a history that passes every criterion."""

    crash: bool = False  # one run ends without clean_exit
    disconnected_pct: float = 1.0  # share of ticks with connected = 0
    seq_hole: bool = False  # one frames row is missing in one session
    unexplained_gap: bool = False  # one gap row has no reason
    breaker_stuck: bool = False  # the breaker opens and never clears
    parity_fail: bool = False  # one shadow run fails parity
    slow_pct: float = 0.0  # share of frames with an 800 ms decision latency
    critical_alert: bool = False  # one run fires WS_DISCONNECTED (CRITICAL)
    fill_error_bps: int = 5  # live fill price vs simulated, basis points
    breaker_cycles: int | None = None  # None: one cycle in phase 0, none later
    # calibration rows of live runs (docs/calibration.md): how far the prediction is off
    calib_latency_ms: int = 0  # live answers this much later than the model says
    calib_price_ticks: int = 0  # simulated fills this many ticks better than live
    calib_missed: bool = False  # live FOK legs of every other filled basket were killed


@dataclass
class RunTruth:
    """What a synthetic run holds, computed while writing it (tests compare against it)."""

    session_id: str
    run_id: str
    date: str
    pnl: int = 0  # realised + marked at the end of the run, micro
    opportunities: int = 0
    orders: int = 0
    filled_orders: int = 0
    fills: int = 0
    connected_ticks: int = 0
    ticks: int = 0
    alerts_fired: dict[str, int] = field(default_factory=dict)
    latencies_ns: np.ndarray | None = field(default=None, repr=False)
    market_pnl: dict[str, int] = field(default_factory=dict)
    rows: int = 0


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _strings(values: list[str], index: np.ndarray) -> pa.Array:
    """A string column from a small vocabulary, built without a Python loop per row."""
    dictionary = pa.array(values, pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), dictionary).cast(pa.string())


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, str(path), compression="zstd", compression_level=1)


def _json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _markets(n: int) -> tuple[list[str], pa.Table]:
    ids = [f"0xmarket{i:04d}" for i in range(n)]
    rows = {
        "valid_from_seq": [0] * n,
        "condition_id": ids,
        "question": [f"Synthetic market {i}?" for i in range(n)],
        "slug": [f"synthetic-{i}" for i in range(n)],
        "token_ids": [[f"{i}1", f"{i}2"] for i in range(n)],
        "outcomes": [["Yes", "No"]] * n,
        "tick_size": [10_000] * n,
        "min_order_size": [5_000_000] * n,
        "neg_risk": [False] * n,
        "neg_risk_augmented": [False] * n,
        "neg_risk_market_id": [""] * n,
        "neg_risk_other": [False] * n,
        "event_id": [f"ev{i}" for i in range(n)],
        "event_slug": [f"event-{i}" for i in range(n)],
        "group_item_title": [""] * n,
        "fee_rate": [0] * n,
        "fee_exponent": [0] * n,
        "fee_taker_only": [True] * n,
        "end_date_ms": [0] * n,
        "closed": [False] * n,
        "winning_token_id": [""] * n,
    }
    return ids, pa.Table.from_pydict(rows, schema=MARKETS_SCHEMA)


def _frames(
    start_ns: int, n_ticks: int, tick_ns: int, per_tick: int, gap_reason: str, drop_one: bool
) -> tuple[pa.Table, dict[str, int], np.ndarray, np.ndarray]:
    """open, subscribe, then per tick a tick row and ``per_tick`` frames, a gap row, close.

    Returns the table, counts per kind, and the seq and recv_ns of the market frames.
    """
    block = per_tick + 1
    body = n_ticks * block
    vocab = ["frame", "tick", "open", "subscribe", "gap", "close"]
    pattern = np.zeros(block, np.int32)
    pattern[0] = 1  # the tick row opens its interval, so every tick falls inside the day
    codes = np.concatenate([[2, 3], np.tile(pattern, n_ticks), [5]]).astype(np.int32)
    offsets = (np.arange(block, dtype=np.int64) * tick_ns) // block
    tick_starts = start_ns + np.arange(n_ticks, dtype=np.int64) * tick_ns
    body_recv = (tick_starts[:, None] + offsets[None, :]).ravel()
    end_ns = start_ns + n_ticks * tick_ns
    recv = np.concatenate([[start_ns, start_ns], body_recv, [end_ns]]).astype(np.int64)
    # a reconnect half way through: one gap row, explained by its payload
    gap_at = 2 + body // 2
    codes = np.insert(codes, gap_at, 4)
    recv = np.insert(recv, gap_at, recv[gap_at - 1])
    n = len(codes)
    seq = np.arange(n, dtype=np.int64)
    payload_vocab = ["", _FRAME_PAYLOAD, gap_reason, '{"code":1000,"reason":"end of day"}']
    payload_idx = np.zeros(n, np.int32)
    payload_idx[codes == 0] = 1
    payload_idx[codes == 4] = 2
    payload_idx[codes == 5] = 3
    keep = np.ones(n, bool)
    if drop_one:
        keep[n // 3] = False
    table = pa.table(
        {
            "seq": pa.array(seq[keep]),
            "recv_ns": pa.array(recv[keep]),
            "mono_ns": pa.array(recv[keep] - start_ns),
            "conn_id": pa.array(np.where(np.arange(n) >= gap_at, 2, 1)[keep].astype(np.int32)),
            "kind": _strings(vocab, codes[keep]),
            "payload": _strings(payload_vocab, payload_idx[keep]),
            "payload_bin": pa.nulls(int(keep.sum()), pa.binary()),
        },
        schema=FRAMES_SCHEMA,
    )
    counts = {vocab[i]: int(c) for i, c in enumerate(np.bincount(codes[keep], minlength=6)) if c}
    is_frame = (codes == 0) & keep
    return table, counts, seq[is_frame], recv[is_frame]


def write_session(
    root: Path,
    session_id: str,
    start_ns: int,
    *,
    tick_s: float,
    frames_per_tick: int,
    n_markets: int = 4,
    faults: Faults = Faults(),
    part_rows: int = 4_000_000,
) -> tuple[pa.Table, np.ndarray, np.ndarray, list[str]]:
    """One sealed session of one UTC day. Returns frames, market frame seq/recv, market ids."""
    sdir = root / session_id
    tick_ns = int(tick_s * NS)
    n_ticks = DAY_NS // tick_ns
    reason = "" if faults.unexplained_gap else '{"reason":"reconnect","conn_id":1}'
    frames, counts, fseq, frecv = _frames(
        start_ns, n_ticks, tick_ns, frames_per_tick, reason, faults.seq_hole
    )
    market_ids, markets = _markets(n_markets)
    _write(markets, sdir / "markets.parquet")
    parts = []
    for i, offset in enumerate(range(0, frames.num_rows, part_rows)):
        chunk = frames.slice(offset, part_rows)
        path = sdir / "frames" / f"part-{i:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(chunk, str(path), **{**PARQUET_OPTIONS, "compression_level": 1})
        parts.append(
            {
                "file": f"frames/{path.name}",
                "rows": chunk.num_rows,
                "first_seq": chunk.column("seq")[0].as_py(),
                "last_seq": chunk.column("seq")[-1].as_py(),
                "bytes": path.stat().st_size,
                "sha256": _sha256(path),
            }
        )
    manifest = {
        "id": session_id,
        "format": 1,
        "polyarb_version": __version__,
        "feed_url": "ws://synthetic",
        "created_ns": start_ns,
        "source": {"kind": "synthetic"},
        "assets": [t for row in markets.column("token_ids").to_pylist() for t in row],
        "markets": n_markets,
        "start_ns": int(frames.column("recv_ns")[0].as_py()),
        "end_ns": int(frames.column("recv_ns")[-1].as_py()),
        "frames": frames.num_rows,
        "counts": counts,
        "parts": parts,
        "sealed": True,
        "recoveries": 0,
    }
    write_manifest(sdir, msgspec.convert(manifest, Manifest))
    return frames, fseq, frecv, market_ids


def _run_tables(
    rng: np.random.Generator,
    frames: pa.Table,
    fseq: np.ndarray,
    frecv: np.ndarray,
    market_ids: list[str],
    *,
    mode: str,
    faults: Faults,
    breaker_cycles: int,
    latency_ms: float,
    opp_every: int,
    price_bias_bps: int,
    truth: RunTruth,
) -> dict[str, pa.Table]:
    """The seven run tables of one run over one synthetic session."""
    simulated = mode != "live"
    kinds = frames.column("kind").to_numpy(zero_copy_only=False)
    is_tick = kinds == "tick"
    tick_seq = frames.column("seq").to_numpy()[is_tick]
    tick_ns = frames.column("recv_ns").to_numpy()[is_tick]
    n_ticks = len(tick_seq)

    # connection state per tick, and decision latency per market frame
    connected = (rng.random(n_ticks) >= faults.disconnected_pct / 100).astype(np.int64)
    lat = rng.lognormal(np.log(latency_ms * MS), 0.5, len(fseq)).astype(np.int64)
    if faults.slow_pct:
        slow = rng.random(len(fseq)) < faults.slow_pct / 100
        lat[slow] = 800 * MS
    names = ["connected", "frame_latency_ns"]
    metrics = pa.table(
        {
            "ts_ns": pa.array(np.concatenate([tick_ns, frecv + lat])),
            "seq": pa.array(np.concatenate([tick_seq, fseq])),
            "name": _strings(names, np.repeat([0, 1], [n_ticks, len(fseq)])),
            "value": pa.array(np.concatenate([connected, lat])),
            "label": pa.nulls(n_ticks + len(fseq), pa.string()),
        },
        schema=rs.METRICS,
    )
    truth.ticks, truth.connected_ticks = n_ticks, int(connected.sum())
    truth.latencies_ns = lat

    # opportunities on every opp_every-th market frame: two legs each, most fill
    idx = np.arange(0, len(fseq), opp_every)
    n_opp = len(idx)
    o_seq, o_ns = fseq[idx], frecv[idx]
    o_mkt = rng.integers(0, len(market_ids), n_opp)
    size = rng.integers(2, 20, n_opp).astype(np.int64) * 1_000_000
    edge = rng.integers(2_000, 30_000, n_opp).astype(np.int64)
    filled = rng.random(n_opp) < 0.8
    # live fills differ from simulated ones by the fill error; the per-set price stays < 1
    leg_price = np.int64(480_000)
    bias = leg_price * price_bias_bps // 10_000
    did = [f"opp-{s}" for s in o_seq.tolist()]
    mkts = [market_ids[m] for m in o_mkt.tolist()]
    decisions = pa.table(
        {
            "seq": o_seq,
            "recv_ns": o_ns,
            "decision_id": did,
            "type": ["opportunity"] * n_opp,
            "detector": ["binary_complete_set"] * n_opp,
            "market": mkts,
            "assets": [[f"{m}-yes", f"{m}-no"] for m in mkts],
            "side": ["BUY"] * n_opp,
            "size": size,
            "price": np.full(n_opp, 1_000_000) - edge,
            "edge": edge,
            "verdict": ["accept"] * n_opp,
            "reason": [""] * n_opp,
            "detail": ["{}"] * n_opp,
        },
        schema=rs.DECISIONS,
    )
    legs = np.repeat(np.arange(n_opp), 2)
    leg_name = np.tile(["yes", "no"], n_opp)
    order_ids = [f"{did[i]}-{leg}" for i, leg in zip(legs.tolist(), leg_name.tolist(), strict=True)]
    leg_filled = filled[legs]
    orders = pa.table(
        {
            "order_id": order_ids,
            "decision_id": [did[i] for i in legs.tolist()],
            "seq": o_seq[legs],
            "submit_ns": o_ns[legs],
            "arrive_ns": o_ns[legs] + 50 * MS,
            "market": [mkts[i] for i in legs.tolist()],
            "asset_id": [f"{mkts[i]}-{leg}" for i, leg in zip(legs, leg_name, strict=True)],
            "side": ["BUY"] * len(legs),
            "order_type": ["FOK"] * len(legs),
            "limit_price": np.full(len(legs), leg_price + 10_000),
            "size": size[legs],
            "filled_size": np.where(leg_filled, size[legs], 0),
            "status": np.where(leg_filled, "filled", "killed").tolist(),
            "reason": [""] * len(legs),
            "simulated": [simulated] * len(legs),
        },
        schema=rs.ORDERS,
    )
    fill_rows = np.flatnonzero(leg_filled)
    f_price = np.full(len(fill_rows), leg_price + bias)
    fills = pa.table(
        {
            "fill_id": [f"f-{order_ids[i]}" for i in fill_rows.tolist()],
            "order_id": [order_ids[i] for i in fill_rows.tolist()],
            "seq": o_seq[legs][fill_rows],
            "ts_ns": o_ns[legs][fill_rows] + 50 * MS,
            "market": [mkts[legs[i]] for i in fill_rows.tolist()],
            "asset_id": orders.column("asset_id").take(pa.array(fill_rows)).to_pylist(),
            "side": ["BUY"] * len(fill_rows),
            "price": f_price,
            "size": size[legs][fill_rows],
            "fee": np.zeros(len(fill_rows), np.int64),
            "simulated": [simulated] * len(fill_rows),
        },
        schema=rs.FILLS,
    )
    # each filled set merges for 1: profit = (edge - 2 * bias) per share
    profit = np.where(filled, (edge - 2 * bias) * size // 1_000_000, 0)
    realised = np.cumsum(profit)
    pnl = pa.table(
        {
            "seq": o_seq,
            "ts_ns": o_ns + 60 * MS,
            "cash": 1_000_000_000 + realised,
            "position_value": np.zeros(n_opp, np.int64),
            "realised_pnl": realised,
            "marked_pnl": np.zeros(n_opp, np.int64),
            "fees_paid": np.zeros(n_opp, np.int64),
            "gas_paid": np.zeros(n_opp, np.int64),
            "exposure": np.zeros(n_opp, np.int64),
        },
        schema=rs.PNL,
    )
    per_market = np.bincount(o_mkt, weights=profit, minlength=len(market_ids)).astype(np.int64)
    cost = np.bincount(o_mkt, weights=np.where(filled, size, 0), minlength=len(market_ids))
    positions = pa.table(
        {
            "market": market_ids,
            "asset_id": [f"{m}-set" for m in market_ids],
            "size": np.zeros(len(market_ids), np.int64),
            "cost": cost.astype(np.int64),
            "settled": [True] * len(market_ids),
            "payout": cost.astype(np.int64) + per_market,
        },
        schema=rs.POSITIONS,
    )
    truth.pnl = int(realised[-1]) if n_opp else 0
    truth.opportunities, truth.orders = n_opp, len(legs)
    truth.filled_orders, truth.fills = int(leg_filled.sum()), len(fill_rows)
    truth.market_pnl = {m: int(v) for m, v in zip(market_ids, per_market, strict=True)}

    alerts: list[dict[str, Any]] = []

    def alert(i: int, rule: str, level: str, state: str, msg: str) -> None:
        alerts.append(
            {
                "ts_ns": int(tick_ns[i]),
                "seq": int(tick_seq[i]),
                "rule": rule,
                "level": level,
                "state": state,
                "message": msg,
                "value": None,
                "threshold": None,
            }
        )

    for c in range(breaker_cycles):
        at = n_ticks // 4 + c * 10
        alert(at, "CIRCUIT_BREAKER_OPEN", "CRITICAL", "fired", "3 consecutive failures")
        if not faults.breaker_stuck:
            alert(min(at + 5, n_ticks - 1), "CIRCUIT_BREAKER_OPEN", "CRITICAL", "cleared", "")
    if faults.critical_alert:
        alert(n_ticks // 2, "WS_DISCONNECTED", "CRITICAL", "fired", "no connection for 5 s")
        alert(n_ticks // 2 + 2, "WS_DISCONNECTED", "CRITICAL", "cleared", "")
    for i in range(min(n_opp, 3)):
        at = int(np.searchsorted(tick_ns, o_ns[i]))
        alert(min(at, n_ticks - 1), "OPPORTUNITY_DETECTED", "INFO", "fired", did[i])
    alerts.sort(key=lambda a: (a["seq"], a["rule"]))
    for a in alerts:
        if a["state"] == "fired":
            key = f"{a['level']}:{a['rule']}"
            truth.alerts_fired[key] = truth.alerts_fired.get(key, 0) + 1
    alerts_table = pa.Table.from_pylist(alerts, schema=rs.ALERTS)
    tables = {
        "decisions": decisions,
        "orders": orders,
        "fills": fills,
        "pnl": pnl,
        "positions": positions,
        "metrics": metrics,
        "alerts": alerts_table,
        "calibration": _calibration(orders, fills, simulated, faults),
    }
    truth.rows = sum(t.num_rows for t in tables.values())
    return tables


def _calibration(orders: pa.Table, fills: pa.Table, simulated: bool, faults: Faults) -> pa.Table:
    """Live runs: one calibration row per order, simulated = the unbiased leg price, 50 ms.

    The live side is the run's own fills (biased by ``fill_error_bps``) and 50-54 ms, moved
    by the ``calib_*`` faults.
    """
    if simulated:
        return pa.Table.from_pylist([], schema=rs.CALIBRATION)
    price = dict(
        zip(fills.column("order_id").to_pylist(), fills.column("price").to_pylist(), strict=True)
    )
    limit = 480_000  # the generator's leg price: what a simulated fill pays
    rows = []
    for i, o in enumerate(orders.to_pylist()):
        filled = o["filled_size"]
        real = price.get(o["order_id"])
        pred_price = limit - faults.calib_price_ticks * 10_000
        if faults.calib_missed and filled and i % 4 < 2:
            filled, real = 0, None  # keeps the prediction: the simulator would have filled
        rows.append(
            {
                **{k: o[k] for k in ("order_id", "decision_id", "seq", "submit_ns", "market")},
                **{k: o[k] for k in ("asset_id", "side", "order_type", "limit_price", "size")},
                "tick": 10_000,
                "pred_status": o["status"],
                "pred_filled_size": o["filled_size"],
                "pred_cash": pred_price * o["filled_size"] // 1_000_000,
                "pred_avg_price": pred_price if o["filled_size"] else None,
                "pred_fees": 0,
                "pred_latency_ns": 50 * MS,
                "model_latency_p50_ns": 50 * MS,
                "model_latency_p90_ns": 50 * MS,
                "real_status": o["status"] if filled else "killed",
                "real_filled_size": filled,
                "real_cash": (real or 0) * filled // 1_000_000,
                "real_avg_price": real,
                "real_fees": 0,
                "real_latency_ns": (50 + faults.calib_latency_ms + i % 5) * MS,
                "final_seq": o["seq"],
                "final_ns": o["arrive_ns"],
            }
        )
    return pa.Table.from_pylist(rows, schema=rs.CALIBRATION)


def _write_run(
    sdir: Path,
    run_id: str,
    tables: dict[str, pa.Table],
    info: dict[str, Any],
) -> None:
    rdir = sdir / "runs" / run_id
    for name, table in tables.items():
        _write(table, rdir / f"{name}.parquet")
    decisions_sha = _sha256(rdir / "decisions.parquet")
    (rdir / "alerts.jsonl").write_text(
        "".join(json.dumps(a, sort_keys=True) + "\n" for a in tables["alerts"].to_pylist())
    )
    data = {**info, "run_id": run_id, "decisions_sha256": decisions_sha}
    # Through the real record type: a field read_run_json refuses fails here, not in a test.
    _json(rdir / "run.json", run_json_dict(msgspec.convert(data, RunJson, strict=True)))


def _summary(truth: RunTruth, frames: pa.Table, alerts: int) -> RunSummary:
    """The run's summary block, counted like the engine's (what the run tables hold)."""
    kinds = frames.column("kind").to_numpy(zero_copy_only=False)
    names, counts = np.unique(kinds, return_counts=True)
    return RunSummary(
        frames=frames.num_rows,
        rows_by_kind={str(k): int(c) for k, c in zip(names, counts, strict=True)},
        events_by_type={},
        book={},
        opportunities={"synthetic": truth.opportunities} if truth.opportunities else {},
        opportunities_total=truth.opportunities,
        suppressed={},
        verdicts={"accept": truth.opportunities} if truth.opportunities else {},
        rejects_by_reason={},
        decisions=truth.opportunities,
        orders=truth.orders,
        orders_by_status={},
        order_rejects_by_reason={},
        fills=truth.fills,
        fees=0,
        gas=0,
        merges=0,
        settlements=0,
        cash=0,
        realised_pnl=truth.pnl,
        marked_pnl=0,
        total_pnl=truth.pnl,
        alerts_fired=alerts,
        halts=0,
        halted_at_end=False,
    )


def write_history(
    root: Path | str,
    *,
    days: int = 7,
    start: dt.date = dt.date(2026, 3, 1),
    phase: int = 0,
    mode: str = "shadow",
    faults: Faults = Faults(),
    tick_s: float = 300.0,
    frames_per_tick: int = 2,
    latency_ms: float = 40.0,
    opp_every: int = 7,
    with_replay: bool = False,
    profile_name: str = "synthetic",
    seed: int = 0,
) -> list[RunTruth]:
    """Write ``days`` sessions (one per UTC day from ``start``), each with one run.

    ``mode`` shadow writes ``runs/shadow`` (with ``parity.json``); live writes
    ``runs/live`` with real (non-simulated) fills. ``with_replay`` adds a
    ``runs/replay`` of every session whose fills are the simulator's (for
    live runs they differ by ``faults.fill_error_bps``). A fault that hits
    "one run" hits the run of day 1 (the second day). Returns what each
    in-scope run holds.
    """
    if mode not in ("shadow", "live"):
        raise ValueError(f"mode must be shadow or live, not {mode!r}")
    base = Path(root)
    rng = np.random.default_rng(seed)
    cycles = faults.breaker_cycles
    if cycles is None:
        cycles = 1 if phase == 0 else 0
    truths = []
    for day in range(days):
        date = start + dt.timedelta(days=day)
        start_ns = int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp()) * NS
        session_id = f"{mode}-p{phase}-{date.isoformat()}"
        hit = day == min(1, days - 1)
        day_faults = Faults(
            disconnected_pct=faults.disconnected_pct,
            slow_pct=faults.slow_pct,
            fill_error_bps=faults.fill_error_bps,
            seq_hole=faults.seq_hole and hit,
            unexplained_gap=faults.unexplained_gap and hit,
            crash=faults.crash and hit,
            parity_fail=faults.parity_fail and hit,
            critical_alert=faults.critical_alert and hit,
            breaker_stuck=faults.breaker_stuck,
            calib_latency_ms=faults.calib_latency_ms,
            calib_price_ticks=faults.calib_price_ticks,
            calib_missed=faults.calib_missed,
        )
        frames, fseq, frecv, market_ids = write_session(
            base,
            session_id,
            start_ns,
            tick_s=tick_s,
            frames_per_tick=frames_per_tick,
            faults=day_faults,
        )
        sdir = base / session_id
        info = {
            "session_id": session_id,
            "profile_name": profile_name,
            "profile_sha256": hashlib.sha256(profile_name.encode()).hexdigest(),
            "phase": phase,
            "polyarb_version": __version__,
            "first_recv_ns": int(frames.column("recv_ns")[0].as_py()),
            "last_recv_ns": int(frames.column("recv_ns")[-1].as_py()),
            "frames": frames.num_rows,
        }
        run_id = mode
        truth = RunTruth(session_id, run_id, date.isoformat())
        bias = faults.fill_error_bps if mode == "live" else 0
        run_seed = int(rng.integers(1 << 62))
        tables = _run_tables(
            np.random.default_rng(run_seed),
            frames,
            fseq,
            frecv,
            market_ids,
            mode=mode,
            faults=day_faults,
            breaker_cycles=cycles if day == min(1, days - 1) else 0,
            latency_ms=latency_ms,
            opp_every=opp_every,
            price_bias_bps=bias,
            truth=truth,
        )
        counts = {name: t.num_rows for name, t in tables.items()}
        fired = sum(1 for state in tables["alerts"].column("state").to_pylist() if state == "fired")
        summary = _summary(truth, frames, fired).to_dict()
        run_info = {**info, "mode": mode, "counts": counts, "summary": summary}
        parity: dict[str, Any] = {"status": "FAIL" if day_faults.parity_fail else "PASS"}
        if mode == "shadow":
            run_info |= {
                "wall_start_ns": info["first_recv_ns"],
                "wall_end_ns": info["last_recv_ns"],
                "clean_exit": not day_faults.crash,
            }  # the verdict is parity.json's, written below (run.json has no parity key)
        else:
            run_info |= {
                "wall_start_ns": info["first_recv_ns"],
                "wall_end_ns": info["last_recv_ns"],
                "clean_exit": not day_faults.crash,
            }
        _write_run(sdir, run_id, tables, run_info)
        if mode == "shadow":
            if day_faults.parity_fail:
                parity |= {"first_divergence": {"seq": int(fseq[0]), "shadow": "accept"}}
            _json(sdir / "runs" / run_id / "parity.json", parity)
        if with_replay:
            # the same draws as the run: a replay decides and fills like the shadow run did;
            # against a live run only the fill prices differ (by the fill error)
            replay_tables = _run_tables(
                np.random.default_rng(run_seed),
                frames,
                fseq,
                frecv,
                market_ids,
                mode="replay",
                faults=day_faults,
                breaker_cycles=cycles if day == min(1, days - 1) else 0,
                latency_ms=latency_ms,
                opp_every=opp_every,
                price_bias_bps=0,
                truth=(replay_truth := RunTruth(session_id, "replay", date.isoformat())),
            )
            replay_counts = {name: t.num_rows for name, t in replay_tables.items()}
            replay_info = {**info, "mode": "replay", "counts": replay_counts,
                           "summary": _summary(replay_truth, frames, 0).to_dict()}  # fmt: skip
            _write_run(sdir, "replay", replay_tables, replay_info)
        truths.append(truth)
    return truths


def write_checklist(reports: Path | str, phase: int, status: str = "PASS") -> Path:
    """``reports/go_no_go/phase<N>.json`` (and ``latest.json``) as ``polyarb go-no-go`` writes them."""
    folder = Path(reports) / "go_no_go"
    checks = [{"name": "synthetic", "status": status, "detail": "written by synthetic.py"}]
    data = {"phase": phase, "status": status, "checks": checks, "ts": "2026-03-08T00:00:00Z"}
    _json(folder / "latest.json", data)
    path = folder / f"phase{phase}.json"
    _json(path, data)
    return path
