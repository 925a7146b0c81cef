"""The breaker drill's feed: a generated, drill-only neg-risk session whose baskets cannot fill.

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

Binary complete sets cannot be drilled this way, or any way: their two books are one
matching book (mirrored), so Σ asks = 1 + spread and the detector cannot fire on a
consistent feed (docs/engine.md §Detectors). :func:`untradable_reason` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyarb.config.profile import Profile, micro
from polyarb.detect.negrisk import basket_of
from polyarb.errors import PolyarbError
from polyarb.events import BUY
from polyarb.frames import FrameKind
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.wire import compact, subscribe_text
from polyarb.recording.imports.negrisk import _Market
from polyarb.recording.reader import SessionReader
from polyarb.recording.writer import SessionWriter
from polyarb.units import ONE, SCALE

DRILL_DETECTOR = "negrisk_basket"
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
    if DRILL_DETECTOR in profile.detectors:
        return ""
    return (
        f"profile {profile.name!r} runs {', '.join(profile.detectors) or 'no detector'}: the "
        "breaker opens only on failed trades and no feed can make it trade. A binary complete "
        "set's YES and NO are one matching book (mirrored, ask_NO = 1 - bid_YES), so the sum "
        "of asks is 1 + spread on any consistent feed and the detector never fires (docs/"
        "engine.md §Detectors); an unmirrored or crossed feed is refused by its guards. No "
        "drill can give promote-check breaker evidence for this profile: only a breaker "
        "cycle in its own runs can (drills work for profiles with the negrisk_basket detector)"
    )


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
    rounds = rounds or profile.risk.consecutive_failures + 2
    plant_s = tuple(FIRST_PLANT_S + PLANT_EVERY_S * r for r in range(rounds))
    duration_s = plant_s[-1] + profile.risk.breaker_cooldown_s + MARGIN_S

    event = metas[0].neg_risk_market_id or ""
    writer = SessionWriter.fresh(
        recordings,
        session_id,
        feed_url="drill:breaker",
        source={
            "mode": "drill",
            "name": f"breaker drill feed for profile {profile.name}",
            "licence": "generated by polyarb drill (market metadata from the source session)",
            "derived": (
                f"polyarb drill breaker: {n} outcomes of neg-risk event {event} from session "
                f"{reader.id}; synthetic mirrored books; {rounds} planted YES baskets whose asks "
                "are pulled before the orders arrive (drill only, never market data)"
            ),
        },
    )
    outcomes = [_Outcome(m) for m in metas]
    assets = [t for m in metas for t in m.token_ids]
    writer.set_assets(assets)
    writer.write_markets(metas, valid_from_seq=0)
    t0 = T0_MS * 1_000_000
    writer.append(
        FrameKind.OPEN, compact({"url": "drill:breaker", "assets": len(assets)}), t0, 0, 0
    )
    writer.append(FrameKind.SUBSCRIBE, subscribe_text(assets), t0, 0, 0)
    state = {"next_tick": t0 + 1_000_000_000, "n": 0}

    def emit(payload: Any, ts_ms: int) -> None:
        recv = ts_ms * 1_000_000 + state["n"] * 1_000  # frames of one ms stay ordered
        state["n"] += 1
        while state["next_tick"] <= recv:
            tick_ns = state["next_tick"]
            writer.append(FrameKind.TICK, "", tick_ns, tick_ns - t0, 0)
            state["next_tick"] = tick_ns + 1_000_000_000
        writer.append(FrameKind.FRAME, compact(payload), recv, recv - t0, 0)

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
    emit(dump, T0_MS)
    plants = set(plant_s)
    cut_s = plant_s[-1] + max(1, profile.risk.breaker_cooldown_s // 2)
    disconnect_after = 0
    for second in range(1, duration_s):
        base = T0_MS + second * 1_000
        if second == cut_s:
            disconnect_after = state["n"] - 1
        if second in plants:
            # Every book quiet again, then the plant and, one exchange ms later in the same
            # frame, every ask pulled: the basket exists for the detector and for no order.
            emit(quiet(base - 200), base - 200)
            planted = outcomes[second % n]
            planted.set_quote(plant_bid, plant_ask, base)
            frame = planted.books(base)
            for o in [planted, *(x for x in outcomes if x is not planted)]:
                o.set_quote(o.quote[0], max(pulled, o.quote[1]), base + 1)
                frame += o.books(base + 1)
            emit(frame, base)
            continue
        # Background: every book's deepest bid changes size, so no connection goes quiet.
        for k, o in enumerate(outcomes):
            deep = o.quote[0] - 2 * tick
            if deep > 0:
                size = (2000 + 100 * ((second + k) % 7)) * SCALE
                emit(o.change([(BUY, deep, size)], base + 137), base + 137)
    writer.close()
    return DrillSession(
        writer.dir, reader.id, event, n, rounds, plant_s, duration_s, disconnect_after
    )
