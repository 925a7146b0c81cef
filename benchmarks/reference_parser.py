"""The market-channel parser as it was before issue 16: one generic decode, five calls per number.

Kept here, outside the product, as the reference the fast parser in
:mod:`polyarb.protocol.parser` must agree with exactly (tests/protocol/test_parser_fast.py)
and as the baseline ``bench_replay.py`` measures the gain against in the same run.
Do not optimise this file.
"""

from __future__ import annotations

from typing import Any

import msgspec

from polyarb.errors import PolyarbError
from polyarb.events import (
    BUY,
    CONTROL_TEXTS,
    SELL,
    BestBidAsk,
    BookSnapshot,
    ControlText,
    LastTrade,
    Level,
    LevelChange,
    MarketEvent,
    MarketResolved,
    NewMarket,
    RejectedFrame,
    TickSizeChange,
)
from polyarb.units import ONE, FixedPointError, parse_fixed

_decode = msgspec.json.decode
_SIDES = frozenset({BUY, SELL})


class _Reject(PolyarbError):
    """Raised inside the parser only; becomes a RejectedFrame at the boundary."""


def parse_frame(text: str) -> list[MarketEvent]:
    """Parse one received text frame into events (possibly several, possibly none)."""
    if text in CONTROL_TEXTS:
        return [ControlText(text)]
    try:
        obj = _decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return [RejectedFrame(f"malformed JSON: {exc}", text)]
    except Exception as exc:  # msgspec can raise on pathological input; never escape
        return [RejectedFrame(f"undecodable frame: {type(exc).__name__}: {exc}", text)]
    if isinstance(obj, list):
        out: list[MarketEvent] = []
        for index, item in enumerate(obj):
            try:
                _parse_event(item, out)
            except _Reject as exc:
                out.append(RejectedFrame(f"element {index}: {exc}", text))
        return out
    out = []
    try:
        _parse_event(obj, out)
    except _Reject as exc:
        return [RejectedFrame(str(exc), text)]
    return out


def _parse_event(obj: Any, out: list[MarketEvent]) -> None:
    if not isinstance(obj, dict):
        raise _Reject(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("event_type")
    handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        if kind is None:
            raise _Reject("missing field 'event_type'")
        raise _Reject(f"unknown event_type {kind!r}")
    handler(obj, out)


# -- field helpers ---------------------------------------------------------------


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        if value is None:
            raise _Reject(f"missing field {key!r}")
        raise _Reject(f"field {key!r} must be a string, got {type(value).__name__}")
    return value


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _Reject(f"field {key!r} must be a string, got {type(value).__name__}")


def _ts(obj: dict[str, Any]) -> int:
    value = obj.get("timestamp")
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if value is None:
        raise _Reject("missing field 'timestamp'")
    raise _Reject(f"field 'timestamp' is not epoch milliseconds: {value!r}")


def _num(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, str):
        if value is None:
            raise _Reject(f"missing field {key!r}")
        raise _Reject(f"field {key!r} must be a decimal string, got {type(value).__name__}")
    if value.startswith("-"):
        raise _Reject(f"field {key!r} is negative: {value!r}")
    try:
        return parse_fixed(value)
    except FixedPointError as exc:
        raise _Reject(f"field {key!r}: {exc}") from None


def _price(obj: dict[str, Any], key: str = "price") -> int:
    value = _num(obj, key)
    if not 0 < value < ONE:
        raise _Reject(f"field {key!r} outside (0, 1): {obj.get(key)!r}")
    return value


def _side(obj: dict[str, Any]) -> str:
    value = obj.get("side")
    if value not in _SIDES:
        raise _Reject(f"field 'side' must be BUY or SELL, got {value!r}")
    return value


def _top(obj: dict[str, Any], key: str, *, ask: bool) -> int | None:
    """A best bid/ask where ``"0"`` (and ``"1"`` for asks) mean an empty side."""
    if obj.get(key) is None:
        return None
    value = _num(obj, key)
    if value == 0 or (ask and value == ONE):
        return None
    if value > ONE:
        raise _Reject(f"field {key!r} above 1: {obj.get(key)!r}")
    return value


def _levels(obj: dict[str, Any], key: str) -> tuple[Level, ...]:
    raw = obj.get(key)
    if raw is None:
        raise _Reject(f"missing field {key!r}")
    if not isinstance(raw, list):
        raise _Reject(f"field {key!r} must be a list")
    levels = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise _Reject(f"{key} entry must be an object with price and size")
        levels.append((_price(entry), _num(entry, "size")))
    return tuple(levels)


def _tick(obj: dict[str, Any], key: str) -> int:
    return _price(obj, key)


def _str_list(obj: dict[str, Any], *keys: str) -> tuple[str, ...]:
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, str):  # Gamma-style JSON-encoded string lists
            try:
                value = _decode(value)
            except msgspec.DecodeError:
                raise _Reject(f"field {key!r} is not a list") from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Reject(f"field {key!r} must be a list of strings")
        return tuple(value)
    return ()


# -- handlers ------------------------------------------------------------------------


