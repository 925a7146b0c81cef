"""The book-delta codec: archival parts that store ``book`` frames as changes, losslessly.

A ``book`` frame repeats most of the previous book of its asset, and in a
binary market the two tokens' books mirror each other (a bid at p for one is
an ask at 1 − p for the other, same size). General compressors see only bytes
and keep paying for that. Here a book frame is split into its *skeleton* (the
text with the contents of ``bids`` and ``asks`` cut out: market, asset,
timestamp, hash and anything else, byte for byte) and its levels, stored as

* ``ref 0``: the levels themselves;
* ``ref 1``: the changes against the last book of the same asset;
* ``ref 2``: nothing, the book is the mirror of the market's last book of its
  other token.

Every encoding is decoded again on the spot and kept only if it gives back the
exact text; anything else (other events, odd formatting, a book whose levels
are not in wire order) stays raw in ``payload``. Both sides evolve their state
from the decoded texts alone, so decoding a part from its first row always
reproduces what was recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from polyarb.units import SCALE, FixedPointError, format_fixed, parse_fixed

CODEC = "book-delta-1"
"""Name recorded in the manifest's part record; readers refuse codecs they do not know."""

_BOOK = '"event_type":"book"'
_LEVELS = re.compile(
    r'(?:\{"price":"[0-9.]+","size":"[0-9.]+"\},)*\{"price":"[0-9.]+","size":"[0-9.]+"\}|'
)
_ITEM = re.compile(r'\{"price":"([0-9.]+)","size":"([0-9.]+)"\}')
_ASSET = re.compile(r'"asset_id":"([^"]+)"')
_MARKET = re.compile(r'"market":"([^"]+)"')
_SIDES = ("bids", "asks")
_OPS_SEP = ";"

Levels = dict[str, str]
"""price text → size text, one side of a book."""


@dataclass
class BookState:
    """What the codec remembers while walking a part: each asset's and market's last book."""

    by_asset: dict[str, tuple[Levels, Levels]] = field(default_factory=dict)
    by_market: dict[str, tuple[str, Levels, Levels]] = field(default_factory=dict)

    def update(self, book: Book | None) -> None:
        if book is not None:
            self.by_asset[book.asset] = (book.bids, book.asks)
            self.by_market[book.market] = (book.asset, book.bids, book.asks)


@dataclass(frozen=True)
class Book:
    """A ``book`` frame split: its text without the level arrays' contents, and the levels."""

    asset: str
    market: str
    skeleton: str
    bids: Levels
    asks: Levels


def _side_span(text: str, side: str) -> tuple[int, int] | None:
    key = f'"{side}":['
    start = text.find(key)
    if start < 0 or text.find(key, start + 1) >= 0:
        return None
    start += len(key)
    end = text.find("]", start)
    if end < 0 or not _LEVELS.fullmatch(text, start, end):
        return None
    return start, end


def parse_book(text: str) -> Book | None:
    """The skeleton and levels of a single-object ``book`` frame; None for anything else."""
    if not text.startswith("{") or _BOOK not in text:
        return None
    spans = [_side_span(text, side) for side in _SIDES]
    asset, market = _ASSET.search(text), _MARKET.search(text)
    if spans[0] is None or spans[1] is None or asset is None or market is None:
        return None
    (a0, a1), (b0, b1) = sorted([spans[0], spans[1]])
    skeleton = text[:a0] + text[a1:b0] + text[b1:]
    bids = dict(_ITEM.findall(text, spans[0][0], spans[0][1]))
    asks = dict(_ITEM.findall(text, spans[1][0], spans[1][1]))
    return Book(asset.group(1), market.group(1), skeleton, bids, asks)


def _side_text(levels: Levels, descending: bool) -> str:
    try:
        ordered = sorted(levels.items(), key=lambda kv: parse_fixed(kv[0]), reverse=descending)
    except FixedPointError:
        return "\x00"  # cannot be wire text: the verification rejects the encoding
    return ",".join(f'{{"price":"{p}","size":"{s}"}}' for p, s in ordered)


def assemble_book(skeleton: str, bids: Levels, asks: Levels) -> str:
    """A book's text from its skeleton and levels, bids ascending and asks descending (wire order)."""
    text = skeleton.replace('"bids":[]', '"bids":[' + _side_text(bids, False) + "]", 1)
    return text.replace('"asks":[]', '"asks":[' + _side_text(asks, True) + "]", 1)


