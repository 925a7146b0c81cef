"""The 10-field SHA-1 book hash reproduces what the protocol notes say reproduces."""

from __future__ import annotations

import json
from pathlib import Path

from polyarb.events import BookSnapshot, LevelChange
from polyarb.protocol.book_hash import book_hash
from polyarb.protocol.parser import parse_frame
from polyarb.units import format_fixed


def _hash_of(book: BookSnapshot, *, min_order_size: str, neg_risk: bool, ltp: str) -> str:
    return book_hash(
        market=book.market,
        asset_id=book.asset_id,
        timestamp=str(book.ts_ms),
        bids=book.bids,
        asks=book.asks,
        min_order_size=min_order_size,
        tick_size=format_fixed(book.tick_size or 0),
        neg_risk=neg_risk,
        last_trade_price=ltp,
    )


def test_rest_book_2026_08_03_reproduces_exactly(shared_data: Path) -> None:
    raw = json.loads((shared_data / "rest/book_empty_ask_neg_risk_2026-08-03.json").read_text())
    (book,) = parse_frame(json.dumps({**raw, "event_type": "book"}))
    assert isinstance(book, BookSnapshot)
    got = _hash_of(
        book,
        min_order_size=raw["min_order_size"],
        neg_risk=raw["neg_risk"],
        ltp=raw["last_trade_price"],
    )
    assert got == raw["hash"]
    assert _hash_of(book, min_order_size="5", neg_risk=False, ltp="") != raw["hash"]


def test_ws_book_2026_08_13_reproduces_with_metadata(shared_data: Path) -> None:
    (book,) = parse_frame((shared_data / "ws_market/book_2026-08-13_captured.json").read_text())
    assert isinstance(book, BookSnapshot) and book.last_trade_price is not None
    assert (
        _hash_of(book, min_order_size="5", neg_risk=False, ltp=book.last_trade_price) == book.hash
    )
    # Without the metadata the message does not carry, it does not.
    assert (
        _hash_of(book, min_order_size="1", neg_risk=False, ltp=book.last_trade_price) != book.hash
    )


def test_2024_book_does_not_reproduce(shared_data: Path) -> None:
    (book,) = parse_frame((shared_data / "ws_market/book_2024-10-13.json").read_text())
    assert isinstance(book, BookSnapshot)
    assert _hash_of(book, min_order_size="5", neg_risk=True, ltp="") != book.hash


def test_crossing_burst_47_of_49_and_the_rest_carry_the_event_hash(shared_data: Path) -> None:
    events = parse_frame(
        (shared_data / "ws_market/price_change_crossing_burst_2026-09-29.json").read_text()
    )
    first, last = events[0], events[-1]
    assert isinstance(first, BookSnapshot) and isinstance(last, BookSnapshot)
    bids = dict(first.bids)
    asks = dict(first.asks)
    # The trade at the final timestamp printed at 0.301; its last_trade_price frame is not in
    # the sample, so the final event's hash needs that price (docs/protocol.md §Book hash).
    ltp_at = {last.ts_ms: "0.301"}

    def current(ts: int) -> str:
        return book_hash(
            market=first.market,
            asset_id=first.asset_id,
            timestamp=str(ts),
            bids=sorted(bids.items()),
            asks=sorted(asks.items(), reverse=True),
            min_order_size="5",
            tick_size="0.001",
            neg_risk=False,
            last_trade_price=ltp_at.get(ts, first.last_trade_price or ""),
        )

    matched, unmatched = 0, []
    for change in events[1:-1]:
        assert isinstance(change, LevelChange)
        if change.asset_id != first.asset_id:
            continue
        side = bids if change.side == "BUY" else asks
        if change.size:
            side[change.price] = change.size
        else:
            side.pop(change.price, None)
        if change.hash == current(change.ts_ms):
            matched += 1
        else:
            unmatched.append(change)
    assert matched == 47
    assert len(unmatched) == 2
    assert {c.ts_ms for c in unmatched} == {last.ts_ms}
    assert {c.hash for c in unmatched} == {last.hash}
    # At the event boundary the rebuilt book is the final snapshot, hash included.
    assert tuple(sorted(bids.items())) == last.bids
    assert tuple(sorted(asks.items(), reverse=True)) == last.asks
    assert current(last.ts_ms) == last.hash
