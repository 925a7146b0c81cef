"""Prototype batch parser for replay (issue 16 item 1): the per-level work moved into C, measured.

``parse_batch(payloads)`` returns exactly ``[parse_frame(p) for p in payloads]``
(tests/protocol/test_parse_batch.py checks it on random, rejected and real frames).
A single-object ``book`` frame is decoded by msgspec with its two level arrays kept
raw (``msgspec.Raw``: validated JSON, not built); every raw side of a chunk is joined
and one ``re.findall`` pulls each level's price and size strings, one pyarrow cast to
``decimal128(18, 6)`` turns them into micro units (the unscaled 128-bit integer *is*
the micro-unit count; the pattern only admits ``\\d{1,12}(\\.\\d{1,6})?``, which fits
18 digits, so the cast is exact and never sees a float), and ``zip`` builds the level
tuples. Anything else — another shape, a level the pattern does not take exactly, a
price outside (0, 1) — goes to :func:`parse_frame`, which owns every rejection.

It lives here, not in the package, because it is slower than the per-frame fast path it
would replace: bench_replay.py prints both against the decode floor, and
docs/engine.md §Performance says why (building the returned objects alone is ~1.5× it).
"""

from __future__ import annotations

import re
from itertools import chain

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from polyarb.events import BookSnapshot, Level, MarketEvent
from polyarb.protocol.parser import _PRICES, _fast_ts, _Slow, parse_frame
from polyarb.units import ONE


class _RawBook(msgspec.Struct, tag_field="event_type", tag="book", gc=False):
    """parse_frame's ``_WireBook`` with the level arrays left undecoded."""

    asset_id: str
    market: str
    timestamp: str | int
    bids: msgspec.Raw
    asks: msgspec.Raw
    hash: str = ""
    tick_size: str | None = None
    last_trade_price: str | None = None


_decode_book = msgspec.json.Decoder(_RawBook).decode
# Strict on purpose: every string parse_fixed reads differently (".5", "5.", extra zeros,
# 13 digits) simply fails to match, and the frame takes parse_frame.
_NUMBER = rb"([0-9]{1,12}(?:\.[0-9]{1,6})?)"
_LEVEL = re.compile(rb'\{"price":"' + _NUMBER + rb'","size":"' + _NUMBER + rb'"\}')
_LEVEL_FIXED = len(b'{"price":"","size":""}')
_SEP = b"\n"  # never inside a match, so no match spans two sides
_DECIMAL = pa.decimal128(18, 6)

_Book = tuple[int, _RawBook, int, int | None]


def _sides(chunk: list[_Book]) -> list[tuple[Level, ...]] | None:
    """Both level tuples of every book in ``chunk``, or None when any side is not plain."""
    raws = [raw for _, w, _, _ in chunk for raw in (w.bids, w.asks)]
    joined = _SEP.join(raws)
    found = _LEVEL.findall(joined)
    counts = []
    pos = 0
    count = joined.count
    floor_len = len(raws) - 1  # separators
    for raw in raws:
        n = len(raw)
        if joined[pos] != 0x5B:  # "[": a 2-byte '""' or '{}' would pass the length test
            return None
        c = count(b"{", pos, pos + n)
        counts.append(c)
        floor_len += 2 + c - 1 if c else 2
        pos += n + 1
    if sum(counts) != len(found):
        return None
    strings = pa.array(list(chain.from_iterable(found)), pa.binary())
    # Msgspec validated each raw side as JSON, so its bytes outside the matches are at least
    # the brackets and one byte between neighbours; equality leaves exactly '[E,E,...,E]'.
    text_len = pc.sum(pc.binary_length(strings)).as_py() or 0
    if len(joined) != floor_len + _LEVEL_FIXED * len(found) + text_len:
        return None
    micro = pc.cast(strings.cast(pa.string()), _DECIMAL)
    words = np.frombuffer(micro.buffers()[1], dtype=np.int64)
    units = words[2 * micro.offset : 2 * (micro.offset + len(micro)) : 2]
    prices = units[0::2]
    if len(prices) and (prices.min() <= 0 or prices.max() >= ONE):
        return None
    flat = units.tolist()
    levels = list(zip(flat[0::2], flat[1::2], strict=True))
    out = []
    pos = 0
    for c in counts:
        out.append(tuple(levels[pos : pos + c]))
        pos += c
    return out


def _fill(chunk: list[_Book], payloads: list[str], out: list[list[MarketEvent]]) -> None:
    sides = _sides(chunk) if chunk else []
    if sides is None:
        if len(chunk) == 1:  # the odd frame found: today's parser decides
            out[chunk[0][0]] = parse_frame(payloads[chunk[0][0]])
            return
        half = len(chunk) // 2
        _fill(chunk[:half], payloads, out)
        _fill(chunk[half:], payloads, out)
        return
    it = iter(sides)
    for i, w, ts, tick in chunk:
        bids = next(it)
        snap = BookSnapshot(
            w.asset_id, w.market, ts, bids, next(it), w.hash, tick, w.last_trade_price
        )
        out[i] = [snap]


def parse_batch(payloads: list[str]) -> list[list[MarketEvent]]:
    """``[parse_frame(p) for p in payloads]``, with the level arrays of books converted in bulk."""
    out: list[list[MarketEvent]] = [[] for _ in payloads]
    books: list[_Book] = []
    for i, text in enumerate(payloads):
        try:
            w = _decode_book(text)
            ts = _fast_ts(w.timestamp)
            tick = None if w.tick_size is None else _PRICES[w.tick_size]
        except (msgspec.MsgspecError, _Slow, ValueError):
            out[i] = parse_frame(text)
            continue
        books.append((i, w, ts, tick))
    _fill(books, payloads, out)
    return out
