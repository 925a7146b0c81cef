"""Consistency and freshness checks every detector applies before it prices a basket."""

from __future__ import annotations

from collections.abc import Sequence

from polyarb.book import OrderBook
from polyarb.detect.base import MarketView


def legs_guard(
    view: MarketView, assets: Sequence[str], max_skew_ms: int | None, *, as_of: bool = False
) -> tuple[list[OrderBook], str | None]:
    """The legs' books and ``None`` if all are tradable and fresh, else the first reason.

    Freshness is about the *exchange* timestamps of the legs: two books last
    updated far apart describe different moments (docs/engine.md §Detectors:
    a stale leg is where phantom edges come from). ``None`` skips that test.
    With ``as_of`` a leg's time is how current its book is known to be
    (``MarketView.as_of_ms``) instead of its last change.
    """
    books: list[OrderBook] = []
    for asset in assets:
        reason = view.untradable(asset)
        if reason is not None:
            return books, reason
        book = view.book(asset)
        if book is None:
            return books, "no_book"
        books.append(book)
    if max_skew_ms is None:
        return books, None
    stamps = [view.as_of_ms(b.asset_id) for b in books] if as_of else [b.ts_ms for b in books]
    if max(stamps) - min(stamps) > max_skew_ms:
        return books, "leg_skew"
    return books, None
