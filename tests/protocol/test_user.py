"""User-channel frames → typed events, on the recorded samples in ../shared/data/polymarket/ws_user/."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from polyarb.events import ControlText, RejectedFrame
from polyarb.protocol.user import UserOrder, UserTrade, parse_user_frame


def _text(shared_data: Path, name: str) -> str:
    return (shared_data / "ws_user" / name).read_text()


def test_every_sample_parses(shared_data: Path) -> None:
    """All five recorded user frames become typed events, none rejected."""
    for path in sorted((shared_data / "ws_user").glob("*.json")):
        events = parse_user_frame(path.read_text())
        assert len(events) == 1 and isinstance(events[0], UserOrder | UserTrade), path.name


def test_taker_trade_fields_in_micro_units(shared_data: Path) -> None:
    """The cross-token sample: price, size and each maker's amount exact, statuses kept."""
    [trade] = parse_user_frame(_text(shared_data, "trade_taker_cross_token_2024-09-09.json"))
    assert isinstance(trade, UserTrade)
    assert (trade.status, trade.side, trade.price, trade.size) == (
        "MINED",
        "BUY",
        518_000,
        1_096_870_000,
    )
    assert trade.trader_side == "MAKER" and trade.bucket_index == 0
    assert [m.matched_amount for m in trade.maker_orders][:2] == [10_000_000, 247_680_000]
    assert trade.maker_orders[0].price == 482_000 and trade.maker_orders[0].outcome == "No"
    assert trade.ts_ms == 1_725_868_885_871 and trade.match_time_s == 1_725_868_859


def test_order_events(shared_data: Path) -> None:
    """PLACEMENT/LIVE and CANCELLATION/CANCELED with sizes in micro units."""
    [placed] = parse_user_frame(_text(shared_data, "order_placement_2024-09-09.json"))
    [gone] = parse_user_frame(_text(shared_data, "order_cancellation_2024-09-09.json"))
    assert isinstance(placed, UserOrder) and isinstance(gone, UserOrder)
    assert (placed.kind, placed.status, placed.price, placed.original_size) == (
        "PLACEMENT", "LIVE", 513_000, 5_000_000,
    )  # fmt: skip
    assert (gone.kind, gone.status, gone.size_matched) == ("CANCELLATION", "CANCELED", 5_000_000)


def test_fok_kill_with_empty_fields_and_string_bucket_index(shared_data: Path) -> None:
    """NT #3987's FOK kill (empty size_matched/outcome/created_at) and the old string bucket_index."""
    order = json.loads(_text(shared_data, "order_placement_2024-09-09.json"))
    order.update(status="CANCELED_FOK", size_matched="", outcome="", created_at="", type="UPDATE")
    [event] = parse_user_frame(json.dumps(order))
    assert isinstance(event, UserOrder) and event.size_matched == 0 and event.outcome == ""
    trade = json.loads(_text(shared_data, "trade_taker_matched_2024-09-10.json"))
    trade["bucket_index"] = "3"
    [parsed] = parse_user_frame(json.dumps(trade))
    assert isinstance(parsed, UserTrade) and parsed.bucket_index == 3


def test_bad_frames_are_rejected_with_a_reason() -> None:
    """Unknown types, bad statuses, bad prices and garbage become RejectedFrame, PONG a control."""
    assert parse_user_frame("PONG") == [ControlText("PONG")]
    cases = {
        "not json": "malformed JSON",
        '{"event_type":"book"}': "unknown event_type",
        '{"event_type":"trade","status":"WEIRD"}': "unknown trade status",
        "[1]": "element 0",
    }
    for text, reason in cases.items():
        [event] = parse_user_frame(text)
        assert isinstance(event, RejectedFrame) and reason in event.reason, text


@given(st.text(max_size=200))
def test_never_raises(text: str) -> None:
    """Property: any text yields events or RejectedFrames, never an exception."""
    assert isinstance(parse_user_frame(text), list)
