"""Multi-leg execution and leg risk: turn an accepted opportunity into orders, then unwind or hold.

A basket (a binary complete set, or every YES/NO of a neg-risk event) only
locks its edge when every leg fills the same number of shares. Whatever one
leg got beyond the smallest leg is naked exposure; the profile's
``execution.leg_failure`` says whether to sell it back into the book at
arrival (``unwind``, the loss is booked by the ledger from the unwind fills)
or keep it until resolution (``hold``). An unwind never gives up more than
``execution.max_unwind_slippage`` per share against the leg's own average
fill: what the book does not take within that bound is held, not dumped.
Order ids derive from the decision id, so a replay produces the same ids.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec

from polyarb.execution.orders import (
    FILLED,
    KILLED,
    PARTIAL,
    Fill,
    Order,
    OrderResult,
    OrderType,
    Side,
)
from polyarb.execution.venue import MIN_MARKETABLE_NOTIONAL
from polyarb.units import SCALE

LegFailure: TypeAlias = Literal["unwind", "hold"]
BasketStatus: TypeAlias = Literal["complete", "unwound", "held", "failed"]


class Leg(msgspec.Struct, frozen=True):
    """One leg of an opportunity: shares of one asset at a worst price."""

    market: str
    asset_id: str
    side: Side
    size: int
    limit_price: int
    ref_price: int = 0
    """Best price seen by the detector (for the risk slippage check); 0 = unknown."""


class Residual(msgspec.Struct, frozen=True):
    """Shares of one asset left outside complete sets after a leg failure."""

    market: str
    asset_id: str
    side: Side
    """Side of the original leg (BUY: we hold them; SELL: we sold them short of a set)."""
    size: int


class BasketOutcome(msgspec.Struct, frozen=True):
    """How a basket ended.

    ``status``: ``complete`` (every leg filled), ``failed`` (a leg failed and
    nothing was left to unwind or hold), ``unwound`` (residuals sent back
    to the book, all of them filled), ``held`` (some residual is kept).
    ``leg_failed`` is what the circuit breaker counts.
    """

    decision_id: str
    status: BasketStatus
    leg_failed: bool
    matched_size: int
    """Shares per leg that form complete baskets."""
    held: tuple[Residual, ...]
    """What remains naked after the policy ran (empty when complete or fully unwound)."""
    unwind_pnl: int
    """Round trip of the unwound shares: unwind proceeds minus their leg cost minus the fees of
    both (micro; usually < 0). The ledger books the same loss from the fills."""


def is_dust(size: int) -> bool:
    """Shares too few for any marketable order: under $1 even at the highest price.

    The exchange refuses a marketable order below $1 of notional
    (docs/protocol.md §Minimum sizes), so such a residual cannot be unwound; it
    stays a position.
    """
    return size * (SCALE - 1) // SCALE < MIN_MARKETABLE_NOTIONAL


class BasketExecution:
    """Coordinates one opportunity's legs: :meth:`orders`, then feed back :meth:`on_result`."""

    def __init__(
        self,
        decision_id: str,
        legs: list[Leg] | tuple[Leg, ...],
        order_type: OrderType,
        leg_failure: LegFailure,
        seq: int,
        *,
        max_unwind_slippage: int = SCALE,
    ) -> None:
        """``max_unwind_slippage``: per-share price an unwind may give up (micro; SCALE = any)."""
        if not legs:
            raise ValueError("a basket needs at least one leg")
        if leg_failure not in ("unwind", "hold"):
            raise ValueError(f"leg_failure must be unwind or hold, got {leg_failure!r}")
        self.decision_id = decision_id
        self.legs = tuple(legs)
        self.order_type: OrderType = order_type
        self.leg_failure: LegFailure = leg_failure
        self.seq = seq
        if max_unwind_slippage < 0:
            raise ValueError(f"max_unwind_slippage must be >= 0, got {max_unwind_slippage}")
        self.max_unwind_slippage = max_unwind_slippage
        self._leg_results: dict[int, OrderResult] = {}
        self._unwinds: dict[str, tuple[Order, int]] = {}  # order id → (order, leg index)
        self._unwind_results: dict[str, OrderResult] = {}
        self._outcome: BasketOutcome | None = None
        self.reversals = 0
        """Fills of this basket the exchange FAILED after they matched (:meth:`reverse`)."""
        self._rebalance_due = False
        """A fill was reversed while unwinds were out: look again when they report."""

    def orders(self) -> list[Order]:
        """The leg orders, ids ``<decision_id>/L<i>``, to submit at decision time."""
        return [
            Order(
                order_id=f"{self.decision_id}/L{i}",
                decision_id=self.decision_id,
                market=leg.market,
                asset_id=leg.asset_id,
                side=leg.side,
                size=leg.size,
                limit_price=leg.limit_price,
                order_type=self.order_type,
                seq=self.seq,
            )
            for i, leg in enumerate(self.legs)
        ]

    @property
    def outcome(self) -> BasketOutcome | None:
        """The final outcome once every leg (and unwind) has reported, else None."""
        return self._outcome

    @property
    def done(self) -> bool:
        """True once :attr:`outcome` is known."""
        return self._outcome is not None

    def on_result(self, result: OrderResult, seq: int) -> list[Order]:
        """Record one venue result; returns unwind orders to submit (possibly none).

        ``seq`` is the frame seq at which the engine learned the result (the
        unwind orders carry it). Results of other baskets raise ``KeyError``.
        """
        oid = result.order.order_id
        if oid in self._unwinds:
            self._unwind_results[oid] = result
            if len(self._unwind_results) == len(self._unwinds):
                if self._rebalance_due:
                    self._rebalance_due = False
                    return self._rebalance(seq)
                self._finish_unwind()
            return []
        prefix = f"{self.decision_id}/L"
        if not oid.startswith(prefix):
            raise KeyError(f"order {oid} does not belong to basket {self.decision_id}")
        self._leg_results[int(oid[len(prefix) :])] = result
        if len(self._leg_results) < len(self.legs):
            return []
        return self._legs_done(seq)

    def owns(self, order_id: str) -> bool:
        """True when ``order_id`` is one of this basket's legs or unwinds."""
        return order_id in self._unwinds or order_id.startswith(f"{self.decision_id}/L")

    def reverse(self, fill: Fill, seq: int) -> list[Order]:
        """The exchange FAILED ``fill`` after it matched: take it out, then apply the leg policy.

        The fill's order result loses it (a leg no longer filled is a failed leg).
        While legs are still out, nothing else happens: their results decide as
        usual. Once every leg and unwind has reported (the basket may have been
        complete), the shares each leg holds net of its unwinds are compared
        again; what exceeds the smallest leg is unwound (``unwind``, order ids
        ``<decision_id>/R<n>U<i>``, same slippage bound) or held (``hold``),
        exactly as a leg that had failed at once. Returns the orders to submit.
        """
        oid = fill.order_id
        if oid in self._unwinds:
            result = self._unwind_results.get(oid)
            kept = self._without(result, fill)
            if result is None or kept is None:
                return []
            self._unwind_results[oid] = kept
        else:
            index = int(oid[len(self.decision_id) + 2 :])
            result = self._leg_results.get(index)
            kept = self._without(result, fill)
            if result is None or kept is None:
                return []
            self._leg_results[index] = kept
        self.reversals += 1
        if len(self._leg_results) < len(self.legs):
            return []  # legs still out: their results decide (this leg has failed now)
        if len(self._unwind_results) < len(self._unwinds):
            self._rebalance_due = True
            return []
        return self._rebalance(seq)

    # --- internals ---------------------------------------------------------

    @staticmethod
    def _without(result: OrderResult | None, fill: Fill) -> OrderResult | None:
        """``result`` without ``fill`` (no longer ``filled``), or None if it did not hold it."""
        if result is None:
            return None
        kept = tuple(f for f in result.fills if f.fill_id != fill.fill_id)
        if len(kept) == len(result.fills):
            return None
        return msgspec.structs.replace(
            result, fills=kept, status=PARTIAL if kept else KILLED, reason="trade_failed"
        )

    def _net(self) -> list[int]:
        """Shares each leg holds (BUY legs) or sold (SELL legs) net of its unwinds so far."""
        net = [self._leg_results[i].filled_size for i in range(len(self.legs))]
        for oid, (_order, i) in self._unwinds.items():
            res = self._unwind_results.get(oid)
            if res is not None:
                net[i] -= res.filled_size
        return net

    def _rebalance(self, seq: int) -> list[Order]:
        net = self._net()
        matched = max(0, min(net))
        excess = [(i, n - matched) for i, n in enumerate(net) if n > matched]
        if self._unwinds and (not excess or self.leg_failure == "hold"):
            self._finish_unwind()
            return []
        if not excess:
            self._outcome = BasketOutcome(self.decision_id, "failed", True, matched, (), 0)
            return []
        if self.leg_failure == "hold":
            self._outcome = BasketOutcome(
                self.decision_id, "held", True, matched, self._held(excess), 0
            )
            return []
        self._outcome = None  # in flight again until the new unwinds report
        return self._unwind_orders(excess, seq, f"R{self.reversals}U")

    def _matched(self) -> int:
        return min(r.filled_size for r in self._leg_results.values())

    def _residuals(self) -> list[tuple[int, int]]:
        matched = self._matched()
        return [
            (i, self._leg_results[i].filled_size - matched)
            for i in range(len(self.legs))
            if self._leg_results[i].filled_size > matched
        ]

    def _legs_done(self, seq: int) -> list[Order]:
        failed = any(r.status != FILLED for r in self._leg_results.values())
        residuals = self._residuals()
        if not failed or not residuals:
            status: BasketStatus = "failed" if failed else "complete"
            self._outcome = BasketOutcome(self.decision_id, status, failed, self._matched(), (), 0)
            return []
        if self.leg_failure == "hold":
            self._outcome = BasketOutcome(
                self.decision_id, "held", True, self._matched(), self._held(residuals), 0
            )
            return []
        return self._unwind_orders(residuals, seq, "U")

    def _unwind_orders(self, residuals: list[tuple[int, int]], seq: int, tag: str) -> list[Order]:
        """Unwind orders for the residuals; dust (:func:`is_dust`) stays held, unsent."""
        if all(is_dust(excess) for _, excess in residuals):
            matched = max(0, min(self._net()))
            self._outcome = BasketOutcome(
                self.decision_id, "held", True, matched, self._held(residuals), 0
            )
            return []
        orders = []
        for i, excess in residuals:
            if is_dust(excess):
                continue  # no order can sell it: held, and reported with the basket's residuals
            leg = self.legs[i]
            back: Side = "SELL" if leg.side == "BUY" else "BUY"
            limit = self._unwind_limit(self._leg_results[i], back, excess)
            order = Order(
                order_id=f"{self.decision_id}/{tag}{i}",
                decision_id=self.decision_id,
                market=leg.market,
                asset_id=leg.asset_id,
                side=back,
                size=excess,
                limit_price=limit,
                order_type="FAK",
                seq=seq,
            )
            self._unwinds[order.order_id] = (order, i)
            orders.append(order)
        return orders

    def _unwind_limit(self, leg: OrderResult, back: Side, size: int) -> int:
        """The worst price an unwind of ``size`` shares of ``leg`` accepts.

        The leg's average fill moved by at most ``max_unwind_slippage``
        (clamped to the price range). A SELL's limit is also raised to what
        reaches the venue's $1 minimum at its limit: tighter than the bound,
        so still within it, and an order the venue accepts.
        """
        if not leg.filled_size:
            return 1 if back == "SELL" else SCALE - 1  # unreachable: an unwind needs shares held
        avg = leg.cash * SCALE // leg.filled_size
        if back == "SELL":
            floor_for_notional = -(-MIN_MARKETABLE_NOTIONAL * SCALE // size)
            return max(1, avg - self.max_unwind_slippage, floor_for_notional)
        return min(SCALE - 1, avg + self.max_unwind_slippage)

    def _held(self, residuals: list[tuple[int, int]]) -> tuple[Residual, ...]:
        return tuple(
            Residual(self.legs[i].market, self.legs[i].asset_id, self.legs[i].side, size)
            for i, size in residuals
            if size > 0
        )

    def _finish_unwind(self) -> None:
        pnl = 0
        for oid, (order, i) in self._unwinds.items():
            res = self._unwind_results[oid]
            leg_res = self._leg_results[i]
            got = res.filled_size
            # Pro-rata cost of the unwound shares at the leg's own fill prices.
            leg_cost = leg_res.cash * got // leg_res.filled_size if leg_res.filled_size else 0
            leg_fees = leg_res.fees * got // leg_res.filled_size if leg_res.filled_size else 0
            sign = 1 if order.side == "SELL" else -1
            pnl += sign * (res.cash - leg_cost) - res.fees - leg_fees
        # What is left naked: each leg's shares net of every unwind, above the smallest leg
        # (after a reversal the smallest leg may be smaller than at first).
        net = self._net()
        matched = max(0, min(net))
        held = self._held([(i, n - matched) for i, n in enumerate(net)])
        status: BasketStatus = "held" if held else "unwound"
        self._outcome = BasketOutcome(self.decision_id, status, True, matched, held, pnl)
