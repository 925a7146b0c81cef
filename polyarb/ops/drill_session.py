"""The breaker drill's feed: a generated, drill-only session whose baskets cannot fill.

A recorded day rarely holds the three or more opportunities in a row that the operator's
profile needs to open its breaker (the bundled neg-risk session has two). The drill
therefore writes its own session (``source.mode: drill``, never a recording): the markets
of one complete neg-risk event from a real session (questions, token ids, ticks, minimum
sizes), synthetic mirrored books, and ``rounds`` planted YES baskets. Each plant is one
frame holding the planted books and, right behind them at the next exchange millisecond,
every outcome's asks pulled out of reach: the detector sees the basket at the plant's
boundary, the orders leave, and by the time they arrive (the profile's latency, engine
time) the liquidity is gone, so the exchange kills every FOK leg and nothing fills (no
unwind, no UNWIND_HELD halt before the breaker). That is the fault: liquidity vanishing
under the orders, on a consistent, mirrored feed. Background changes touch every book
each second so no book goes stale, and the session runs ``cooldown_s`` + a margin past
the last plant so the breaker's cool-down passes in it.

Binary complete sets (``binary_complete_set``) get a drill-only binary market instead: the
first market of ``source`` (its token ids, tick and minimum size; neg-risk flags cleared).
Its two books are one matching book, mirrored, so on a consistent feed Σ asks = 1 + spread
and the detector cannot fire (docs/engine.md §Detectors). The fault injected is therefore
an inconsistent feed: each token's book is its own wire message, and a plant states YES
and NO asks that sum below 1 (each book uncrossed on its own, the pair not mirrors) for
one exchange millisecond before both books are restored. The detector's mirror guard,
which exists to refuse exactly that state, is turned off for the drill run only
(:func:`polyarb.ops.drill.relax_mirror_guard`), so the plant reaches the profile's sizing,
risk and breaker; the restored books kill both FOK legs. The plant price is the highest
the profile's own sizing trades at the venue's minimums (:func:`binary_plant_price`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from polyarb.config.profile import Profile, micro
from polyarb.detect.negrisk import basket_of
from polyarb.detect.sizing import LegBook, size_basket, venue_minimum_reason
from polyarb.errors import PolyarbError
from polyarb.events import BUY
from polyarb.frames import FrameKind
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.wire import compact, subscribe_text
from polyarb.recording.imports.negrisk import _Market
from polyarb.recording.reader import SessionReader
from polyarb.recording.writer import SessionWriter
from polyarb.units import ONE, SCALE, format_fixed

DRILL_DETECTOR = "negrisk_basket"
BINARY_DETECTOR = "binary_complete_set"
T0_MS = 1_773_244_800_000  # 2026-03-11 16:00 UTC: drill sessions are dated, not live
FIRST_PLANT_S = 5
PLANT_EVERY_S = 5
MARGIN_S = 30
"""Session time after the cool-down ends, so a tick past it is always played."""
_SIZES = (500 * SCALE, 1000 * SCALE, 2000 * SCALE)


class DrillInputError(ValueError, PolyarbError):
    """The profile or the source session cannot give a breaker drill (exit 2, reason named)."""


@dataclass(frozen=True)
class DrillSession:
    """What was generated: where, from which event, and when its plants are (session time)."""

    path: Path
    source: str
    event: str
    outcomes: int
    rounds: int
    plant_s: tuple[int, ...]
    duration_s: int
    disconnect_after: int
    """Streamed frames (the opening dump excluded) before the middle of the cool-down: where
    the served drill cuts the feed's first connection, so the breaker recovers across a
    reconnect as it must in a real shadow day."""


def untradable_reason(profile: Profile) -> str:
    """Why no drill feed can make ``profile`` trade, or "" when the drill can."""
    if DRILL_DETECTOR in profile.detectors or BINARY_DETECTOR in profile.detectors:
        return ""
    return (
        f"profile {profile.name!r} runs {', '.join(profile.detectors) or 'no detector'}: the "
        "breaker opens only on failed trades, and the drill plants opportunities for "
        f"{DRILL_DETECTOR} and {BINARY_DETECTOR} only"
    )


def is_binary_drill(profile: Profile) -> bool:
    """The drill plants binary complete sets (the profile has no neg-risk detector)."""
    return DRILL_DETECTOR not in profile.detectors and BINARY_DETECTOR in profile.detectors


def pick_event(markets: list[MarketMeta]) -> list[MarketMeta]:
    """The first complete neg-risk event (every outcome named: a YES basket pays 1)."""
    groups: dict[str, list[MarketMeta]] = {}
    for m in markets:
        if m.neg_risk and m.neg_risk_market_id:
            groups.setdefault(m.neg_risk_market_id, []).append(m)
    for group in groups.values():
        basket = basket_of(group)
        if basket is not None and basket.exhaustive:
            return list(basket.outcomes)
    return []


class _Outcome(_Market):
    """One outcome's mirrored YES/NO books, quoted on its own tick (three levels a side)."""

    quote: tuple[int, int] = (0, 0)
    """(YES best bid, YES best ask) last set."""

    def set_quote(self, bid: int, ask: int, ts_ms: int) -> None:
        tick = self.meta.tick_size
        self.quote = (bid, ask)
        bids = [(bid - k * tick, s) for k, s in enumerate(_SIZES) if bid - k * tick > 0]
        asks = [(ask + k * tick, s) for k, s in enumerate(_SIZES) if ask + k * tick < ONE]
        self.yes.apply_snapshot(tuple(sorted(bids)), tuple(sorted(asks, reverse=True)), ts_ms)
        no_bids = [(ONE - p, s) for p, s in asks]
        no_asks = [(ONE - p, s) for p, s in bids]
        self.no.apply_snapshot(tuple(sorted(no_bids)), tuple(sorted(no_asks, reverse=True)), ts_ms)

    def books(self, ts_ms: int, initial: bool = False) -> list[dict[str, Any]]:
        return [self.book_frame(self.yes, ts_ms, initial), self.book_frame(self.no, ts_ms, initial)]