@lru_cache(maxsize=1 << 14)
def _flip_price(price: str) -> str:
    return format_fixed(SCALE - parse_fixed(price))  # prices repeat: the cache does the work


def _flip(levels: Levels) -> Levels:
    return {_flip_price(p): s for p, s in levels.items()}


def _ops(old: Levels, new: Levels) -> str:
    changed = [f"{p}={s}" for p, s in new.items() if old.get(p) != s]
    return ",".join(changed + [f"{p}~" for p in old if p not in new])


def _apply(old: Levels, ops: str) -> Levels:
    new = dict(old)
    for op in ops.split(",") if ops else ():
        if op.endswith("~"):
            del new[op[:-1]]
        else:
            price, size = op.split("=")
            new[price] = size
    return new


def _full(text: str) -> Levels:
    return dict(_ITEM.findall(text))


def _decode_levels(
    skeleton: str, ref: int, ops: str, state: BookState
) -> tuple[str, str, Levels, Levels]:
    asset = _ASSET.search(skeleton)
    market = _MARKET.search(skeleton)
    if asset is None or market is None:
        raise ValueError("book-delta row without asset or market")
    if ref == 0:
        bids_ops, asks_ops = ops.split(_OPS_SEP)
        bids, asks = _full(bids_ops), _full(asks_ops)
    elif ref == 1:
        old_bids, old_asks = state.by_asset[asset.group(1)]
        bids_ops, asks_ops = ops.split(_OPS_SEP)
        bids, asks = _apply(old_bids, bids_ops), _apply(old_asks, asks_ops)
    elif ref == 2:
        _, other_bids, other_asks = state.by_market[market.group(1)]
        bids, asks = _flip(other_asks), _flip(other_bids)
    else:
        raise ValueError(f"unknown book-delta reference {ref}")
    return asset.group(1), market.group(1), bids, asks


def decode_row(
    kind: str,
    payload: str | None,
    skeleton: str | None,
    ref: int | None,
    ops: str | None,
    state: BookState,
) -> str:
    """The exact text of one row; advances ``state`` (call for every row, in seq order)."""
    if payload is not None:
        state.update(parse_book(payload) if kind == "frame" else None)
        return payload
    if skeleton is None or ref is None or ops is None:
        raise ValueError("book-delta row without payload or encoding")
    asset, market, bids, asks = _decode_levels(skeleton, ref, ops, state)
    state.update(Book(asset, market, skeleton, bids, asks))
    return assemble_book(skeleton, bids, asks)


@dataclass
class Encoded:
    """One row as stored: ``payload`` raw, or the other three."""

    payload: str | None
    skeleton: str | None = None
    ref: int | None = None
    ops: str | None = None


def _candidate(book: Book, state: BookState) -> tuple[int, str]:
    mirror = state.by_market.get(book.market)
    if (
        mirror is not None
        and mirror[0] != book.asset
        and len(mirror[2]) == len(book.bids)
        and len(mirror[1]) == len(book.asks)
    ):
        try:
            if _flip(mirror[2]) == book.bids and _flip(mirror[1]) == book.asks:
                return 2, ""
        except FixedPointError:
            pass
    previous = state.by_asset.get(book.asset)
    if previous is not None:
        return 1, _ops(previous[0], book.bids) + _OPS_SEP + _ops(previous[1], book.asks)
    return 0, _side_text(book.bids, False) + _OPS_SEP + _side_text(book.asks, True)


def encode_rows(rows: Iterator[tuple[str, str]]) -> Iterator[Encoded]:
    """Encode ``(kind, payload)`` rows of one part, in seq order; lossless by verification."""
    state = BookState()
    for kind, payload in rows:
        book = parse_book(payload) if kind == "frame" else None
        encoded = Encoded(payload)
        if book is not None:
            ref, ops = _candidate(book, state)
            try:
                _, _, bids, asks = _decode_levels(book.skeleton, ref, ops, state)
                if assemble_book(book.skeleton, bids, asks) == payload:
                    encoded = Encoded(None, book.skeleton, ref, ops)
            except (KeyError, ValueError, FixedPointError):
                pass
        state.update(book)
        yield encoded
