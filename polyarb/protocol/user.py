"""User-channel frame → typed order and trade events. Never raises on bad input.

Shapes from docs/protocol.md §User channel and the recorded samples in
``ws_user/``: ``order`` events (PLACEMENT / UPDATE / CANCELLATION; status
LIVE, MATCHED, CANCELED or ``CANCELED_<reason>``, whose FOK-kill form leaves
``size_matched``, ``outcome`` and ``created_at`` empty) and ``trade`` events
(MATCHED → MINED → CONFIRMED, or RETRYING / FAILED; ``bucket_index`` an int
since ~2025-08, a string before). Prices and sizes become micro units with the
market parser's own field rules; anything else is a
:class:`~polyarb.events.RejectedFrame` with the reason and the raw text, so a
live session can record the frame first and interpret it the same way in
replay.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import msgspec

from polyarb.events import CONTROL_TEXTS, ControlText, RejectedFrame
from polyarb.protocol.parser import _num, _price, _Reject, _side, _str, _ts

TRADE_STATUSES = frozenset({"MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"})
FINAL_TRADE_STATUSES = frozenset({"CONFIRMED", "FAILED"})


class UserOrder(msgspec.Struct, frozen=True, gc=False):
    """One ``order`` event of our own order."""

    id: str
    kind: str
    """PLACEMENT, UPDATE or CANCELLATION (the wire's ``type``)."""
    status: str
    asset_id: str
    market: str
    side: str
    price: int
    original_size: int
    size_matched: int
    order_type: str
    outcome: str
    owner: str
    ts_ms: int
    associate_trades: tuple[str, ...] = ()


class MakerFill(msgspec.Struct, frozen=True, gc=False):
    """One maker order a trade matched (``maker_orders[]``)."""

    order_id: str
    owner: str
    asset_id: str
    price: int
    matched_amount: int
    outcome: str
    side: str = ""


class UserTrade(msgspec.Struct, frozen=True, gc=False):
    """One ``trade`` event: a fill of ours (taker or maker) at one status of its lifecycle."""

    id: str
    status: str
    taker_order_id: str
    asset_id: str
    market: str
    side: str
    price: int
    size: int
    fee_rate_bps: int
    trader_side: str
    owner: str
    match_time_s: int
    last_update_s: int
    ts_ms: int
    transaction_hash: str
    outcome: str
    bucket_index: int
    maker_orders: tuple[MakerFill, ...] = ()


UserEvent: TypeAlias = UserOrder | UserTrade | ControlText | RejectedFrame

_decode = msgspec.json.decode


def parse_user_frame(text: str) -> list[UserEvent]:
    """Parse one received user-channel text frame (an object or an array of them)."""
    if text in CONTROL_TEXTS:
        return [ControlText(text)]
    try:
        obj = _decode(text)
    except Exception as exc:  # msgspec.DecodeError and pathological input alike
        return [RejectedFrame(f"malformed JSON: {exc}", text)]
    items = obj if isinstance(obj, list) else [obj]
    out: list[UserEvent] = []
    for index, item in enumerate(items):
        try:
            out.append(_event(item))
        except _Reject as exc:
            where = f"element {index}: " if isinstance(obj, list) else ""
            out.append(RejectedFrame(f"{where}{exc}", text))
    return out


def _event(obj: Any) -> UserOrder | UserTrade:
    if not isinstance(obj, dict):
        raise _Reject(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("event_type")
    if kind == "order":
        return _order(obj)
    if kind == "trade" or (kind is None and "taker_order_id" in obj):
        # REST /data/trades rows (and sample trade_confirmed) carry no event_type.
        return _trade(obj)
    if kind is None:
        raise _Reject("missing field 'event_type'")
    raise _Reject(f"unknown event_type {kind!r}")


def _size_or_zero(obj: dict[str, Any], key: str) -> int:
    # A FOK kill sends "" for size_matched; it means nothing matched.
    return 0 if obj.get(key) in ("", None) else _num(obj, key)


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _order(obj: dict[str, Any]) -> UserOrder:
    trades = obj.get("associate_trades") or ()
    if not isinstance(trades, list | tuple) or not all(isinstance(t, str) for t in trades):
        raise _Reject("field 'associate_trades' must be a list of strings or null")
    return UserOrder(
        id=_str(obj, "id"),
        kind=_str(obj, "type"),
        status=_str(obj, "status"),
        asset_id=_str(obj, "asset_id"),
        market=_str(obj, "market"),
        side=_side(obj),
        price=_price(obj),
        original_size=_num(obj, "original_size"),
        size_matched=_size_or_zero(obj, "size_matched"),
        order_type=_text(obj, "order_type"),
        outcome=_text(obj, "outcome"),
        owner=_text(obj, "owner"),
        ts_ms=_ts(obj),
        associate_trades=tuple(trades),
    )


def _seconds(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Reject(f"field {key!r} is not epoch seconds: {value!r}")


def _bucket(obj: dict[str, Any]) -> int:
    value = obj.get("bucket_index", 0)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)  # the pre-2025-08 string form
    raise _Reject(f"field 'bucket_index' is not an integer: {value!r}")


def _maker(obj: Any) -> MakerFill:
    if not isinstance(obj, dict):
        raise _Reject("maker_orders element is not an object")
    side = obj.get("side")
    return MakerFill(
        order_id=_str(obj, "order_id"),
        owner=_text(obj, "owner"),
        asset_id=_str(obj, "asset_id"),
        price=_price(obj),
        matched_amount=_num(obj, "matched_amount"),
        outcome=_text(obj, "outcome"),
        side=_side(obj) if side is not None else "",
    )


def _trade(obj: dict[str, Any]) -> UserTrade:
    status = _str(obj, "status")
    if status not in TRADE_STATUSES:
        raise _Reject(f"unknown trade status {status!r}")
    fee = obj.get("fee_rate_bps", "0")
    if not (isinstance(fee, str) and fee.isdigit() and fee.isascii()):
        raise _Reject(f"field 'fee_rate_bps' is not an integer string: {fee!r}")
    makers = obj.get("maker_orders") or []
    if not isinstance(makers, list):
        raise _Reject("field 'maker_orders' must be a list")
    return UserTrade(
        id=_str(obj, "id"),
        status=status,
        taker_order_id=_str(obj, "taker_order_id"),
        asset_id=_str(obj, "asset_id"),
        market=_str(obj, "market"),
        side=_side(obj),
        price=_price(obj),
        size=_num(obj, "size"),
        fee_rate_bps=int(fee),
        trader_side=_text(obj, "trader_side"),
        owner=_text(obj, "owner"),
        match_time_s=_seconds(obj, "match_time"),
        last_update_s=_seconds(obj, "last_update"),
        ts_ms=_ts(obj) if "timestamp" in obj else 0,
        transaction_hash=_text(obj, "transaction_hash"),
        outcome=_text(obj, "outcome"),
        bucket_index=_bucket(obj),
        maker_orders=tuple(_maker(m) for m in makers),
    )