def _book(obj: dict[str, Any], out: list[MarketEvent]) -> None:
    tick = obj.get("tick_size")
    ltp = obj.get("last_trade_price")
    if ltp is not None and not isinstance(ltp, str):
        raise _Reject("field 'last_trade_price' must be a string")
    hash_ = obj.get("hash", "")
    if not isinstance(hash_, str):
        raise _Reject("field 'hash' must be a string")
    out.append(
        BookSnapshot(
            _str(obj, "asset_id"),
            _str(obj, "market"),
            _ts(obj),
            _levels(obj, "bids"),
            _levels(obj, "asks"),
            hash_,
            None if tick is None else _tick(obj, "tick_size"),
            ltp,
        )
    )


def _price_change(obj: dict[str, Any], out: list[MarketEvent]) -> None:
    market = _str(obj, "market")
    ts = _ts(obj)
    entries = obj.get("price_changes")
    if entries is not None:  # G3 (2025-09-15 on): per-entry asset, hash, best bid/ask
        if not isinstance(entries, list):
            raise _Reject("field 'price_changes' must be a list")
        for e in entries:
            if not isinstance(e, dict):
                raise _Reject("price_changes entry must be an object")
            out.append(
                LevelChange(
                    _str(e, "asset_id"),
                    market,
                    ts,
                    _side(e),
                    _price(e),
                    _num(e, "size"),
                    _opt_str(e, "hash"),
                    _top(e, "best_bid", ask=False),
                    _top(e, "best_ask", ask=True),
                )
            )
        return
    asset = _str(obj, "asset_id")
    hash_ = _opt_str(obj, "hash")
    changes = obj.get("changes")
    if changes is not None:  # G2 (Oct 2024 – Sep 2025)
        if not isinstance(changes, list):
            raise _Reject("field 'changes' must be a list")
        for c in changes:
            if not isinstance(c, dict):
                raise _Reject("changes entry must be an object")
            out.append(LevelChange(asset, market, ts, _side(c), _price(c), _num(c, "size"), hash_))
        return
    if "price" in obj:  # G1 (until Oct 2024): one flat level
        out.append(
            LevelChange(asset, market, ts, _side(obj), _price(obj), _num(obj, "size"), hash_)
        )
        return
    raise _Reject("price_change without price_changes, changes or price")


def _last_trade(obj: dict[str, Any], out: list[MarketEvent]) -> None:
    fee = obj.get("fee_rate_bps", "0")
    if isinstance(fee, int) and not isinstance(fee, bool):
        fee_bps = fee
    elif isinstance(fee, str) and fee.isdigit() and fee.isascii():
        fee_bps = int(fee)
    else:
        raise _Reject(f"field 'fee_rate_bps' is not a whole number: {fee!r}")
    out.append(
        LastTrade(
            _str(obj, "asset_id"),
            _str(obj, "market"),
            _ts(obj),
            _price(obj),
            _num(obj, "size"),
            _side(obj),
            fee_bps,
            _str(obj, "price"),
            _opt_str(obj, "transaction_hash"),
        )
    )


def _tick_size_change(obj: dict[str, Any], out: list[MarketEvent]) -> None:
    out.append(
        TickSizeChange(
            _str(obj, "asset_id"),
            _str(obj, "market"),
            _ts(obj),
            _tick(obj, "old_tick_size"),
            _tick(obj, "new_tick_size"),
        )
    )


def _best_bid_ask(obj: dict[str, Any], out: list[MarketEvent]) -> None:
    out.append(
        BestBidAsk(
            _str(obj, "asset_id"),
            _str(obj, "market"),
            _ts(obj),
            _top(obj, "best_bid", ask=False),
            _top(obj, "best_ask", ask=True),
            None if obj.get("spread") is None else _num(obj, "spread"),
        )
    )


def _new_market(obj: dict[str, Any], out: list[MarketEvent]) -> None:
    market = obj.get("market") or obj.get("condition_id")
    if not isinstance(market, str):
        raise _Reject("missing field 'market'")
    tick_raw = obj.get("order_price_min_tick_size")
    tick = None
    if isinstance(tick_raw, (int, float)) and not isinstance(tick_raw, bool):
        tick_raw = repr(tick_raw)
    if isinstance(tick_raw, str):
        tick = _tick({"t": tick_raw}, "t")
    out.append(
        NewMarket(
            market,
            _ts(obj),
            _text_or_empty(obj, "question"),
            _text_or_empty(obj, "slug"),
            _str_list(obj, "assets_ids", "clob_token_ids"),
            _str_list(obj, "outcomes"),
            tick,
        )
    )


def _text_or_empty(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _market_resolved(obj: dict[str, Any], out: list[MarketEvent]) -> None:
    out.append(
        MarketResolved(
            _str(obj, "market"),
            _ts(obj),
            _str_list(obj, "assets_ids"),
            _str(obj, "winning_asset_id"),
            _opt_str(obj, "winning_outcome") or "",
        )
    )


_HANDLERS = {
    "book": _book,
    "price_change": _price_change,
    "last_trade_price": _last_trade,
    "tick_size_change": _tick_size_change,
    "best_bid_ask": _best_bid_ask,
    "new_market": _new_market,
    "market_resolved": _market_resolved,
}
