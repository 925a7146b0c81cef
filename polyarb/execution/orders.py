"""Orders, fills and order results: the records the venue, ledger and run tables share.

All prices, sizes, cash and fees are ints in micro units. Sizes are in
**shares** for both sides: arbitrage legs are sized in equal shares
(docs/protocol.md §Mirrored books), so a BUY carries a share count and a limit
price rather than Polymarket's dollar-sized market BUY.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

from polyarb.units import mul, mul_ceil

Side: TypeAlias = Literal["BUY", "SELL"]
OrderType: TypeAlias = Literal["FOK", "FAK"]
Status: TypeAlias = Literal["filled", "partial", "killed", "rejected"]

FILLED: Status = "filled"
PARTIAL: Status = "partial"
KILLED: Status = "killed"
REJECTED: Status = "rejected"


class Order(msgspec.Struct, frozen=True):
    """A marketable limit order as decided by the engine (before tick/size rounding)."""

    order_id: str
    decision_id: str
    market: str
    """Condition id of the asset's market (the venue reads its tick, sizes and fees)."""
    asset_id: str
    side: Side
    size: int
    """Shares (micro)."""
    limit_price: int
    """Worst price accepted (micro): highest for a BUY, lowest for a SELL."""
    order_type: OrderType = "FOK"
    seq: int = 0
    """Frame seq of the decision that created the order."""


class Fill(msgspec.Struct, frozen=True):
    """One taker fill against one price level."""

    fill_id: str
    order_id: str
    market: str
    asset_id: str
    side: Side
    price: int
    size: int
    fee: int
    ts_ns: int
    seq: int

    @property
    def cash(self) -> int:
        """Cash leaving (BUY, positive) or entering (SELL) the account before the fee.

        A buyer's notional is rounded up and a seller's down, so rounding never
        favours us; on the tick grid with 2-decimal sizes both are exact.
        """
        return mul_ceil(self.price, self.size) if self.side == "BUY" else mul(self.price, self.size)

    def row(self, simulated: bool = True) -> dict[str, Any]:
        """A row of the ``fills`` table (:data:`polyarb.runs.schema.FILLS`)."""
        return {
            "fill_id": self.fill_id,
            "order_id": self.order_id,
            "seq": self.seq,
            "ts_ns": self.ts_ns,
            "market": self.market,
            "asset_id": self.asset_id,
            "side": self.side,
            "price": self.price,
            "size": self.size,
            "fee": self.fee,
            "simulated": simulated,
        }


class OrderResult(msgspec.Struct, frozen=True):
    """What became of an order at the venue: its fills, status and reason code.

    Reason codes: ``ok`` (filled), ``partial_liquidity`` (FAK remainder
    cancelled), ``insufficient_liquidity`` (FOK killed / FAK found nothing),
    and rejections ``unknown_market``, ``market_closed``, ``size_not_positive``,
    ``price_out_of_range``, ``below_min_size``, ``below_min_notional``.
    """

    order: Order
    status: Status
    reason: str
    submit_ns: int
    arrive_ns: int
    seq: int
    """Frame seq at which the venue processed the order."""
    limit_price: int
    """The limit after tick rounding (toward the conservative side)."""
    size: int
    """The size after rounding to the size grid."""
    fills: tuple[Fill, ...] = ()
    answered_ns: int | None = None
    """Receive time of the exchange's answer row (live venues; None when simulated):
    the real latency a calibration row compares with the model's."""

    @property
    def filled_size(self) -> int:
        """Shares filled in total."""
        return sum(f.size for f in self.fills)

    @property
    def fees(self) -> int:
        """Fees paid on all fills."""
        return sum(f.fee for f in self.fills)

    @property
    def cash(self) -> int:
        """Notional of all fills (before fees)."""
        return sum(f.cash for f in self.fills)

    @property
    def complete(self) -> bool:
        """True when the whole (rounded) size filled."""
        return self.status == FILLED

    def row(self, simulated: bool = True) -> dict[str, Any]:
        """A row of the ``orders`` table (:data:`polyarb.runs.schema.ORDERS`)."""
        o = self.order
        return {
            "order_id": o.order_id,
            "decision_id": o.decision_id,
            "seq": o.seq,
            "submit_ns": self.submit_ns,
            "arrive_ns": self.arrive_ns,
            "market": o.market,
            "asset_id": o.asset_id,
            "side": o.side,
            "order_type": o.order_type,
            "limit_price": self.limit_price,
            "size": self.size,
            "filled_size": self.filled_size,
            "status": self.status,
            "reason": self.reason,
            "simulated": simulated,
        }


class UserUpdate:
    """What one ``user`` row changed: finished orders, and fills the exchange undid (FAILED)."""

    __slots__ = ("carried", "notes", "results", "reversed")

    def __init__(
        self,
        results: list[OrderResult] | None = None,
        reversed_fills: list[Fill] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.results: list[OrderResult] = results or []
        self.reversed: list[Fill] = reversed_fills or []
        self.notes: list[str] = notes or []
        """One-line log messages (status changes, reconciliation, faults seen)."""
        self.carried: list[Carry] = []
        """Positions the startup reconciliation found and a previous run's ledger held."""


class Carry(msgspec.Struct, frozen=True):
    """Shares held at a live run's start, as the previous live run's ledger booked them."""

    market: str
    asset_id: str
    size: int
    cost: int
    """Their cost basis (micro pUSD) in that ledger."""
