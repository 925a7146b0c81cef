"""A neg-risk session built on the real 2028 Democratic-nominee event, with planted mispricings.

What is real and what is not (say it loudly, the session is a test bench):

* The event and its two markets come from ``gamma/event_neg_risk_2028_dem_nominee.json``
  (Gamma, 2026-03-11): condition ids, token ids, questions, tick 0.001, minimum
  size 5, fees off, the neg-risk market id, and top-of-book prices (Smith
  0.010/0.011, Whitmer 0.014/0.015).
* The real event is ``negRiskAugmented: true`` with only two markets, where a
  basket is meaningless (unnamed outcomes can win). So the default session
  clears that flag and adds three named outcomes **cloned from the real
  market records** (new synthetic condition and token ids, names
  "Synthetic Candidate 3..5"): five named outcomes, exactly one of which
  wins. ``augmented=True`` keeps the real flag and ``placeholder=True`` adds
  a ``negRiskOther`` placeholder ("Other"), for the exclusion tests: either
  makes the YES basket non-exhaustive.
* Books and frames are synthetic: NO books mirror YES (one matching book,
  docs/protocol.md §Mirrored books), ``price_change`` frames are G3 with correct
  per-entry hashes, and four mispricings are planted (``PLANTS``).

Named outcomes' YES bids sum to 0.994 and asks to 1.011: no basket. With the
placeholder, counting it would lift the bid sum to 1.044 and show a (false)
NO basket on every boundary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from polyarb.book import OrderBook
from polyarb.events import BUY, SELL
from polyarb.frames import FrameKind
from polyarb.protocol.markets import MarketMeta, from_gamma_event
from polyarb.protocol.wire import compact, subscribe_text
from polyarb.recording.imports.common import TICK_INTERVAL_NS, staged, synthetic_token_id
from polyarb.recording.writer import SessionWriter
from polyarb.units import ONE, SCALE, format_fixed

SESSION_ID = "negrisk-2028-dem-nominee"
SAMPLE = "gamma/event_neg_risk_2028_dem_nominee.json"
T0_MS = 1_773_244_800_000  # 2026-03-11 16:00 UTC, the hour the Gamma sample was taken
DURATION_S = 90

# (label, YES best bid, YES best ask) in micro units, for the named outcomes then "Other".
_CLONES = ("Synthetic Candidate 3", "Synthetic Candidate 4", "Synthetic Candidate 5")
_QUOTES = {
    "C": (440_000, 445_000),
    "D": (330_000, 335_000),
    "E": (200_000, 205_000),
    "Other": (50_000, 60_000),
}

PLANTS: tuple[dict[str, Any], ...] = (
    {"second": 20, "variant": "buy_yes", "outcome": 2, "quote": (410_000, 415_000)},
    {"second": 35, "variant": None, "outcome": 2, "quote": (425_000, 432_000)},  # edge 0.002
    {"second": 45, "variant": None, "outcome": 3, "transient": (300_000, 305_000)},
    {"second": 60, "variant": "buy_no", "outcome": 2, "quote": (470_000, 475_000)},
)
"""Seconds after the start at which an outcome's YES quote moves for one second.

``variant`` is the basket the detector must find there (``None``: must find
nothing — a near miss below ``min_edge`` 0.005, and a mispricing that exists
only in the middle of one matching event). Outcome indexes count named
outcomes in order: 0 Smith, 1 Whitmer, 2..4 the clones.
"""
WINNER = 1  # Whitmer: every market resolves at the end, this one's YES wins


def _clone(record: dict[str, Any], name: str, other: bool) -> dict[str, Any]:
    clone = dict(record)
    cid = "0x" + synthetic_token_id(record["conditionId"], name)[:64].rjust(64, "0")
    clone["conditionId"] = cid
    clone["question"] = f"Will {name} win the 2028 Democratic presidential nomination?"
    clone["groupItemTitle"] = name
    clone["slug"] = name.lower().replace(" ", "-") + "-2028-dem-nominee-synthetic"
    clone["clobTokenIds"] = json.dumps(
        [synthetic_token_id(cid, "Yes"), synthetic_token_id(cid, "No")]
    )
    clone["negRiskOther"] = other
    return clone


def negrisk_markets(
    shared_data: Path, *, augmented: bool = False, placeholder: bool = False
) -> list[MarketMeta]:
    """The session's metadata: 2 real markets, 3 cloned named outcomes (+ 1 placeholder)."""
    path = shared_data / SAMPLE
    if not path.is_file():
        raise FileNotFoundError(f"neg-risk event sample missing: {path}")
    raw = json.loads(path.read_text())
    event = dict(raw[0] if isinstance(raw, list) else raw)
    real = event["markets"]
    event["markets"] = [
        *real,
        *(_clone(real[i % len(real)], name, False) for i, name in enumerate(_CLONES)),
        *([_clone(real[0], "Other", True)] if placeholder else []),
    ]
    event["negRiskAugmented"] = augmented
    return from_gamma_event(event)


