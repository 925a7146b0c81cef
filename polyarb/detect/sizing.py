"""Walk several books in **equal shares** to the largest size worth taking.

A basket of legs (one per token) is bought at the asks or sold at the bids,
the same number of shares on every leg (docs/protocol.md §Mirrored books: unequal
legs turn an arbitrage into a bet). Two limits set the size:

* depth: every share taken must keep the basket's *marginal* per-share edge
  at or above ``min_edge``. Marginal cost only grows as levels are walked,
  so the profitable depth is a prefix of the walk. Fees in that test are
  the exact rational per-share fee, so flooring per fill can only help;
* cash: the basket's total cost (floored per-fill fees included) must fit
  the profile's trade size.

Depth is counted on the venue's 0.01-share lot grid (a level of 3.005 shares
offers 3.00: the venue fills whole lots only), so the result is a whole number
of lots; :func:`venue_minimum_reason` says when that size is still below what
the venue accepts (the market's minimum shares, $1 at the limit). All
integers, no floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from polyarb.events import BUY, Level
from polyarb.execution.fees import taker_fee
from polyarb.execution.venue import MIN_MARKETABLE_NOTIONAL, SIZE_QUANTUM
from polyarb.units import SCALE, mul

LOT = SIZE_QUANTUM
"""Order sizes have 2 decimals (0.01 share): the venue's lot, the grid every size is on."""


class LegBook(msgspec.Struct, frozen=True, gc=False):
    """One leg: its token, the levels it walks (best first) and its fee schedule."""

    asset_id: str
    market: str
    levels: Sequence[Level]
    fee_rate: int = 0
    fee_exponent: int = 1
    min_size: int = 0
    """The market's ``min_order_size`` (shares, micro): the venue refuses smaller orders."""


class LegFill(msgspec.Struct, frozen=True, gc=False):
    """What one leg takes: size, cash before fees, fees, the worst price reached."""

    asset_id: str
    market: str
    size: int
    cash: int
    fee: int
    worst_price: int


class Sizing(msgspec.Struct, frozen=True, gc=False):
    """A sized basket: ``size`` shares per leg, total ``cost`` (BUY) or ``proceeds`` (SELL)."""

    size: int
    cash: int
    """BUY: cash paid incl. fees. SELL: cash received net of fees."""
    fees: int
    edge: int
    """Per share after fees, micro, floored."""
    legs: tuple[LegFill, ...]


def _fee_num(price: int, rate: int, exponent: int) -> int:
    """Per-share fee × SCALE^(2·exponent): exact, so comparisons need no rounding."""
    return rate * (price * (SCALE - price)) ** exponent


def leg_fill(leg: LegBook, size: int, side: str) -> LegFill:
    """Take ``size`` shares from ``leg`` level by level; fees floored per level fill."""
    left = size
    cash = fee = 0
    worst = 0
    for price, avail in leg.levels:
        if left <= 0:
            break
        take = avail if avail < left else left
        # Buyers round notional up, sellers down, so rounding never flatters the edge.
        cash += -((-price * take) // SCALE) if side == BUY else price * take // SCALE
        fee += taker_fee(take, price, leg.fee_rate, leg.fee_exponent)
        worst = price
        left -= take
    if left > 0:
        raise ValueError(f"leg {leg.asset_id} lacks depth for {size}")
    return LegFill(leg.asset_id, leg.market, size, cash, fee, worst)


def basket_value(legs: Sequence[LegBook], size: int, side: str) -> tuple[int, int, list[LegFill]]:
    """``(cash, fees, fills)`` of taking ``size`` shares on every leg."""
    fills = [leg_fill(leg, size, side) for leg in legs]
    fees = sum(f.fee for f in fills)
    notional = sum(f.cash for f in fills)
    return (notional + fees if side == BUY else notional - fees), fees, fills


def profitable_depth(legs: Sequence[LegBook], side: str, payout: int, min_edge: int) -> int:
    """Shares per leg over which every marginal share clears ``min_edge`` (not yet on the grid).

    BUY: Σ (price + fee) ≤ payout − min_edge; SELL: Σ (price − fee) ≥ payout + min_edge,
    where ``payout`` is what one set is worth (1 for a complete set, n − 1 for n NOs).
    """
    exps = {leg.fee_exponent for leg in legs}
    scale = SCALE ** (2 * max(exps)) if exps else 1
    pos = [0] * len(legs)
    used = [0] * len(legs)
    depth = 0
    while True:
        total = 0
        segment = -1
        for i, leg in enumerate(legs):
            if pos[i] >= len(leg.levels):
                return depth
            price, avail = leg.levels[pos[i]]
            fee = _fee_num(price, leg.fee_rate, leg.fee_exponent) * (
                scale // SCALE ** (2 * leg.fee_exponent)
            )
            total += price * scale + (fee if side == BUY else -fee)
            room = avail - used[i]
            if segment < 0 or room < segment:
                segment = room
        if side == BUY:
            ok = total <= (payout - min_edge) * scale
        else:
            ok = total >= (payout + min_edge) * scale
        if not ok:
            return depth
        depth += segment
        for i, leg in enumerate(legs):
            used[i] += segment
            if used[i] >= leg.levels[pos[i]][1]:
                pos[i] += 1
                used[i] = 0


def size_basket(
    legs: Sequence[LegBook], side: str, *, payout: int, min_edge: int, max_cash: int
) -> Sizing | None:
    """The largest equal-share basket worth taking, or ``None`` if not even one lot is.

    ``max_cash`` caps what the basket ties up: its cost for a BUY, the
    ``payout`` collateral split into sets for a SELL. Level sizes count in
    whole lots only (what the venue can fill).
    """
    legs = [_on_lot_grid(leg) for leg in legs]
    depth = profitable_depth(legs, side, payout, min_edge) // LOT
    if depth <= 0:
        return None

    def fits(lots: int) -> bool:
        if side == BUY:
            return basket_value(legs, lots * LOT, side)[0] <= max_cash
        return payout * lots * LOT // SCALE <= max_cash

    lo, hi = 0, depth  # cost grows with size, so the cash cap is a bisection
    if fits(hi):
        lo = hi
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
    if lo <= 0:
        return None
    size = lo * LOT
    cash, fees, fills = basket_value(legs, size, side)
    gross = payout * size // SCALE
    profit = gross - cash if side == BUY else cash - gross
    return Sizing(size, cash, fees, profit * SCALE // size, tuple(fills))


def _on_lot_grid(leg: LegBook) -> LegBook:
    """``leg`` with each level floored to whole lots (levels under one lot dropped)."""
    if all(size % LOT == 0 for _, size in leg.levels):
        return leg
    levels = [(p, size // LOT * LOT) for p, size in leg.levels if size >= LOT]
    return msgspec.structs.replace(leg, levels=levels)


def venue_minimum_reason(legs: Sequence[LegBook], sizing: Sizing) -> str | None:
    """Why the venue would refuse a leg of ``sizing`` (``below_min_size``/``below_min_notional``).

    Same rules as :class:`polyarb.execution.SimVenue`: shares at least the
    market's minimum, and $1 at the leg's limit (its worst price), BUY or SELL.
    """
    for leg, fill in zip(legs, sizing.legs, strict=True):
        if sizing.size < leg.min_size:
            return "below_min_size"
        if mul(fill.worst_price, sizing.size) < MIN_MARKETABLE_NOTIONAL:
            return "below_min_notional"
    return None
