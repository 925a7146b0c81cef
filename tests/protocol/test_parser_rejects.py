"""Bad input never raises: it becomes a RejectedFrame with a reason and the raw text."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyarb.events import RejectedFrame
from polyarb.protocol.parser import parse_frame

BOOK = {
    "event_type": "book",
    "market": "0xm",
    "asset_id": "1",
    "timestamp": "1790658661234",
    "hash": "h",
    "bids": [{"price": "0.4", "size": "10"}],
    "asks": [{"price": "0.6", "size": "5"}],
}


def _with(**changes: object) -> str:
    obj = {**BOOK, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "malformed JSON"),
        ('{"event_type":"nope"}', "unknown event_type 'nope'"),
        ('{"market":"m"}', "missing field 'event_type'"),
        (_with(asset_id=...), "missing field 'asset_id'"),
        (_with(timestamp="yesterday"), "field 'timestamp' is not epoch milliseconds"),
        (_with(bids=[{"price": "abc", "size": "1"}]), "field 'price': not a decimal number"),
        (_with(bids=[{"price": "0.4", "size": "-3"}]), "field 'size' is negative"),
        (_with(asks=[{"price": "1.5", "size": "1"}]), "field 'price' outside (0, 1)"),
        (_with(asks=[{"price": "0", "size": "1"}]), "field 'price' outside (0, 1)"),
        (_with(bids=[{"price": 0.4, "size": "1"}]), "field 'price' must be a decimal string"),
        (_with(bids="none"), "field 'bids' must be a list"),
        ('"just a string"', "expected a JSON object"),
        ("PING", "malformed JSON"),
        (
            '{"event_type":"price_change","market":"m","asset_id":"a","timestamp":"1"}',
            "price_change without",
        ),
        (
            '{"event_type":"price_change","market":"m","timestamp":"1","asset_id":"a","price":"0.5","side":"UP","size":"1"}',
            "field 'side' must be BUY or SELL",
        ),
    ],
)
def test_bad_input_becomes_rejected_frame(text: str, reason: str) -> None:
    events = parse_frame(text)
    assert len(events) == 1
    (event,) = events
    assert isinstance(event, RejectedFrame)
    assert reason in event.reason
    assert event.raw == text


def test_array_keeps_good_elements_and_rejects_bad_ones() -> None:
    text = json.dumps([BOOK, {"event_type": "mystery"}, 7])
    events = parse_frame(text)
    assert [type(e).__name__ for e in events] == ["BookSnapshot", "RejectedFrame", "RejectedFrame"]
    assert "element 1: unknown event_type" in events[1].reason  # type: ignore[union-attr]
    assert "element 2: expected a JSON object" in events[2].reason  # type: ignore[union-attr]


def _real_frames(shared_data: Path) -> list[str]:
    frames = []
    for path in sorted((shared_data / "ws_market").glob("*.json")):
        obj = json.loads(path.read_text())
        frames.extend(json.dumps(x) for x in (obj if isinstance(obj, list) else [obj]))
    return frames


def _mutate(text: str, rnd: random.Random) -> str:
    chars = list(text)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(4)
        i = rnd.randrange(len(chars) or 1)
        if op == 0 and chars:
            del chars[i]
        elif op == 1:
            chars.insert(i, rnd.choice('{}[]":,-.0123456789aeEx \\'))
        elif op == 2 and chars:
            chars[i] = rnd.choice('"0-.9}],x')
        else:
            cut = rnd.randrange(len(chars) + 1)
            chars = chars[:cut]
    return "".join(chars)


def _check(text: str) -> None:
    events = parse_frame(text)
    assert isinstance(events, list)
    for event in events:
        if isinstance(event, RejectedFrame):
            assert event.reason and event.raw == text


@settings(max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check(data.decode("utf-8", errors="replace"))


@settings(max_examples=6_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_mutated_real_frames_never_raise(shared_data: Path, data: st.DataObject) -> None:
    frames = _real_frames(shared_data)
    base = data.draw(st.sampled_from(frames))
    seed = data.draw(st.integers(0, 2**32 - 1))
    _check(_mutate(base, random.Random(seed)))


@settings(max_examples=1_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=8),
        lambda kids: (
            st.lists(kids, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "event_type",
                        "price",
                        "size",
                        "bids",
                        "asks",
                        "asset_id",
                        "market",
                        "timestamp",
                        "side",
                        "price_changes",
                        "changes",
                        "hash",
                    ]
                ),
                kids,
                max_size=6,
            )
        ),
        max_leaves=12,
    )
)
def test_random_json_structures_never_raise(obj: object) -> None:
    if isinstance(obj, dict):
        obj.setdefault("event_type", "book")
    _check(json.dumps(obj))
