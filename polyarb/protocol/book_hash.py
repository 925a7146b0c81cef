"""The book ``hash``: SHA-1 of a 10-field compact JSON (docs/protocol.md §Book hash).

Reproduces REST ``/book`` exactly and WS ``book``/``price_change`` hashes when
``min_order_size``/``neg_risk`` come from market metadata and
``last_trade_price`` from the latest trade. Field order matters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from polyarb.events import Level
from polyarb.protocol.wire import compact
from polyarb.units import format_fixed


def book_hash(
    *,
    market: str,
    asset_id: str,
    timestamp: str,
    bids: Iterable[Level],
    asks: Iterable[Level],
    min_order_size: str,
    tick_size: str,
    neg_risk: bool,
    last_trade_price: str,
) -> str:
    """Hex SHA-1 of a book; ``bids`` ascending and ``asks`` descending (wire order)."""
    body = {
        "market": market,
        "asset_id": asset_id,
        "timestamp": timestamp,
        "hash": "",
        "bids": [{"price": format_fixed(p), "size": format_fixed(s)} for p, s in bids],
        "asks": [{"price": format_fixed(p), "size": format_fixed(s)} for p, s in asks],
        "min_order_size": min_order_size,
        "tick_size": tick_size,
        "neg_risk": neg_risk,
        "last_trade_price": last_trade_price,
    }
    return hashlib.sha1(compact(body).encode()).hexdigest()
