"""The fast parser (typed wire structs + memo dicts) gives exactly the pre-issue-16 parser's events.

The reference is benchmarks/reference_parser.py: the generic path the parser had before the
fast path existed (still the product's fallback), called directly; every accepted frame must give equal events (same ints, same
strings) and every rejected frame the same reason.

Every test here runs twice: with book levels through the compiled scanner
(polyarb/protocol/levels_jit.py) and with the memo path alone (``POLYARB_JIT=0``, or no numba).
"""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyarb.events import MarketEvent, RejectedFrame
from polyarb.protocol import parser
from polyarb.protocol.parser import parse_frame
from polyarb.recording import SessionReader

_REF_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "reference_parser.py"


def _load_reference() -> Callable[[str], list[MarketEvent]]:
    spec = importlib.util.spec_from_file_location("reference_parser", _REF_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_frame  # type: ignore[no-any-return]


reference = _load_reference()


@pytest.fixture(autouse=True, params=["jit", "memo"])
def parse_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Both book-level paths; the compiled one must really be in use (numba is a dependency)."""
    assert parser.use_jit(request.param == "jit") is (request.param == "jit")
    yield request.param
    parser.use_jit()


def _same(text: str) -> None:
    try:
        expected = reference(text)
    except TypeError:  # the old parser crashed on an unhashable 'side'; now it is a rejection
        rejected = [e for e in parse_frame(text) if isinstance(e, RejectedFrame)]
        assert any("field 'side'" in e.reason for e in rejected), text
        return
    assert parse_frame(text) == expected, text


def test_every_real_resolvedkit_frame_parses_identically(bundled_recordings: Path) -> None:
    """38k real book frames: the fast path's integer levels equal the reference's."""
    reader = SessionReader(bundled_recordings / "resolvedkit-btc15m")
    n = 0
    for frame in reader.frames():
        if frame.kind == "frame":
            _same(frame.payload)
            n += 1
    assert n > 30_000


def _compact(obj: object) -> str:
    """JSON as the market channel sends it: no spaces (json.dumps' default has them)."""
    return json.dumps(obj, separators=(",", ":"))


def _ws_samples(shared_data: Path) -> list[str]:
    frames = []
    for path in sorted((shared_data / "ws_market").glob("*.json")):
        obj = json.loads(path.read_text())
        for dumps in (json.dumps, _compact):  # the compact form is what the scanner takes
            frames.append(dumps(obj))
            frames.extend(dumps(x) for x in (obj if isinstance(obj, list) else [obj]))
    return frames


def test_every_sample_message_shape_parses_identically(shared_data: Path) -> None:
    for text in _ws_samples(shared_data):
        _same(text)


_BOOK: dict[str, Any] = {
    "event_type": "book",
    "market": "0xm",
    "asset_id": "1",
    "timestamp": "1790658661234",
    "hash": "h",
    "bids": [{"price": "0.4", "size": "10"}],
    "asks": [{"price": "0.6", "size": "5"}],
}
_G3: dict[str, Any] = {
    "event_type": "price_change",
    "market": "0xm",
    "timestamp": "1790658661234",
    "price_changes": [
        {"asset_id": "1", "price": "0.5", "size": "3", "side": "BUY", "hash": "h",
         "best_bid": "0.5", "best_ask": "0.6"},
    ],
}  # fmt: skip
_TRADE: dict[str, Any] = {
    "event_type": "last_trade_price", "market": "0xm", "asset_id": "1",
    "timestamp": "1790658661234", "price": "0.5", "size": "3", "side": "SELL",
    "fee_rate_bps": "0", "transaction_hash": "0xt",
}  # fmt: skip
_TICK: dict[str, Any] = {
    "event_type": "tick_size_change", "market": "0xm", "asset_id": "1",
    "timestamp": "1790658661234", "old_tick_size": "0.01", "new_tick_size": "0.001",
}  # fmt: skip
_TOP: dict[str, Any] = {
    "event_type": "best_bid_ask", "market": "0xm", "asset_id": "1",
    "timestamp": "1790658661234", "best_bid": "0.4", "best_ask": "0.6", "spread": "0.2",
}  # fmt: skip
_G2: dict[str, Any] = {
    "event_type": "price_change", "market": "0xm", "asset_id": "1", "timestamp": "1",
    "hash": "h", "changes": [{"price": "0.5", "size": "1", "side": "BUY"}],
}  # fmt: skip
_RESOLVED: dict[str, Any] = {
    "event_type": "market_resolved", "market": "0xm", "timestamp": "1",
    "assets_ids": ["1", "2"], "winning_asset_id": "1", "winning_outcome": "Yes",
}  # fmt: skip
_NEW: dict[str, Any] = {
    "event_type": "new_market", "market": "0xm", "timestamp": "1", "question": "q",
    "slug": "s", "assets_ids": '["1","2"]', "outcomes": ["Yes", "No"],
    "order_price_min_tick_size": 0.01,
}  # fmt: skip
_SHAPES = [_BOOK, _G3, _TRADE, _TICK, _TOP, _G2, _RESOLVED, _NEW]

# decimal-ish strings that sit on every branch of the number checks
_NUMBERS = ["0", "1", "0.5", ".5", "5.", "0.000001", "0.0000001", "0.5000000", "1.5",
            "-0.5", "", ".", "abc", "1e3", "0.²", "0.٣", " 0.5", "1_0", "999999999999",
            "9999999999999", "0.990", "12.34", "+1", "00.5", "0.50000001", "1.2.3",
            "0000000000001", "0.5 ", "\uff15", "0.1234560", "1234567890120.5"]  # fmt: skip
_ODD = [None, 0, 1, -1, 0.5, True, [], {}, "BUY", "SELL", "UP", "17", "-3", "x"]
_value = st.sampled_from(_NUMBERS) | st.sampled_from(_ODD) | st.text(max_size=6)


def _mutated(shape: dict[str, Any], draw: Callable[..., Any]) -> dict[str, Any]:
    obj = json.loads(json.dumps(shape))
    targets: list[dict[str, Any]] = [obj]
    for key in ("bids", "asks", "price_changes", "changes"):
        if isinstance(obj.get(key), list):
            targets.extend(obj[key])
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(targets))
        if not target:
            continue
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()) and key != "event_type":
            del target[key]
        else:
            target[key] = draw(_value)
    return obj