def _down(value: int, tick: int) -> int:
    return value // tick * tick


def _up(value: int, tick: int) -> int:
    return -(-value // tick) * tick


class _DrillFeed:
    """The drill session's writer: opening rows, then frames with a 1 s tick row between."""

    def __init__(
        self, recordings: Path, session_id: str, metas: list[MarketMeta], derived: str, name: str
    ) -> None:
        self.writer = SessionWriter.fresh(
            recordings,
            session_id,
            feed_url="drill:breaker",
            source={
                "mode": "drill",
                "name": name,
                "licence": "generated by polyarb drill (market metadata from the source session)",
                "derived": derived,
            },
        )
        assets = [t for m in metas for t in m.token_ids]
        self.writer.set_assets(assets)
        self.writer.write_markets(metas, valid_from_seq=0)
        self.t0 = T0_MS * 1_000_000
        self.writer.append(
            FrameKind.OPEN, compact({"url": "drill:breaker", "assets": len(assets)}), self.t0, 0, 0
        )
        self.writer.append(FrameKind.SUBSCRIBE, subscribe_text(assets), self.t0, 0, 0)
        self.next_tick = self.t0 + 1_000_000_000
        self.n = 0

    def emit(self, payload: Any, ts_ms: int) -> None:
        recv = ts_ms * 1_000_000 + self.n * 1_000  # frames of one ms stay ordered
        self.n += 1
        while self.next_tick <= recv:
            tick_ns = self.next_tick
            self.writer.append(FrameKind.TICK, "", tick_ns, tick_ns - self.t0, 0)
            self.next_tick = tick_ns + 1_000_000_000
        self.writer.append(FrameKind.FRAME, compact(payload), recv, recv - self.t0, 0)


def _background(feed: _DrillFeed, outcomes: list[_Outcome], second: int, base: int) -> None:
    """Every book's deepest bid changes size, so no connection goes quiet."""
    for k, o in enumerate(outcomes):
        deep = o.quote[0] - 2 * o.meta.tick_size
        if deep > 0:
            size = (2000 + 100 * ((second + k) % 7)) * SCALE
            feed.emit(o.change([(BUY, deep, size)], base + 137), base + 137)


def build_drill_session(
    source: Path,
    recordings: Path,
    session_id: str,
    profile: Profile,
    *,
    rounds: int | None = None,
) -> DrillSession:
    """Write the drill's feed for ``profile`` into ``recordings/<session_id>`` (replaced)."""
    reason = untradable_reason(profile)
    if reason:
        raise DrillInputError(reason)
    reader = SessionReader(source)
    rounds = rounds or profile.risk.consecutive_failures + 2
    if is_binary_drill(profile):
        return _build_binary(reader, recordings, session_id, profile, rounds)
    metas = pick_event(reader.markets())
    if not metas:
        raise DrillInputError(
            f"session {reader.id}: no complete neg-risk event (every outcome named, not "
            "augmented) among its markets to plant baskets in; pass --session with one, e.g. "
            "the bundled negrisk-2028-dem-nominee ('polyarb import negrisk')"
        )
    n = len(metas)
    tick = max(m.tick_size for m in metas)
    min_edge = micro(profile.risk.min_edge)
    # Quiet state: Σ YES asks 1.02, Σ YES bids 0.98 (so Σ NO asks = n - 0.98: no NO basket).
    ask = _up((ONE + 20_000) // n, tick)
    bid = max(tick, _down((ONE - 20_000) // n, tick))
    if bid >= ask:
        bid = ask - tick
    # The plant: one outcome cheap enough that Σ asks clears min_edge with room for fees.
    target = ONE - min_edge - 30_000
    plant_ask = _down(ask - (ask * n - target), tick)
    if plant_ask <= tick:
        raise DrillInputError(
            f"profile {profile.name!r}: risk.min_edge {profile.risk.min_edge} leaves no price at "
            f"which a basket of {n} outcomes clears it"
        )
    plant_bid = max(tick, plant_ask - (ask - bid))
    pulled = min(_down(ONE - 3 * tick, tick), _up(ask + 100_000, tick))
    plant_s = tuple(FIRST_PLANT_S + PLANT_EVERY_S * r for r in range(rounds))
    duration_s = plant_s[-1] + profile.risk.breaker_cooldown_s + MARGIN_S

    event = metas[0].neg_risk_market_id or ""
    feed = _DrillFeed(
        recordings,
        session_id,
        metas,
        derived=(
            f"polyarb drill breaker: {n} outcomes of neg-risk event {event} from session "
            f"{reader.id}; synthetic mirrored books; {rounds} planted YES baskets whose asks "
            "are pulled before the orders arrive (drill only, never market data)"
        ),
        name=f"breaker drill feed for profile {profile.name}",
    )
    outcomes = [_Outcome(m) for m in metas]

    def quiet(ts_ms: int) -> list[dict[str, Any]]:
        out = []
        for o in outcomes:
            o.set_quote(bid, ask, ts_ms)
            out += o.books(ts_ms)
        return out

    dump = []
    for o in outcomes:
        o.set_quote(bid, ask, T0_MS)
        dump += o.books(T0_MS, initial=True)
    feed.emit(dump, T0_MS)
    plants = set(plant_s)
    cut_s = plant_s[-1] + max(1, profile.risk.breaker_cooldown_s // 2)
    disconnect_after = 0
    for second in range(1, duration_s):
        base = T0_MS + second * 1_000
        if second == cut_s:
            disconnect_after = feed.n - 1
        if second in plants:
            # Every book quiet again, then the plant and, one exchange ms later in the same
            # frame, every ask pulled: the basket exists for the detector and for no order.
            feed.emit(quiet(base - 200), base - 200)
            planted = outcomes[second % n]
            planted.set_quote(plant_bid, plant_ask, base)
            frame = planted.books(base)
            for o in [planted, *(x for x in outcomes if x is not planted)]:
                o.set_quote(o.quote[0], max(pulled, o.quote[1]), base + 1)
                frame += o.books(base + 1)
            feed.emit(frame, base)
            continue
        _background(feed, outcomes, second, base)
    feed.writer.close()
    return DrillSession(
        feed.writer.dir, reader.id, event, n, rounds, plant_s, duration_s, disconnect_after
    )


def binary_plant_price(meta: MarketMeta, profile: Profile) -> int:
    """The highest ask, planted on both tokens, that the profile's own sizing trades.

    Equal shares on two legs, each at least the market's minimum and $1 at its price, within
    ``risk.trade_size_usd``: a $2 profile on a 5-share market trades only at 0.20 a leg.
    """
    tick = meta.tick_size
    min_edge = micro(profile.risk.min_edge)
    cash = micro(profile.risk.trade_size_usd)
    price = _down((ONE - min_edge) // 2 - 10_000, tick)
    while price > tick:
        levels = [(price + k * tick, s) for k, s in enumerate(_SIZES)]
        legs = [
            LegBook(t, meta.condition_id, levels, meta.fee_rate, meta.fee_exponent,
                    meta.min_order_size)
            for t in meta.token_ids
        ]  # fmt: skip
        sizing = size_basket(legs, BUY, payout=ONE, min_edge=min_edge, max_cash=cash)
        if sizing is not None and venue_minimum_reason(legs, sizing) is None:
            return price
        price -= tick
    raise DrillInputError(
        f"profile {profile.name!r}: risk.trade_size_usd {profile.risk.trade_size_usd} buys no "
        f"complete set of market {meta.condition_id} at its minimum size "
        f"({meta.min_order_size / SCALE:g} shares, $1 a leg) at any price"
    )


def _build_binary(
    reader: SessionReader, recordings: Path, session_id: str, profile: Profile, rounds: int
) -> DrillSession:
    """The binary drill feed: one market, mirrored when quiet, unmirrored for 1 ms per plant."""
    binaries = [m for m in reader.markets() if len(m.token_ids) == 2 and not m.closed]
    if not binaries:
        raise DrillInputError(f"session {reader.id}: no open two-token market to plant sets in")
    meta = msgspec.structs.replace(
        binaries[0], neg_risk=False, neg_risk_augmented=False, neg_risk_market_id="",
        neg_risk_other=False,
    )  # fmt: skip
    tick = meta.tick_size
    bid, ask = _down(ONE // 2 - 10_000, tick), _up(ONE // 2 + 10_000, tick)
    plant = binary_plant_price(meta, profile)
    plant_s = tuple(FIRST_PLANT_S + PLANT_EVERY_S * r for r in range(rounds))
    duration_s = plant_s[-1] + profile.risk.breaker_cooldown_s + MARGIN_S
    feed = _DrillFeed(
        recordings,
        session_id,
        [meta],
        derived=(
            f"polyarb drill breaker: binary market {meta.condition_id} from session "
            f"{reader.id} (neg-risk flags cleared); synthetic books, mirrored except for "
            f"{rounds} planted inconsistent states (YES and NO asks {format_fixed(plant)} each) "
            "restored one exchange ms later (drill only, never market data)"
        ),
        name=f"breaker drill feed for profile {profile.name}",
    )
    market = _Outcome(meta)
    market.set_quote(bid, ask, T0_MS)
    feed.emit(market.books(T0_MS, initial=True), T0_MS)
    plants = set(plant_s)
    cut_s = plant_s[-1] + max(1, profile.risk.breaker_cooldown_s // 2)
    disconnect_after = 0
    plant_bid = max(tick, plant - (ask - bid))
    for second in range(1, duration_s):
        base = T0_MS + second * 1_000
        if second == cut_s:
            disconnect_after = feed.n - 1
        if second in plants:
            # Both books planted with the same cheap asks (each uncrossed, together not one
            # book), then both restored to the quiet mirrored book one exchange ms later.
            for book in (market.yes, market.no):
                asks = [(plant + k * tick, s) for k, s in enumerate(_SIZES)]
                book.apply_snapshot(((plant_bid, _SIZES[0]),), tuple(asks[::-1]), base)
            frame = market.books(base)
            market.set_quote(bid, ask, base + 1)
            feed.emit(frame + market.books(base + 1), base)
            continue
        _background(feed, [market], second, base)
    feed.writer.close()
    return DrillSession(
        feed.writer.dir, reader.id, meta.condition_id, 1, rounds, plant_s, duration_s,
        disconnect_after,
    )  # fmt: skip
