"""Every real market-channel sample parses to the values it contains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyarb.events import (
    BestBidAsk,
    BookSnapshot,
    ControlText,
    LastTrade,
    LevelChange,
    MarketResolved,
    NewMarket,
    RejectedFrame,
    TickSizeChange,
)
from polyarb.protocol.parser import parse_frame
from polyarb.units import parse_fixed


def _load(shared_data: Path, name: str) -> str:
    return (shared_data / "ws_market" / name).read_text()


def _levels(raw: list[dict[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((parse_fixed(x["price"]), parse_fixed(x["size"])) for x in raw)


def test_every_sample_file_parses_without_rejection(shared_data: Path) -> None:
    files = sorted((shared_data / "ws_market").glob("*.json"))
    assert len(files) >= 7
    for path in files:
        events = parse_frame(path.read_text())
        assert events, path.name
        assert not [e for e in events if isinstance(e, RejectedFrame)], path.name


@pytest.mark.parametrize("name", ["book_2026-08-13_captured.json", "book_2024-10-13.json"])
def test_book_values(shared_data: Path, name: str) -> None:
    text = _load(shared_data, name)
    raw = json.loads(text)
    (book,) = parse_frame(text)
    assert isinstance(book, BookSnapshot)
    assert book.asset_id == raw["asset_id"] and book.market == raw["market"]
    assert book.ts_ms == int(raw["timestamp"]) and book.hash == raw["hash"]
    assert book.bids == _levels(raw["bids"]) and book.asks == _levels(raw["asks"])
    assert book.tick_size == (parse_fixed(raw["tick_size"]) if "tick_size" in raw else None)
    assert book.last_trade_price == raw.get("last_trade_price")


def test_book_2026_has_best_levels_last(shared_data: Path) -> None:
    (book,) = parse_frame(_load(shared_data, "book_2026-08-13_captured.json"))
    assert isinstance(book, BookSnapshot)
    assert book.bids[-1][0] == max(p for p, _ in book.bids)
    assert book.asks[-1][0] == min(p for p, _ in book.asks)
    assert book.last_trade_price == "0.920"  # the raw string survives for the hash


def test_crossing_burst_array_and_g3_price_changes(shared_data: Path) -> None:
    text = _load(shared_data, "price_change_crossing_burst_2026-09-29.json")
    raw = json.loads(text)
    events = parse_frame(text)
    books = [e for e in events if isinstance(e, BookSnapshot)]
    changes = [e for e in events if isinstance(e, LevelChange)]
    assert len(books) == 2 and len(changes) == 98
    expected = [
        (
            c["asset_id"],
            int(m["timestamp"]),
            c["side"],
            parse_fixed(c["price"]),
            parse_fixed(c["size"]),
            c["hash"],
        )
        for m in raw
        if m["event_type"] == "price_change"
        for c in m["price_changes"]
    ]
    got = [(c.asset_id, c.ts_ms, c.side, c.price, c.size, c.hash) for c in changes]
    assert got == expected
    first = raw[1]["price_changes"][0]
    assert changes[0].best_bid == parse_fixed(first["best_bid"])
    assert changes[0].best_ask == parse_fixed(first["best_ask"])


def test_g1_flat_price_change(shared_data: Path) -> None:
    text = _load(shared_data, "price_change_flat_2024-08-18.json")
    raw = json.loads(text)
    (change,) = parse_frame(text)
    assert isinstance(change, LevelChange)
    assert (change.asset_id, change.side, change.price, change.size, change.hash) == (
        raw["asset_id"],
        "SELL",
        514_000,
        21_574_080_000,
        raw["hash"],
    )
    assert change.best_bid is None and change.best_ask is None


def test_g2_changes_list_generation(shared_data: Path) -> None:
    # No real G2 capture survives; build one from the real G1 frame in the documented G2 shape.
    g1 = json.loads(_load(shared_data, "price_change_flat_2024-08-18.json"))
    g2 = {k: g1[k] for k in ("event_type", "market", "asset_id", "hash", "timestamp")}
    g2["changes"] = [
        {"price": g1["price"], "side": g1["side"], "size": g1["size"]},
        {"price": "0.5", "side": "BUY", "size": "0"},
    ]
    a, b = parse_frame(json.dumps(g2))
    assert isinstance(a, LevelChange) and isinstance(b, LevelChange)
    assert (a.price, a.size, a.side, a.hash) == (514_000, 21_574_080_000, "SELL", g1["hash"])
    assert (b.price, b.size, b.side) == (500_000, 0, "BUY")


def test_last_trade_price(shared_data: Path) -> None:
    (trade,) = parse_frame(_load(shared_data, "last_trade_price_2024-08-25.json"))
    assert isinstance(trade, LastTrade)
    assert (trade.price, trade.size, trade.side, trade.fee_rate_bps) == (
        491_000,
        85_360_000,
        "SELL",
        0,
    )
    assert trade.price_text == "0.491" and trade.transaction_hash is None


def test_tick_size_change(shared_data: Path) -> None:
    (tick,) = parse_frame(_load(shared_data, "tick_size_change_2025-02-09.json"))
    assert isinstance(tick, TickSizeChange)
    assert (tick.old_tick_size, tick.new_tick_size, tick.ts_ms) == (10_000, 1_000, 1739068041853)


def test_best_bid_ask(shared_data: Path) -> None:
    (top,) = parse_frame(_load(shared_data, "best_bid_ask_2025-12-26_unverified.json"))
    assert isinstance(top, BestBidAsk)
    assert (top.best_bid, top.best_ask, top.spread) == (730_000, 770_000, 40_000)


def test_best_bid_ask_empty_book_sentinels() -> None:
    frame = '{"event_type":"best_bid_ask","market":"m","asset_id":"a","best_bid":"0","best_ask":"0","spread":"0","timestamp":"1"}'
    (top,) = parse_frame(frame)
    assert isinstance(top, BestBidAsk) and top.best_bid is None and top.best_ask is None
    g3 = '{"event_type":"price_change","market":"m","timestamp":"1","price_changes":[{"asset_id":"a","price":"0.5","size":"1","side":"BUY","hash":"h","best_bid":"0","best_ask":"1"}]}'
    (change,) = parse_frame(g3)
    assert isinstance(change, LevelChange) and change.best_bid is None and change.best_ask is None


def test_new_market_and_market_resolved_shapes() -> None:
    # Field lists from the protocol notes (no verified real capture exists).
    new = {
        "event_type": "new_market",
        "id": "1",
        "question": "Q?",
        "market": "0xc",
        "slug": "q",
        "assets_ids": ["1", "2"],
        "outcomes": ["Yes", "No"],
        "timestamp": "1766789469958",
        "order_price_min_tick_size": "0.001",
        "fee_schedule": {"rate": 0.07, "exponent": 1},
    }
    (nm,) = parse_frame(json.dumps(new))
    assert isinstance(nm, NewMarket)
    assert (nm.market, nm.asset_ids, nm.outcomes, nm.tick_size) == (
        "0xc",
        ("1", "2"),
        ("Yes", "No"),
        1_000,
    )
    res = {
        "event_type": "market_resolved",
        "id": "1",
        "market": "0xc",
        "assets_ids": ["1", "2"],
        "winning_asset_id": "2",
        "winning_outcome": "No",
        "timestamp": "1766789469999",
        "tags": [],
    }
    (mr,) = parse_frame(json.dumps(res))
    assert isinstance(mr, MarketResolved)
    assert (mr.winning_asset_id, mr.winning_outcome, mr.asset_ids) == ("2", "No", ("1", "2"))


@pytest.mark.parametrize("text", ["PONG", "NO NEW ASSETS", "INVALID OPERATION"])
def test_control_texts(text: str) -> None:
    assert parse_frame(text) == [ControlText(text)]


def test_initial_dump_array_and_single_object_give_the_same_book(shared_data: Path) -> None:
    obj = json.loads(_load(shared_data, "book_2026-08-13_captured.json"))
    single = parse_frame(json.dumps(obj))
    array = parse_frame(json.dumps([obj, obj]))
    assert array == single * 2
    assert parse_frame("[]") == []