def _yes_quotes(shared_data: Path) -> list[tuple[int, int]]:
    raw = json.loads((shared_data / SAMPLE).read_text())
    event = raw[0] if isinstance(raw, list) else raw
    real = [
        (round(m["bestBid"] * 1000) * 1000, round(m["bestAsk"] * 1000) * 1000)
        for m in event["markets"]
    ]
    return [*real, _QUOTES["C"], _QUOTES["D"], _QUOTES["E"], _QUOTES["Other"]]


def _levels(bid: int, ask: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Three levels a side, 1 tick apart: 500, 1000, 2000 shares from the top."""
    sizes = (500 * SCALE, 1000 * SCALE, 2000 * SCALE)
    bids = [(bid - k * 1_000, s) for k, s in enumerate(sizes) if bid - k * 1_000 > 0]
    asks = [(ask + k * 1_000, s) for k, s in enumerate(sizes) if ask + k * 1_000 < ONE]
    return bids, asks


class _Market:
    """YES and NO books of one outcome, kept as mirrors; emits wire frames."""

    def __init__(self, meta: MarketMeta) -> None:
        self.meta = meta
        self.yes = OrderBook(meta.token_ids[0], meta.condition_id, meta.tick_size)
        self.no = OrderBook(meta.token_ids[1], meta.condition_id, meta.tick_size)

    def set_quote(self, bid: int, ask: int, ts_ms: int) -> None:
        bids, asks = _levels(bid, ask)
        self.yes.apply_snapshot(tuple(sorted(bids)), tuple(sorted(asks, reverse=True)), ts_ms)
        no_bids = [(ONE - p, s) for p, s in asks]
        no_asks = [(ONE - p, s) for p, s in bids]
        self.no.apply_snapshot(tuple(sorted(no_bids)), tuple(sorted(no_asks, reverse=True)), ts_ms)

    def book_frame(self, book: OrderBook, ts_ms: int, initial: bool) -> dict[str, Any]:
        frame: dict[str, Any] = {
            "market": self.meta.condition_id,
            "asset_id": book.asset_id,
            "timestamp": str(ts_ms),
            "hash": self._hash(book, ts_ms),
            "bids": [
                {"price": format_fixed(p), "size": format_fixed(s)} for p, s in book.wire_bids()
            ],
            "asks": [
                {"price": format_fixed(p), "size": format_fixed(s)} for p, s in book.wire_asks()
            ],
        }
        if initial:
            frame["tick_size"] = format_fixed(self.meta.tick_size)
            frame["last_trade_price"] = ""
        frame["event_type"] = "book"
        return frame

    def _hash(self, book: OrderBook, ts_ms: int) -> str:
        return book.hash(
            ts_ms, min_order_size=self.meta.min_order_size, neg_risk=self.meta.neg_risk
        )

    def change(self, changes: list[tuple[str, int, int]], ts_ms: int) -> dict[str, Any]:
        """A G3 ``price_change``: each YES (side, price, size) with its mirrored NO entry."""
        entries = []
        for side, price, size in changes:
            mirror_side = SELL if side == BUY else BUY
            for book, s, p in ((self.yes, side, price), (self.no, mirror_side, ONE - price)):
                book.apply_level(s, p, size, ts_ms)
                bb, ba = book.best_bid(), book.best_ask()
                entries.append(
                    {
                        "asset_id": book.asset_id,
                        "price": format_fixed(p),
                        "size": format_fixed(size),
                        "side": s,
                        "hash": self._hash(book, ts_ms),
                        "best_bid": format_fixed(bb or 0),
                        "best_ask": format_fixed(ba or ONE),
                    }
                )
        return {
            "market": self.meta.condition_id,
            "price_changes": entries,
            "timestamp": str(ts_ms),
            "event_type": "price_change",
        }


@staged
def import_negrisk(
    shared_data: Path,
    recordings: Path,
    *,
    session_id: str = SESSION_ID,
    augmented: bool = False,
    placeholder: bool = False,
) -> Path:
    """Build the neg-risk session into ``recordings/<session_id>`` (see the module docstring)."""
    metas = negrisk_markets(shared_data, augmented=augmented, placeholder=placeholder)
    quotes = _yes_quotes(shared_data)[: len(metas)]
    markets = [_Market(m) for m in metas]
    writer = SessionWriter.fresh(
        recordings,
        session_id,
        feed_url="import:negrisk",
        source={
            "name": "Gamma event democratic-presidential-nominee-2028 (2026-03-11) + synthetic books",
            "licence": "Polymarket public API data; synthetic parts generated by polyarb",
            "derived": (
                "built by 'polyarb import negrisk': 2 real markets, 3 named outcomes cloned from "
                "them"
                + (", 1 negRiskOther placeholder" if placeholder else "")
                + "; negRiskAugmented "
                + ("kept (true)" if augmented else "cleared")
                + "; synthetic mirrored books with planted mispricings"
            ),
        },
    )
    assets = [t for m in metas for t in m.token_ids]
    writer.set_assets(assets)
    writer.write_markets(metas, valid_from_seq=0)
    t0 = T0_MS * 1_000_000
    writer.append(
        FrameKind.OPEN, compact({"url": "import:negrisk", "assets": len(assets)}), t0, 0, 0
    )
    writer.append(FrameKind.SUBSCRIBE, subscribe_text(assets), t0, 0, 0)
    state = {"next_tick": t0 + TICK_INTERVAL_NS, "n": 0}

    def emit(payload: Any, ts_ms: int) -> None:
        recv = ts_ms * 1_000_000 + state["n"] * 1_000  # frames of one ms stay ordered, 1 µs apart
        state["n"] += 1
        while state["next_tick"] <= recv:
            tick = state["next_tick"]
            writer.append(FrameKind.TICK, "", tick, tick - t0, 0)
            state["next_tick"] = tick + TICK_INTERVAL_NS
        writer.append(FrameKind.FRAME, compact(payload), recv, recv - t0, 0)

    dump = []
    for market, (bid, ask) in zip(markets, quotes, strict=True):
        market.set_quote(bid, ask, T0_MS)
        dump += [
            market.book_frame(market.yes, T0_MS, True),
            market.book_frame(market.no, T0_MS, True),
        ]
    emit(
        dump, T0_MS
    )  # the initial dump is one JSON array (docs/protocol.md §Framing, numbers and time)

    plants = {p["second"]: p for p in PLANTS}
    restore: dict[int, int] = {}
    for second in range(1, DURATION_S):
        ts = T0_MS + second * 1_000 + 137
        if second in restore:
            index = restore.pop(second)
            market = markets[index]
            market.set_quote(*quotes[index], ts)
            emit(market.book_frame(market.yes, ts, False), ts)
            emit(market.book_frame(market.no, ts, False), ts)
            continue
        plant = plants.get(second)
        if plant is not None and "quote" in plant:
            index = plant["outcome"]
            market = markets[index]
            market.set_quote(*plant["quote"], ts)
            emit(market.book_frame(market.yes, ts, False), ts)
            emit(market.book_frame(market.no, ts, False), ts)
            restore[second + 1] = index
            continue
        if plant is not None:
            # A mispricing that exists only between two frames of one matching event.
            market = markets[plant["outcome"]]
            bid, ask = quotes[plant["outcome"]]
            low_bid, low_ask = plant["transient"]
            bids, _ = _levels(bid, ask)
            emit(
                market.change(
                    [(BUY, p, 0) for p, _ in bids]
                    + [(SELL, low_ask, 300 * SCALE), (BUY, low_bid, 300 * SCALE)],
                    ts,
                ),
                ts,
            )
            emit(
                market.change(
                    [(SELL, low_ask, 0), (BUY, low_bid, 0)] + [(BUY, p, s) for p, s in bids], ts
                ),
                ts,
            )
            continue
        # Background: the deepest bid of one outcome changes size (sums unchanged).
        index = second % 5
        market = markets[index]
        bid, ask = quotes[index]
        deep = _levels(bid, ask)[0][-1][0]
        size = (2000 + 100 * (second % 7)) * SCALE
        emit(market.change([(BUY, deep, size)], ts), ts)

    end_ms = T0_MS + DURATION_S * 1_000
    for index, meta in enumerate(metas):
        winner = meta.token_ids[0] if index == WINNER else meta.token_ids[1]
        payload = {
            "event_type": "market_resolved",
            "id": meta.slug,
            "market": meta.condition_id,
            "assets_ids": list(meta.token_ids),
            "winning_asset_id": winner,
            "winning_outcome": meta.outcome_of(winner),
            "timestamp": str(end_ms + index),
            "tags": ["politics"],
        }
        emit(payload, end_ms + index)
    writer.close()
    return writer.dir
