"""resolvedkit BTC 15-minute sample → a session of Polymarket-format ``book`` frames.

Data: Polymarket order-book data from Resolved Markets (https://resolvedmarkets.com),
© 2026 Elcara LLC-FZ, CC BY 4.0. The sample publishes no token ids, so ids are
synthetic (:func:`synthetic_token_id`); books are converted losslessly, the
``hash`` is computed by the current 10-field rule, and each market's real
settlement becomes a ``market_resolved`` frame after its last snapshot.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from polyarb.frames import FrameKind
from polyarb.protocol.book_hash import book_hash
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.wire import compact, subscribe_text
from polyarb.recording.imports.common import TICK_INTERVAL_NS, staged, synthetic_token_id
from polyarb.recording.writer import SessionWriter
from polyarb.units import SCALE, format_fixed, parse_fixed

SESSION_ID = "resolvedkit-btc15m"
CREDIT = (
    "Polymarket order-book data from Resolved Markets (https://resolvedmarkets.com), "
    "© 2026 Elcara LLC-FZ (Resolved Markets), CC BY 4.0"
)
FEE_RATE = 70_000  # 0.07: the crypto fee schedule of 2026-08/09 (docs/protocol.md §Fees)


def _fixed_text(value: float) -> str:
    # The sample stores doubles (1.9300000000000002); Polymarket's decimals have ≤ 6
    # places, so rounding to 6 recovers the published value exactly.
    return format_fixed(
        int(Decimal(repr(float(value))).scaleb(6).to_integral_value(ROUND_HALF_EVEN))
    )


def _tick_for(rows: list[dict[str, Any]]) -> int:
    for row in rows:
        for px, _ in row["bids"] + row["asks"]:
            if parse_fixed(_fixed_text(px)) % 10_000:
                return 1_000
    return 10_000


@staged
def import_resolvedkit(
    source: Path,
    recordings: Path,
    *,
    session_id: str = SESSION_ID,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Convert ``source`` (the resolvedkit_btc15m folder) into ``recordings/<session_id>``."""
    books_path = source / "books.jsonl.gz"
    markets_path = source / "markets.json"
    for path in (books_path, markets_path):
        if not path.is_file():
            raise FileNotFoundError(f"resolvedkit sample file missing: {path}")
    raw_markets = json.loads(markets_path.read_text())
    with gzip.open(books_path, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    by_market: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_market.setdefault(row["market_id"], []).append(row)

    metas: list[MarketMeta] = []
    tokens: dict[tuple[str, str], str] = {}
    ticks: dict[str, int] = {}
    last_ts: dict[str, int] = {}
    for m in raw_markets:
        cid = m["market_id"]
        up = synthetic_token_id(cid, m["outcome_up"])
        down = synthetic_token_id(cid, m["outcome_down"])
        tokens[(cid, "UP")] = up
        tokens[(cid, "DOWN")] = down
        ticks[cid] = _tick_for(by_market.get(cid, []))
        last_ts[cid] = max((r["ts"] for r in by_market.get(cid, [])), default=m["end_ts"])
        winner = up if m["payout_up"] == 1 else down if m["payout_down"] == 1 else None
        metas.append(
            MarketMeta(
                condition_id=cid,
                question=m["question"],
                slug=m["slug"],
                token_ids=(up, down),
                outcomes=(m["outcome_up"], m["outcome_down"]),
                tick_size=ticks[cid],
                min_order_size=5 * SCALE,
                fee_rate=FEE_RATE,
                fee_exponent=1,
                end_date_ms=m["end_ts"],
                closed=True,
                winning_token_id=winner,
            )
        )
    resolved_after = sorted((last_ts[m.condition_id], m) for m in metas)

    writer = SessionWriter.fresh(
        recordings,
        session_id,
        feed_url="import:resolvedkit",
        source={
            "name": "resolvedkit 0.1.0 sample_data (BTC 15-minute, 18 markets)",
            "licence": "CC BY 4.0",
            "credit": CREDIT,
            "derived": "converted by 'polyarb import resolvedkit'; token ids are synthetic",
        },
        part_max_rows=10**9,
        part_max_seconds=10**9,
    )
    assets = [t for m in metas for t in m.token_ids]
    writer.set_assets(assets)
    writer.write_markets(metas, valid_from_seq=0)
    t0 = rows[0]["ts"] * 1_000_000
    writer.append(
        FrameKind.OPEN, compact({"url": "import:resolvedkit", "assets": len(assets)}), t0, 0, 0
    )
    writer.append(FrameKind.SUBSCRIBE, subscribe_text(assets), t0, 0, 0)
    next_tick = t0 + TICK_INTERVAL_NS
    seen: set[str] = set()
    pending = 0
    total = len(rows)

    def emit(kind: str, payload: str, ts_ms: int) -> None:
        nonlocal next_tick
        recv = ts_ms * 1_000_000
        while next_tick <= recv:
            writer.append(FrameKind.TICK, "", next_tick, next_tick - t0, 0)
            next_tick += TICK_INTERVAL_NS
        writer.append(kind, payload, recv, recv - t0, 0)

    for index, row in enumerate(rows):
        cid = row["market_id"]
        while pending < len(resolved_after) and resolved_after[pending][0] < row["ts"]:
            _emit_resolution(emit, resolved_after[pending][1], resolved_after[pending][0] + 1)
            pending += 1
        asset = tokens[(cid, row["side"])]
        # resolvedkit lists best level first; the wire lists it last (docs/protocol.md §Framing, numbers and time).
        bids = [(_fixed_text(p), _fixed_text(s)) for p, s in reversed(row["bids"])]
        asks = [(_fixed_text(p), _fixed_text(s)) for p, s in reversed(row["asks"])]
        tick = format_fixed(ticks[cid])
        ts = str(row["ts"])
        digest = book_hash(
            market=cid,
            asset_id=asset,
            timestamp=ts,
            bids=[(parse_fixed(p), parse_fixed(s)) for p, s in bids],
            asks=[(parse_fixed(p), parse_fixed(s)) for p, s in asks],
            min_order_size="5",
            tick_size=tick,
            neg_risk=False,
            last_trade_price="",
        )
        frame: dict[str, Any] = {
            "market": cid,
            "asset_id": asset,
            "timestamp": ts,
            "hash": digest,
            "bids": [{"price": p, "size": s} for p, s in bids],
            "asks": [{"price": p, "size": s} for p, s in asks],
        }
        if asset not in seen:  # the initial snapshot carries tick_size and last_trade_price
            seen.add(asset)
            frame["tick_size"] = tick
            frame["last_trade_price"] = ""
        frame["event_type"] = "book"
        emit(FrameKind.FRAME, compact(frame), row["ts"])
        if progress and index % 2000 == 0:
            progress(index, total)
    for ts_ms, meta in resolved_after[pending:]:
        _emit_resolution(emit, meta, ts_ms + 1)
    if progress:
        progress(total, total)
    writer.close()
    return writer.dir


def _emit_resolution(emit: Callable[[str, str, int], None], meta: MarketMeta, ts_ms: int) -> None:
    if meta.winning_token_id is None:
        return
    payload = {
        "event_type": "market_resolved",
        "id": meta.slug,
        "market": meta.condition_id,
        "assets_ids": list(meta.token_ids),
        "winning_asset_id": meta.winning_token_id,
        "winning_outcome": meta.outcome_of(meta.winning_token_id),
        "timestamp": str(ts_ms),
        "tags": ["crypto"],
    }
    emit(FrameKind.FRAME, compact(payload), ts_ms)
