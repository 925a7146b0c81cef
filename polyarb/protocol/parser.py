"""Market-channel frame → typed events. Never raises on bad input.

Every message shape in docs/protocol.md §Message shapes parses: ``book`` (initial
dump arrays and single objects), the three ``price_change`` generations,
``last_trade_price``, ``tick_size_change``, ``best_bid_ask``, ``new_market``,
``market_resolved`` and the plain-text control frames. Anything else becomes
a :class:`~polyarb.events.RejectedFrame` carrying the reason and raw text.

Two paths give one answer. The fast path decodes the frequent shapes straight
into typed wire structs (msgspec checks field types in C) and turns price and
size strings into micro units through memo dicts, so a level costs two dict
hits instead of five Python calls. Anything the fast path does not accept
exactly — an unknown shape, a wrong type, a string not yet seen that turns out
invalid — drops the whole frame to the generic path below, which owns every
rejection reason. tests/protocol/test_parser_fast.py checks both against the
pre-issue-16 parser kept in benchmarks/reference_parser.py.

Book frames take one more path first: their level arrays stay raw JSON bytes and a
compiled scanner (:mod:`polyarb.protocol.levels_jit`, numba) turns both sides into ints in
one call. It only accepts the compact wire grammar; the levels of a book it declines go
through the memo path (and the frame to the generic one if that declines too), so the
answer is the same either way. Loading numba costs ~0.35 CPU-s and the scanner saves ~5 µs a
book frame, so by default (``auto``) a process parses with the memo path until it has parsed
:data:`JIT_AFTER_BOOKS` book frames, then loads the scanner: a short replay, ``serve`` or a
test's subprocess never pays for numba, a month of recordings gets the scanner.
``POLYARB_JIT=1`` loads it at the first frame, ``POLYARB_JIT=0`` (or numba missing) keeps the
memo path only; :func:`use_jit` switches at run time and :func:`preload_jit` settles it up
front (shadow and live call it before connecting, so a session never stalls to load numba).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from operator import attrgetter
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
_CONTROL_MAX = max(map(len, CONTROL_TEXTS))
_MEMO_MAX = 1 << 17
"""Per memo; a month of one market's books stays far below, and a full memo only slows misses."""


class _Reject(PolyarbError):
    """Raised inside the parser only; becomes a RejectedFrame at the boundary."""


class _Slow(PolyarbError):
    """The fast path declines this frame; the generic path decides (and names any rejection)."""


# -- fast path -------------------------------------------------------------------------


class _PriceMemo(dict[str, int]):
    """Price string → micro units, for prices strictly inside (0, 1) only."""

    def __missing__(self, text: str) -> int:
        try:
            value = parse_fixed(text)
        except FixedPointError:
            raise _Slow from None
        if not 0 < value < ONE:
            raise _Slow
        if len(self) < _MEMO_MAX:
            self[text] = value
        return value


class _AmountMemo(dict[str, int]):
    """Non-negative decimal string (size, best bid/ask, spread) → micro units."""

    def __missing__(self, text: str) -> int:
        try:
            value = parse_fixed(text)
        except FixedPointError:
            raise _Slow from None
        if len(self) < _MEMO_MAX:
            self[text] = value
        return value


_PRICES = _PriceMemo()
_AMOUNTS = _AmountMemo()
_price_of = _PRICES.__getitem__
_amount_of = _AMOUNTS.__getitem__


class _WireLevel(msgspec.Struct, gc=False):
    price: str
    size: str


class _WireBook(msgspec.Struct, tag_field="event_type", tag="book", gc=False):
    asset_id: str
    market: str
    timestamp: str | int
    bids: list[_WireLevel]
    asks: list[_WireLevel]
    hash: str = ""
    tick_size: str | None = None
    last_trade_price: str | None = None


class _WireChange(msgspec.Struct, gc=False):
    asset_id: str
    side: str
    price: str
    size: str
    hash: str | None = None
    best_bid: str | None = None
    best_ask: str | None = None


class _WirePriceChange(msgspec.Struct, tag_field="event_type", tag="price_change", gc=False):
    """Only the G3 shape (``price_changes``); G1/G2 take the generic path."""

    market: str
    timestamp: str | int
    price_changes: list[_WireChange]


class _WireTrade(msgspec.Struct, tag_field="event_type", tag="last_trade_price", gc=False):
    asset_id: str
    market: str
    timestamp: str | int
    price: str
    size: str
    side: str
    fee_rate_bps: str | int = "0"
    transaction_hash: str | None = None


class _WireTickChange(msgspec.Struct, tag_field="event_type", tag="tick_size_change", gc=False):
    asset_id: str
    market: str
    timestamp: str | int
    old_tick_size: str
    new_tick_size: str


class _WireTop(msgspec.Struct, tag_field="event_type", tag="best_bid_ask", gc=False):
    asset_id: str
    market: str
    timestamp: str | int
    best_bid: str | None = None
    best_ask: str | None = None
    spread: str | None = None


