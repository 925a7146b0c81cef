"""Match one taker order against the opposite side of a book: pure, integers only.

Kept apart from the exchange double so it can later share the simulated
venue's rules (issue 13 item 5); for now: walk price levels best first while
they cross the limit, take what each level offers, FOK all-or-nothing, FAK
what is there. Prices and sizes in micro units.
"""

from __future__ import annotations

from polyarb.events import BUY, Level


def match_taker(
    side: str, limit: int, size: int, levels: list[Level], *, fill_or_kill: bool
) -> list[Level]:
    """Fills ``[(price, size), ...]`` of a taker ``side`` order for ``size`` at ``limit``.

    ``levels`` is the opposite side best first (asks ascending for a BUY, bids
    descending for a SELL). Empty when nothing crosses, or when a FOK cannot
    be filled completely.
    """
    fills: list[Level] = []
    left = size
    for price, available in levels:
        if left <= 0:
            break
        if (side == BUY and price > limit) or (side != BUY and price < limit):
            break
        take = min(left, available)
        if take > 0:
            fills.append((price, take))
            left -= take
    if fill_or_kill and left > 0:
        return []
    return fills