@settings(max_examples=3_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_frames_of_every_shape_parse_identically(data: st.DataObject) -> None:
    """Random field values (valid, invalid, wrong type, missing) in every wire shape."""
    draw = data.draw
    objs = [_mutated(draw(st.sampled_from(_SHAPES)), draw) for _ in range(draw(st.integers(1, 3)))]
    dumps = _compact if draw(st.booleans()) else json.dumps
    text = dumps(objs if len(objs) > 1 or draw(st.booleans()) else objs[0])
    _same(text)


@settings(max_examples=2_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_mutated_real_frames_parse_identically(shared_data: Path, data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(_ws_samples(shared_data)))
    rnd = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    chars = list(base)
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randrange(len(chars))
        chars[i] = rnd.choice('"0-.9}],x1 ')
    _same("".join(chars))


def _with(shape: dict[str, Any], **changes: object) -> str:
    obj = {**shape, **changes}
    return _compact({k: v for k, v in obj.items() if v is not ...})


def _level(**changes: object) -> list[dict[str, object]]:
    return [{k: v for k, v in {"price": "0.4", "size": "1", **changes}.items() if v is not ...}]


def _change(**changes: object) -> str:
    entry = {**_G3["price_changes"][0], **changes}
    return _with(_G3, price_changes=[{k: v for k, v in entry.items() if v is not ...}])


# one frame per rejection reason the parser can give
REJECTIONS = [
    ("{not json", "malformed JSON"),
    ("[1, 2", "malformed JSON"),
    ('"text"', "expected a JSON object"),
    ("[7]", "element 0: expected a JSON object"),
    ('{"market":"m"}', "missing field 'event_type'"),
    ('{"event_type":"nope"}', "unknown event_type"),
    ('{"event_type":5}', "unknown event_type 5"),
    (_with(_BOOK, asset_id=...), "missing field 'asset_id'"),
    (_with(_BOOK, asset_id=5), "field 'asset_id' must be a string"),
    (_with(_BOOK, timestamp=...), "missing field 'timestamp'"),
    (_with(_BOOK, timestamp="x1"), "field 'timestamp' is not epoch milliseconds"),
    (_with(_BOOK, timestamp=-1), "field 'timestamp' is not epoch milliseconds"),
    (_with(_BOOK, bids=...), "missing field 'bids'"),
    (_with(_BOOK, bids="x"), "field 'bids' must be a list"),
    (_with(_BOOK, bids=[3]), "bids entry must be an object"),
    (_with(_BOOK, bids=_level(price=...)), "missing field 'price'"),
    (_with(_BOOK, bids=_level(price=0.4)), "field 'price' must be a decimal string"),
    (_with(_BOOK, bids=_level(size="-1")), "field 'size' is negative"),
    (_with(_BOOK, bids=_level(size="1.0000001")), "more than 6 decimals"),
    (_with(_BOOK, bids=_level(size="1e3")), "not a decimal number"),
    (_with(_BOOK, bids=_level(size="0.²")), "not a decimal number"),
    (_with(_BOOK, bids=_level(size=".")), "not a number"),
    (_with(_BOOK, bids=_level(size="1234567890123")), "number too large"),
    (_with(_BOOK, asks=_level(price="1")), "field 'price' outside (0, 1)"),
    (_with(_BOOK, tick_size="2"), "field 'tick_size' outside (0, 1)"),
    (_with(_BOOK, last_trade_price=0.5), "field 'last_trade_price' must be a string"),
    (_with(_BOOK, hash=None), "field 'hash' must be a string"),
    (_with(_G3, price_changes="x"), "field 'price_changes' must be a list"),
    (_with(_G3, price_changes=[1]), "price_changes entry must be an object"),
    (_change(side="UP"), "field 'side' must be BUY or SELL"),
    (_change(hash=3), "field 'hash' must be a string"),
    (_change(best_bid="1.5"), "field 'best_bid' above 1"),
    (_with(_G2, changes="x"), "field 'changes' must be a list"),
    (_with(_G2, changes=[1]), "changes entry must be an object"),
    (_with(_G2, changes=...), "price_change without"),
    (_with(_TRADE, fee_rate_bps="1.5"), "field 'fee_rate_bps' is not a whole number"),
    (_with(_TICK, new_tick_size="0"), "field 'new_tick_size' outside (0, 1)"),
    (_with(_TOP, best_ask="2"), "field 'best_ask' above 1"),
    (_with(_NEW, market=...), "missing field 'market'"),
    (_with(_NEW, outcomes="[1"), "field 'outcomes' is not a list"),
    (_with(_NEW, outcomes=[1]), "field 'outcomes' must be a list of strings"),
    (_with(_RESOLVED, winning_asset_id=...), "missing field 'winning_asset_id'"),
]


@pytest.mark.parametrize(("text", "reason"), REJECTIONS)
def test_every_rejection_reason_is_the_reference_one(text: str, reason: str) -> None:
    events = parse_frame(text)
    assert events == reference(text)
    rejected = [e for e in events if isinstance(e, RejectedFrame)]
    assert rejected and reason in rejected[0].reason, events


def test_unhashable_side_is_rejected_not_raised() -> None:
    """``"side": []`` made the old parser raise TypeError (``[] in frozenset``)."""
    (event,) = parse_frame(_with(_TRADE, side=[]))
    assert isinstance(event, RejectedFrame) and "field 'side' must be BUY or SELL" in event.reason


def test_non_ascii_digits_are_rejected_not_raised() -> None:
    """``"0.²"`` passed str.isdigit and then crashed int(); the old parser raised ValueError."""
    (event,) = parse_frame(_with(_BOOK, bids=_level(size="0.²")))
    assert isinstance(event, RejectedFrame)
    (event,) = parse_frame(_with(_BOOK, bids=_level(size="0.٣")))
    assert isinstance(event, RejectedFrame)
