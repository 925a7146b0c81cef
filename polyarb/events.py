"""Normalised market-channel events: the one vocabulary every stage speaks.

The parser (:mod:`polyarb.protocol.parser`) is the only producer from wire
text. Prices and sizes are ints in micro units (:mod:`polyarb.units`);
timestamps ``ts_ms`` are the exchange's epoch milliseconds. Level tuples are
``(price, size)`` in **wire order**: bids ascending, asks descending, so the
best level is the last element (docs/protocol.md §Framing, numbers and time).
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

Level: TypeAlias = tuple[int, int]
"""(price, size) in micro units."""

BUY = "BUY"
SELL = "SELL"


class BookSnapshot(msgspec.Struct, frozen=True, gc=False):
    """A full L2 book for one asset; replaces both sides."""

    asset_id: str
    market: str
    ts_ms: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    hash: str
    tick_size: int | None = None
    last_trade_price: str | None = None
    """Raw string, as the book hash needs it (``"0.920"`` keeps its zero)."""


class LevelChange(msgspec.Struct, frozen=True, gc=False):
    """One level set to an absolute size (``0`` deletes); any ``price_change`` generation."""

    asset_id: str
    market: str
    ts_ms: int
    side: str
    """``BUY`` = bid side, ``SELL`` = ask side."""
    price: int
    size: int
    hash: str | None = None
    best_bid: int | None = None
    best_ask: int | None = None


class LastTrade(msgspec.Struct, frozen=True, gc=False):
    """One print (``last_trade_price``)."""

    asset_id: str
    market: str
    ts_ms: int
    price: int
    size: int
    side: str
    fee_rate_bps: int
    price_text: str
    transaction_hash: str | None = None


class TickSizeChange(msgspec.Struct, frozen=True, gc=False):
    """A new tick regime: the book is untradable until the next snapshot."""

    asset_id: str
    market: str
    ts_ms: int
    old_tick_size: int
    new_tick_size: int


class BestBidAsk(msgspec.Struct, frozen=True, gc=False):
    """Top of book (custom feature). ``None`` where the wire says ``"0"``/``"1"`` for an empty side."""

    asset_id: str
    market: str
    ts_ms: int
    best_bid: int | None
    best_ask: int | None
    spread: int | None


class NewMarket(msgspec.Struct, frozen=True, gc=False):
    """A market was created (custom feature)."""

    market: str
    ts_ms: int
    question: str
    slug: str
    asset_ids: tuple[str, ...]
    outcomes: tuple[str, ...]
    tick_size: int | None = None


class MarketResolved(msgspec.Struct, frozen=True, gc=False):
    """A market settled: the winning token pays 1, the others 0."""

    market: str
    ts_ms: int
    asset_ids: tuple[str, ...]
    winning_asset_id: str
    winning_outcome: str


class ControlText(msgspec.Struct, frozen=True, gc=False):
    """A plain-text server frame: ``PONG``, ``NO NEW ASSETS`` or ``INVALID OPERATION``."""

    text: str


class RejectedFrame(msgspec.Struct, frozen=True, gc=False):
    """Input the parser could not turn into an event, with why and the raw text."""

    reason: str
    raw: str


MarketEvent: TypeAlias = (
    BookSnapshot
    | LevelChange
    | LastTrade
    | TickSizeChange
    | BestBidAsk
    | NewMarket
    | MarketResolved
    | ControlText
    | RejectedFrame
)

CONTROL_TEXTS = frozenset({"PONG", "NO NEW ASSETS", "INVALID OPERATION"})
CONTROL_BYTES = frozenset(t.encode() for t in CONTROL_TEXTS)
