"""Order book invariants (hypothesis) and the real crossing burst rebuilt exactly."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from polyarb.book import OrderBook
from polyarb.events import BUY, SELL, BookSnapshot, LevelChange
from polyarb.protocol.parser import parse_frame

BURST = "ws_market/price_change_crossing_burst_2026-09-29.json"

prices = st.integers(1, 999).map(lambda k: k * 1_000)
sizes = st.integers(0, 5_000).map(lambda k: k * 10_000)
side_levels = st.dictionaries(prices, sizes.filter(bool), max_size=12)
deltas = st.lists(st.tuples(st.sampled_from([BUY, SELL]), prices, sizes), max_size=60)


@settings(max_examples=200, deadline=None)
@given(bids=side_levels, asks=side_levels, changes=deltas)
def test_snapshot_then_deltas_equals_dict_model(bids, asks, changes):
    book = OrderBook("a", "m", 1_000)
    wire_bids = tuple(sorted(bids.items()))
    wire_asks = tuple(sorted(asks.items(), reverse=True))
    book.apply_snapshot(wire_bids, wire_asks, 1)
    model = {BUY: dict(bids), SELL: dict(asks)}
    for ts, (side, price, size) in enumerate(changes, start=2):
        book.apply_level(side, price, size, ts)
        if size:
            model[side][price] = size
        else:
            model[side].pop(price, None)
        # interleave reads so cached sorted views must be invalidated correctly
        assert book.best_bid() == (max(model[BUY]) if model[BUY] else None)
        assert book.best_ask() == (min(model[SELL]) if model[SELL] else None)
    assert book.bids == model[BUY] and book.asks == model[SELL]
    assert book.bids_best_first() == sorted(model[BUY].items(), reverse=True)
    assert book.asks_best_first() == sorted(model[SELL].items())
    assert book.wire_bids() == sorted(model[BUY].items())
    assert book.wire_asks() == sorted(model[SELL].items(), reverse=True)
    assert all(s > 0 for _, s in book.bids_best_first() + book.asks_best_first())
    best_b, best_a = book.best_bid(), book.best_ask()
    assert book.crossed() == (best_b is not None and best_a is not None and best_b >= best_a)


@settings(max_examples=100, deadline=None)
@given(first=side_levels, second=side_levels, changes=deltas)
def test_snapshot_replaces_sides_entirely(first, second, changes):
    book = OrderBook("a", "m", 1_000)
    book.apply_snapshot(tuple(sorted(first.items())), (), 1)
    for side, price, size in changes:
        book.apply_level(side, price, size, 2)
    book.apply_snapshot(tuple(sorted(second.items())), ((990_000, 0),), 3)
    assert book.bids == second
    assert book.asks == {}  # a zero-size level in a snapshot is not a level
    assert book.synced and book.verified


def test_new_epoch_forgets_levels_until_snapshot():
    book = OrderBook("a", "m", 10_000)
    book.apply_snapshot(((100_000, 1),), ((900_000, 1),), 1)
    book.new_epoch(1_000)
    assert not book.synced and book.bids == {} and book.tick_size == 1_000 and book.epoch == 1
    book.apply_snapshot(((100_000, 1),), (), 2)
    assert book.synced


def _burst(shared_data: Path):
    frames = json.loads((shared_data / BURST).read_text())
    return [ev for f in frames for ev in parse_frame(json.dumps(f))]


def test_crossing_burst_rebuilds_final_book_exactly(shared_data):
    events = _burst(shared_data)
    first, last = events[0], events[-1]
    assert isinstance(first, BookSnapshot) and isinstance(last, BookSnapshot)
    book = OrderBook(first.asset_id, first.market, first.tick_size or 0)
    book.apply_snapshot(
        first.bids, first.asks, first.ts_ms, first.tick_size, first.last_trade_price
    )
    crossed_midway = 0
    for ev in events[1:-1]:
        assert isinstance(ev, LevelChange)
        if ev.asset_id == first.asset_id:
            book.apply_level(ev.side, ev.price, ev.size, ev.ts_ms)
            crossed_midway += book.crossed()
    assert book.wire_bids() == list(last.bids)
    assert book.wire_asks() == list(last.asks)
    assert crossed_midway == 2  # the transient crossed state the protocol notes describe
    assert not book.crossed()


def test_crossing_burst_hash_per_entry_matches_protocol_notes(shared_data):
    """47 of 49 entry hashes equal the post-entry book; the 2 others are mid-event."""
    events = _burst(shared_data)
    first = events[0]
    book = OrderBook(first.asset_id, first.market, first.tick_size or 0)
    book.apply_snapshot(
        first.bids, first.asks, first.ts_ms, first.tick_size, first.last_trade_price
    )
    final_ts = events[-1].ts_ms
    matched, mismatched_ts = 0, []
    for ev in events[1:-1]:
        if ev.asset_id != first.asset_id:
            continue
        if ev.ts_ms == final_ts:
            # the event's trade printed at 0.301; the sample omits the last_trade_price frame
            book.last_trade_text = "0.301"
        book.apply_level(ev.side, ev.price, ev.size, ev.ts_ms)
        if book.hash(ev.ts_ms, min_order_size=5_000_000, neg_risk=False) == ev.hash:
            matched += 1
        else:
            mismatched_ts.append(ev.ts_ms)
    assert matched == 47
    assert mismatched_ts == [final_ts, final_ts]


raw_side = st.lists(st.tuples(st.integers(1, 6).map(lambda k: k * 1_000), st.integers(0, 3)))


@settings(max_examples=500, deadline=None)
@given(bids=raw_side, asks=raw_side)
def test_snapshot_side_equals_filtering_comprehension_even_with_duplicates_and_zeros(bids, asks):
    """A snapshot side is its non-zero levels in wire order, duplicates and zeros included.

    Few prices and sizes 0-3 so duplicates and zeros are frequent: a side whose last entry
    for a price is zero keeps the earlier non-zero one, and key order (what ``dict`` iteration
    shows the venue and stats) follows the wire. Pins the rule for any faster build of a side.
    """
    book = OrderBook("a", "m", 1_000)
    book.apply_snapshot(tuple(bids), tuple(asks), 1)
    expected_bids = {p: s for p, s in bids if s}
    expected_asks = {p: s for p, s in asks if s}
    assert list(book.bids.items()) == list(expected_bids.items())
    assert list(book.asks.items()) == list(expected_asks.items())
