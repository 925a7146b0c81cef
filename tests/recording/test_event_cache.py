"""The decoded-session cache gives every row's events exactly as the parser does (issue 16 item 4).

Read back through the cache file itself (:func:`build_cache`, :func:`iter_cached_rows`), on
the real bundled sessions and on generated ones mixing every event shape, rejections,
control texts and non-frame rows; compared with :func:`session_rows`, the replay's path from
the frames through :func:`parse_frame`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyarb.engine.replay import session_rows
from polyarb.events import BookSnapshot, LevelChange, MarketEvent
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader, SessionWriter
from polyarb.recording.event_cache import (
    EVENT_TYPES,
    MIXED,
    Row,
    build_cache,
    decode_events,
    encode_events,
    iter_cached_rows,
)
from polyarb.recording.imports.negrisk import import_negrisk


def _rows(batches: Iterator[tuple[int, Iterator[Row]]]) -> list[Row]:
    out: list[Row] = []
    for n, rows in batches:
        got = list(rows)
        assert len(got) == n
        out.extend(got)
    return out


def _deep_types(value: object) -> object:
    """``value``'s type tree: equal events with an int where a str was would still differ here."""
    if isinstance(value, msgspec.Struct):
        fields = value.__struct_fields__
        return (type(value), tuple(_deep_types(getattr(value, f)) for f in fields))
    if isinstance(value, tuple | list):
        return (type(value), tuple(_deep_types(v) for v in value))
    return type(value)


def assert_cache_matches_frames(session: Path) -> int:
    """Every row read from a freshly built cache equals the parse path's; returns the frame count."""
    reader = SessionReader(session)
    path = build_cache(reader)
    cached = _rows(iter_cached_rows(path))
    parsed = _rows(session_rows(reader))
    assert len(cached) == len(parsed)
    frames = 0
    for got, want in zip(cached, parsed, strict=True):
        seq, recv_ns, kind, payload, conn_id, events = want
        if kind == "frame":
            frames += 1
            payload = ""  # a cached frame row carries its events, not its text
        assert got == (seq, recv_ns, kind, payload, conn_id, events), f"row {seq}"
        assert _deep_types(got) == _deep_types((seq, recv_ns, kind, payload, conn_id, events))
    return frames


@pytest.mark.parametrize("session_id", ["resolvedkit-btc15m", "crossing-burst-2026-09-29"])
def test_every_row_of_the_bundled_sessions_reads_back_as_parsed(
    copy_session: Callable[[str], Path], session_id: str
) -> None:
    """Real sessions: 38 k book frames and tick rows (resolvedkit), a crossing burst."""
    assert assert_cache_matches_frames(copy_session(session_id)) > 0


def test_every_row_of_the_negrisk_session_reads_back_as_parsed(
    shared_data: Path, tmp_path: Path
) -> None:
    assert assert_cache_matches_frames(import_negrisk(shared_data, tmp_path)) > 0


_NUM = st.sampled_from(["0", "0.5", ".5", "0.001", "0.999", "1", "12.34", "-0.5", "", "x", "1e3"])


def _level() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"price": _NUM, "size": _NUM})


def _shape(event_type: str) -> st.SearchStrategy[dict[str, Any]]:
    base = {"event_type": st.just(event_type), "market": st.just("0xm"),
            "asset_id": st.sampled_from(["1", "2"]), "timestamp": st.just("1790658661234")}  # fmt: skip
    extra: dict[str, st.SearchStrategy[Any]] = {
        "book": {"hash": st.just("h"), "bids": st.lists(_level(), max_size=6),
                 "asks": st.lists(_level(), max_size=6)},
        "price_change": {"price_changes": st.lists(st.fixed_dictionaries(
            {"asset_id": st.just("1"), "price": _NUM, "size": _NUM,
             "side": st.sampled_from(["BUY", "SELL", "UP"]), "hash": st.just("h"),
             "best_bid": _NUM, "best_ask": _NUM}), max_size=4)},
        "last_trade_price": {"price": _NUM, "size": _NUM, "side": st.sampled_from(["BUY", "SELL"]),
                             "fee_rate_bps": st.just("0"), "transaction_hash": st.just("0xt")},
        "tick_size_change": {"old_tick_size": _NUM, "new_tick_size": _NUM},
        "best_bid_ask": {"best_bid": _NUM, "best_ask": _NUM, "spread": _NUM},
        "market_resolved": {"assets_ids": st.just(["1", "2"]), "winning_asset_id": st.just("1"),
                            "winning_outcome": st.just("Yes")},
        "new_market": {"question": st.just("q"), "slug": st.just("s"),
                       "assets_ids": st.just('["1","2"]'), "outcomes": st.just(["Yes", "No"]),
                       "order_price_min_tick_size": st.just(0.01)},
    }[event_type]  # fmt: skip
    return st.fixed_dictionaries({**base, **extra})


_EVENT_TYPES = ["book", "price_change", "last_trade_price", "tick_size_change", "best_bid_ask",
                "market_resolved", "new_market"]  # fmt: skip
_OBJECT = st.sampled_from(_EVENT_TYPES).flatmap(_shape)
_FRAME = st.one_of(
    _OBJECT.map(json.dumps),
    st.lists(_OBJECT, max_size=4).map(json.dumps),  # mixed types, one type, and "[]"
    st.sampled_from(["PONG", "NO NEW ASSETS", "{not json", "[1, 2]", '{"event_type": "x"}']),
)
_ROW = st.one_of(
    _FRAME.map(lambda text: ("frame", text)),
    st.just(("tick", '{"connected":1}')),
    st.just(("open", '{"url":"ws://x"}')),
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(_ROW, min_size=1, max_size=40))
def test_generated_sessions_read_back_as_parsed(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str]]
) -> None:
    """Every event type, rejections, control texts, mixed and empty frames, non-frame rows."""
    root = tmp_path_factory.mktemp("generated")
    with SessionWriter(root, "s") as writer:
        for i, (kind, text) in enumerate(rows):
            writer.append(kind, text, 1_000 + i, 1_000 + i, i % 3)
    assert_cache_matches_frames(root / "s")


def test_a_one_type_frame_is_one_plain_list_and_a_mixed_one_is_runs() -> None:
    """One ``msgspec`` call decodes a one-type frame (format 2): its blob is a MessagePack list
    of its events, typed by ``code``. Format 1 stored runs for every frame (two calls each)."""
    book = parse_frame(json.dumps({"event_type": "book", "market": "0xm", "asset_id": "1",
                                   "timestamp": "1", "hash": "h",
                                   "bids": [{"price": "0.4", "size": "10"}], "asks": []}))  # fmt: skip
    assert [type(e) for e in book] == [BookSnapshot]
    code, blob = encode_events(book)
    assert EVENT_TYPES[code] is BookSnapshot
    assert msgspec.msgpack.Decoder(list[BookSnapshot]).decode(blob) == book
    assert decode_events(code, blob) == book

    change = parse_frame(json.dumps({"event_type": "price_change", "market": "0xm",
                                     "timestamp": "1", "price_changes": [
                                         {"asset_id": "1", "price": "0.5", "size": "3",
                                          "side": "BUY", "hash": "h"}]}))  # fmt: skip
    assert [type(e) for e in change] == [LevelChange]
    mixed: list[MarketEvent] = book + change + book + parse_frame("PONG")
    code, blob = encode_events(mixed)
    assert code == MIXED
    assert decode_events(code, blob) == mixed
    assert [type(e) for e in decode_events(code, blob)] == [type(e) for e in mixed]
    assert decode_events(*encode_events([])) == []
