"""The bundled real sessions: lossless conversion, real settlements, credit kept."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

from polyarb.events import BookSnapshot, MarketResolved
from polyarb.protocol.book_hash import book_hash
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader
from polyarb.units import format_fixed


def _exact(x: float) -> int:
    from decimal import Decimal

    return int((Decimal(repr(x)) * 10**6).to_integral_value())


def test_resolvedkit_session_is_lossless(bundled_recordings: Path, shared_data: Path) -> None:
    reader = SessionReader(bundled_recordings / "resolvedkit-btc15m")
    source = shared_data / "resolvedkit_btc15m"
    with gzip.open(source / "books.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    raw_markets = {m["market_id"]: m for m in json.loads((source / "markets.json").read_text())}
    metas = {m.condition_id: m for m in reader.markets()}
    assert len(metas) == 18 and len(reader.manifest["assets"]) == 36
    assert "CC BY 4.0" in reader.manifest["source"]["credit"]
    assert "Resolved Markets" in reader.manifest["source"]["credit"]

    books: list[BookSnapshot] = []
    resolved: list[MarketResolved] = []
    kinds: Counter[str] = Counter()
    for frame in reader.frames():
        kinds[frame.kind] += 1
        if frame.kind != "frame":
            continue
        for event in parse_frame(frame.payload):
            if isinstance(event, BookSnapshot):
                books.append(event)
            else:
                assert isinstance(event, MarketResolved)
                resolved.append(event)
    assert len(books) == len(rows) == 38_333
    assert kinds["tick"] > 5 * 3600  # a tick row per second over five hours
    for row, book in zip(rows, books, strict=True):
        meta = metas[row["market_id"]]
        token = meta.token_ids[0 if row["side"] == "UP" else 1]
        assert (book.market, book.asset_id, book.ts_ms) == (row["market_id"], token, row["ts"])
        # resolvedkit lists best first; the wire lists best last.
        assert [(_exact(p), _exact(s)) for p, s in row["bids"]] == list(reversed(book.bids))
        assert [(_exact(p), _exact(s)) for p, s in row["asks"]] == list(reversed(book.asks))
    # Every book hash follows the current rule, so the engine can verify it.
    sample = books[123]
    assert sample.hash == book_hash(
        market=sample.market,
        asset_id=sample.asset_id,
        timestamp=str(sample.ts_ms),
        bids=sample.bids,
        asks=sample.asks,
        min_order_size="5",
        tick_size=format_fixed(metas[sample.market].tick_size),
        neg_risk=False,
        last_trade_price="",
    )
    assert len(resolved) == 18
    for event in resolved:
        m = raw_markets[event.market]
        meta = metas[event.market]
        winner = meta.token_ids[0] if m["payout_up"] == 1 else meta.token_ids[1]
        assert event.winning_asset_id == winner == meta.winning_token_id
    # Each resolution comes after that market's last snapshot.
    last_book = {b.market: b.ts_ms for b in books}
    assert all(r.ts_ms > last_book[r.market] for r in resolved)


def test_resolvedkit_recv_times_are_ordered(bundled_recordings: Path) -> None:
    reader = SessionReader(bundled_recordings / "resolvedkit-btc15m")
    recv = [f.recv_ns for f in reader.frames()]
    assert recv == sorted(recv)


def test_burst_session(bundled_recordings: Path, shared_data: Path) -> None:
    reader = SessionReader(bundled_recordings / "crossing-burst-2026-09-29")
    frames = [f for f in reader.frames() if f.kind == "frame"]
    raw = json.loads(
        (shared_data / "ws_market/price_change_crossing_burst_2026-09-29.json").read_text()
    )
    assert len(frames) == len(raw) == 51
    assert [json.loads(f.payload) for f in frames] == raw
    (meta,) = reader.markets()
    assert meta.token_ids[0] == raw[0]["asset_id"] and meta.tick_size == 1_000
