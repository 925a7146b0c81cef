"""A session from another hash era, derived from the real crossing burst.

Issue 11 item 14 describes a real 37-second capture (2026-02-28, both tokens of one
market) whose snapshots verify while almost every ``price_change`` hash fails and the
``best_bid``/``best_ask`` each change carries agree with the rebuilt book. That capture
is not in the shared research data (its provenance list names no such file), so these
tests build a session with the same property from real frames: the burst's books and
quotes are kept exactly; its NO token gets the exchange's mirror of the first YES book
(hashed by our rule, so every snapshot verifies); every ``price_change`` hash is replaced
by one from a rule we do not know (a SHA-1 over the original). Nothing else changes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from polyarb.book import OrderBook
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader, SessionWriter
from polyarb.units import ONE

BURST = "crossing-burst-2026-09-29"
ERA_SESSION = "foreign-hash-era"


def _flip(levels: list[dict[str, str]]) -> list[dict[str, str]]:
    """A bid at p on YES is an ask at 1 - p on NO (same size), in the wire's order."""
    out = []
    for lv in levels:
        micro = ONE - round(float(lv["price"]) * ONE)
        out.append({"price": str(micro / ONE), "size": lv["size"]})
    return out


def _mirror_snapshot(first: dict[str, Any], no_asset: str, min_order_size: int) -> str:
    obj: dict[str, Any] = {
        "market": first["market"],
        "asset_id": no_asset,
        "timestamp": first["timestamp"],
        "hash": "",
        "bids": _flip(first["asks"]),
        "asks": _flip(first["bids"]),
        "tick_size": first["tick_size"],
        "event_type": "book",
        "last_trade_price": first["last_trade_price"],  # one market, one last trade
    }
    (snap,) = parse_frame(json.dumps(obj))
    book = OrderBook(no_asset, first["market"], 1_000)
    book.apply_snapshot(snap.bids, snap.asks, snap.ts_ms, snap.tick_size, snap.last_trade_price)  # type: ignore[attr-defined]
    obj["hash"] = book.hash(int(first["timestamp"]), min_order_size=min_order_size, neg_risk=False)
    return json.dumps(obj, separators=(",", ":"))


def foreign_hash_session(
    bundled_recordings: Path, root: Path, *, drop_top_move: bool = False, name: str = ERA_SESSION
) -> Path:
    """Write the derived session under ``root/name``; ``drop_top_move`` also loses the first
    ``price_change`` that moves the YES best bid (a book that really diverged)."""
    src = SessionReader(bundled_recordings / BURST)
    meta = src.markets()[0]
    yes, no = meta.token_ids
    rows: list[tuple[str, str, int, int, int]] = []
    mirrored = dropped = False
    last_bid: str | None = None
    for f in src.frames():
        payload = f.payload
        if f.kind == "frame" and '"price_changes"' in payload:
            obj = json.loads(payload)
            entry = next(e for e in obj["price_changes"] if e["asset_id"] == yes)
            moved = last_bid is not None and entry["best_bid"] != last_bid
            last_bid = entry["best_bid"]
            if drop_top_move and moved and not dropped:
                dropped = True
                continue
            for e in obj["price_changes"]:
                e["hash"] = hashlib.sha1(f"foreign rule:{e['hash']}".encode()).hexdigest()
            payload = json.dumps(obj, separators=(",", ":"))
        rows.append((f.kind, payload, f.recv_ns, f.mono_ns, f.conn_id))
        if f.kind == "frame" and not mirrored and '"event_type":"book"' in payload:
            mirrored = True
            text = _mirror_snapshot(json.loads(payload), no, meta.min_order_size)
            rows.append(("frame", text, f.recv_ns, f.mono_ns, f.conn_id))
    assert mirrored and (dropped or not drop_top_move)
    with SessionWriter(root, name) as writer:
        writer.set_assets([yes, no])
        writer.write_markets(src.markets(), valid_from_seq=0)
        writer.append_rows(rows)
    return root / name