_Wire = _WireBook | _WirePriceChange | _WireTrade | _WireTickChange | _WireTop
_wire_decode = msgspec.json.Decoder(_Wire | list[_Wire]).decode
_price_attr = attrgetter("price")
_size_attr = attrgetter("size")


def _fast_ts(value: str | int) -> int:
    if type(value) is str:
        if value.isdigit() and value.isascii():
            return int(value)
        raise _Slow
    if value < 0:  # type: ignore[operator]
        raise _Slow
    return value  # type: ignore[return-value]


def _fast_levels(wire: list[_WireLevel]) -> tuple[Level, ...]:
    # Every step is a C iterator (no Python frame per level): a level costs two attribute
    # reads, two memo hits and its tuple.
    prices = map(_price_of, map(_price_attr, wire))
    return tuple(zip(prices, map(_amount_of, map(_size_attr, wire)), strict=True))


def _fast_top(text: str | None, *, ask: bool) -> int | None:
    if text is None:
        return None
    value = _amount_of(text)
    if value == 0 or (ask and value == ONE):
        return None
    if value > ONE:
        raise _Slow
    return value


def _fast_side(side: str) -> str:
    if side not in _SIDES:
        raise _Slow
    return side


def _snapshot(
    w: _WireBook | _WireBookRaw, bids: tuple[Level, ...], asks: tuple[Level, ...]
) -> BookSnapshot:
    """A book frame's event, its levels converted by whichever path took them."""
    tick = w.tick_size
    return BookSnapshot(
        w.asset_id,
        w.market,
        _fast_ts(w.timestamp),
        bids,
        asks,
        w.hash,
        None if tick is None else _PRICES[tick],
        w.last_trade_price,
    )


def _fast_book(w: _WireBook, out: list[MarketEvent]) -> None:
    out.append(_snapshot(w, _fast_levels(w.bids), _fast_levels(w.asks)))


def _fast_price_change(w: _WirePriceChange, out: list[MarketEvent]) -> None:
    market = w.market
    ts = _fast_ts(w.timestamp)
    for e in w.price_changes:
        out.append(
            LevelChange(
                e.asset_id,
                market,
                ts,
                _fast_side(e.side),
                _PRICES[e.price],
                _AMOUNTS[e.size],
                e.hash,
                _fast_top(e.best_bid, ask=False),
                _fast_top(e.best_ask, ask=True),
            )
        )


def _fast_trade(w: _WireTrade, out: list[MarketEvent]) -> None:
    fee = w.fee_rate_bps
    if type(fee) is str:
        if not (fee.isdigit() and fee.isascii()):
            raise _Slow
        fee = int(fee)
    out.append(
        LastTrade(
            w.asset_id,
            w.market,
            _fast_ts(w.timestamp),
            _PRICES[w.price],
            _AMOUNTS[w.size],
            _fast_side(w.side),
            fee,  # type: ignore[arg-type]
            w.price,
            w.transaction_hash,
        )
    )


def _fast_tick_change(w: _WireTickChange, out: list[MarketEvent]) -> None:
    out.append(
        TickSizeChange(
            w.asset_id,
            w.market,
            _fast_ts(w.timestamp),
            _PRICES[w.old_tick_size],
            _PRICES[w.new_tick_size],
        )
    )


def _fast_top_of_book(w: _WireTop, out: list[MarketEvent]) -> None:
    out.append(
        BestBidAsk(
            w.asset_id,
            w.market,
            _fast_ts(w.timestamp),
            _fast_top(w.best_bid, ask=False),
            _fast_top(w.best_ask, ask=True),
            None if w.spread is None else _AMOUNTS[w.spread],
        )
    )


_FAST: dict[type, Any] = {
    _WireBook: _fast_book,
    _WirePriceChange: _fast_price_change,
    _WireTrade: _fast_trade,
    _WireTickChange: _fast_tick_change,
    _WireTop: _fast_top_of_book,
}


class _WireBookRaw(msgspec.Struct, tag_field="event_type", tag="book", gc=False):
    """A book with its level arrays left as raw JSON for the compiled scanner."""

    asset_id: str
    market: str
    timestamp: str | int
    bids: msgspec.Raw
    asks: msgspec.Raw
    hash: str = ""
    tick_size: str | None = None
    last_trade_price: str | None = None


_RawWire = _WireBookRaw | _WirePriceChange | _WireTrade | _WireTickChange | _WireTop
_raw_wire_decode = msgspec.json.Decoder(_RawWire | list[_RawWire]).decode
_raw_book_decode = msgspec.json.Decoder(_WireBookRaw).decode


def _raw_decode(text: str) -> Any:
    # A tagged union whose tag comes last costs msgspec a second pass over the frame; a
    # lone book (the frequent frame) decodes in half the time with its own decoder.
    if text.endswith('"book"}') or '"event_type":"book"' in text:
        try:
            return _raw_book_decode(text)
        except msgspec.ValidationError:
            pass
    return _raw_wire_decode(text)


