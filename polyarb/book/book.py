"""One token's L2 book, rebuilt from ``book`` snapshots and ``price_change`` levels.

Rules from docs/protocol.md §Message shapes and §Feed pitfalls: a snapshot replaces both sides;
a level change sets the absolute size and ``0`` deletes; a tick-size change
starts a new epoch in which nothing is known until the next snapshot. The
book itself knows nothing of event boundaries, staleness or trading: the
engine decides when its state may be trusted (:mod:`polyarb.engine.books`).
"""

from __future__ import annotations

from polyarb.events import BUY, Level
from polyarb.protocol.book_hash import book_hash
from polyarb.units import format_fixed


class OrderBook:
    """Bids and asks of one asset as ``{price: size}`` with sorted views cached.

    ``synced`` is False until the first snapshot of the current epoch;
    ``verified`` drops to False on a hash mismatch and comes back with the
    next snapshot. ``ts_ms`` is the exchange time of the last update.
    """

    __slots__ = (
        "_asks_sorted",
        "_bids_sorted",
        "asks",
        "asset_id",
        "bids",
        "epoch",
        "last_trade_text",
        "market",
        "synced",
        "tick_size",
        "ts_ms",
        "verified",
    )

    def __init__(self, asset_id: str, market: str, tick_size: int) -> None:
        self.asset_id = asset_id
        self.market = market
        self.tick_size = tick_size
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.ts_ms = 0
        self.epoch = 0
        self.synced = False
        self.verified = True
        self.last_trade_text = ""
        self._bids_sorted: list[Level] | None = None
        self._asks_sorted: list[Level] | None = None

    # -- updates ---------------------------------------------------------------------

    def apply_snapshot(
        self,
        bids: tuple[Level, ...],
        asks: tuple[Level, ...],
        ts_ms: int,
        tick_size: int | None = None,
        last_trade_text: str | None = None,
    ) -> None:
        """Replace both sides; the book is synced and verified again."""
        # Zero-size levels never appear on the wire, but a snapshot must not smuggle one in.
        self.bids = {p: s for p, s in bids if s}
        self.asks = {p: s for p, s in asks if s}
        self._bids_sorted = self._asks_sorted = None
        self.ts_ms = ts_ms
        if tick_size is not None:
            self.tick_size = tick_size
        if last_trade_text is not None:
            self.last_trade_text = last_trade_text
        self.synced = True
        self.verified = True

    def apply_level(self, side: str, price: int, size: int, ts_ms: int) -> None:
        """Set one level to an absolute size; ``0`` deletes it."""
        levels = self.bids if side == BUY else self.asks
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)
        if side == BUY:
            self._bids_sorted = None
        else:
            self._asks_sorted = None
        self.ts_ms = ts_ms

    def new_epoch(self, tick_size: int) -> None:
        """A tick-size change: the old levels may be off-grid, so forget them until a snapshot."""
        self.tick_size = tick_size
        self.clear()
        self.epoch += 1

    def clear(self) -> None:
        """Drop all levels (disconnect, gap, epoch): untradable until the next snapshot."""
        self.bids = {}
        self.asks = {}
        self._bids_sorted = self._asks_sorted = None
        self.synced = False

    # -- views -----------------------------------------------------------------------

    def best_bid(self) -> int | None:
        return max(self.bids) if self.bids else None

    def best_ask(self) -> int | None:
        return min(self.asks) if self.asks else None

    def crossed(self) -> bool:
        """Best bid at or above best ask: inconsistent (a matching engine would have traded)."""
        if not self.bids or not self.asks:
            return False
        return max(self.bids) >= min(self.asks)

    def bids_best_first(self) -> list[Level]:
        """Bids from the highest price down (the order a seller walks them)."""
        if self._bids_sorted is None:
            self._bids_sorted = sorted(self.bids.items(), reverse=True)
        return self._bids_sorted

    def asks_best_first(self) -> list[Level]:
        """Asks from the lowest price up (the order a buyer walks them)."""
        if self._asks_sorted is None:
            self._asks_sorted = sorted(self.asks.items())
        return self._asks_sorted

    def wire_bids(self) -> list[Level]:
        """Bids ascending, as the wire and the hash list them (best last)."""
        return self.bids_best_first()[::-1]

    def wire_asks(self) -> list[Level]:
        """Asks descending, as the wire and the hash list them (best last)."""
        return self.asks_best_first()[::-1]

    def hash(self, timestamp_ms: int, *, min_order_size: int, neg_risk: bool) -> str:
        """The exchange's hash of this state (metadata fields the wire omits come from the caller)."""
        return book_hash(
            market=self.market,
            asset_id=self.asset_id,
            timestamp=str(timestamp_ms),
            bids=self.wire_bids(),
            asks=self.wire_asks(),
            min_order_size=format_fixed(min_order_size),
            tick_size=format_fixed(self.tick_size),
            neg_risk=neg_risk,
            last_trade_price=self.last_trade_text,
        )