_levels_decode = msgspec.json.Decoder(list[_WireLevel]).decode
_BookSides = Callable[[bytes, bytes], tuple[tuple[Level, ...], tuple[Level, ...]] | None]
_book_sides: _BookSides | None = None


def _jit_book(w: _WireBookRaw, out: list[MarketEvent]) -> None:
    sides = _book_sides(w.bids, w.asks)  # type: ignore[misc]
    if sides is None:
        # Not the compact grammar (or a number to reject): the memo path decides, on the same
        # JSON the whole-frame decode would have given it.
        bids = _fast_levels(_levels_decode(w.bids))
        asks = _fast_levels(_levels_decode(w.asks))
    else:
        bids, asks = sides
    out.append(_snapshot(w, bids, asks))


_FAST_JIT: dict[type, Any] = {**_FAST, _WireBookRaw: _jit_book}


def _load_scanner() -> _BookSides | None:
    """The compiled scanner, checked on one level, or None when numba cannot provide it."""
    try:
        from polyarb.protocol.levels_jit import book_sides

        raw = msgspec.json.decode(b'[[{"price":"0.5","size":"2"}],[]]', type=list[msgspec.Raw])
        # compiles (or loads from the disk cache) for msgspec.Raw, the type parse_frame passes
        if book_sides(raw[0], raw[1]) != (((500_000, 2_000_000),), ()):
            return None
    except Exception:  # any failure to build it leaves the exact memo path
        return None
    return book_sides


JIT_AFTER_BOOKS = 50_000
"""``auto`` mode: book frames the memo path parses before the scanner loads (about where
the scanner's saving has paid for loading numba)."""
_books_left = JIT_AFTER_BOOKS


def _jit_mode() -> str:
    """``$POLYARB_JIT``: ``0`` (off), ``1`` (on) or anything else, unset included: ``auto``."""
    mode = os.environ.get("POLYARB_JIT", "").strip()
    return mode if mode in ("0", "1") else "auto"


def _counted_book(w: _WireBook, out: list[MarketEvent]) -> None:
    """``auto`` mode's book handler: the memo path, and the scanner once enough books went by."""
    global _books_left
    _fast_book(w, out)
    _books_left -= 1
    if _books_left <= 0:
        use_jit(True)  # from the next frame on; the events are the same either way


_FAST_AUTO: dict[type, Any] = {**_FAST, _WireBook: _counted_book}


def use_jit(enabled: bool | None = None) -> bool:
    """Parse book levels with the compiled scanner (True) or the memo path only (False).

    None follows ``$POLYARB_JIT`` (``0`` off, ``1`` on, otherwise ``auto``: the memo path
    until :data:`JIT_AFTER_BOOKS` book frames were parsed, then the scanner). Returns
    whether the scanner is in use now: asking for it without numba importable gives the
    memo path. The first call of :func:`parse_frame` makes this choice when nobody did.
    """
    global _book_sides, _decode_typed, _handlers, _books_left
    if enabled is None:
        mode = _jit_mode()
        if mode == "auto":
            _book_sides = None
            _books_left = JIT_AFTER_BOOKS
            _decode_typed, _handlers = _wire_decode, _FAST_AUTO
            return False
        enabled = mode == "1"
    _book_sides = _load_scanner() if enabled else None
    if _book_sides is None:
        _decode_typed, _handlers = _wire_decode, _FAST
        return False
    _decode_typed, _handlers = _raw_decode, _FAST_JIT
    return True


def preload_jit() -> bool:
    """Settle the book-level path now: the scanner unless ``POLYARB_JIT=0``.

    For a process that parses a live feed: numba loads before the feed starts instead of
    stalling it when ``auto`` would switch mid-session. Returns whether the scanner is on.
    """
    return use_jit(_jit_mode() != "0")


def _first_decode(text: str) -> Any:
    use_jit()
    return _decode_typed(text)


# The first frame picks the path (importing numba only then, so `polyarb --help` never does).
_decode_typed: Callable[[str], Any] = _first_decode
_handlers: dict[type, Any] = _FAST


def parse_frame(text: str) -> list[MarketEvent]:
    """Parse one received text frame into events (possibly several, possibly none)."""
    # The length test first: hashing a kilobyte book frame only to miss the set costs more.
    if len(text) <= _CONTROL_MAX and text in CONTROL_TEXTS:
        return [ControlText(text)]
    out: list[MarketEvent] = []
    try:
        wire = _decode_typed(text)
        handlers = _handlers  # after the decode: the first one picks the path
        if type(wire) is list:
            for item in wire:
                handlers[type(item)](item, out)
        else:
            handlers[type(wire)](wire, out)
        return out
    except (msgspec.MsgspecError, _Slow, ValueError):
        # msgspec.MsgspecError also covers input the typed decoder cannot read at all
        pass
    return _parse_generic(text)


# -- generic path: every shape, every rejection reason ----------------------------------


def _parse_generic(text: str) -> list[MarketEvent]:
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
    if not isinstance(value, str) or value not in _SIDES:  # a list or dict is unhashable
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
