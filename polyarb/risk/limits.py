"""Pre-trade risk checks from the profile: every verdict is a record with a stable reason code.

Checks run in a fixed order and the first failure names the verdict, so a
replay always reports the same reason (docs/execution.md §Risk). Daily loss is realised +
marked PnL since the start of the UTC day of the engine's (frame) time (the
run's first day starts at zero PnL); once it reaches the limit, unwind losses
included, new trades stop until the next UTC day even if marks recover.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from polyarb.config.profile import Profile, RiskLimits, micro
from polyarb.execution.basket import Leg
from polyarb.execution.venue import MIN_MARKETABLE_NOTIONAL
from polyarb.risk.breaker import BreakerEvent, CircuitBreaker
from polyarb.units import mul, mul_ceil

NS_PER_DAY = 86_400 * 10**9

OK = "ok"
REASONS = (
    OK,
    "halted",
    "breaker_open",
    "unverified_book",
    "stale_book",
    "edge_below_min",
    "size_above_limit",
    "below_min_notional",
    "slippage",
    "insufficient_position",
    "position_limit_market",
    "position_limit_total",
    "daily_loss_limit",
)
"""Every reason code :meth:`RiskManager.check` can return, in the order checks run.

The engine adds ``in_flight`` before any of these (the same mispricing is already being
traded) and gives ``halted`` itself while a halting alert stops new trades.
"""


class RiskVerdict(msgspec.Struct, frozen=True):
    """Accept or reject, with a stable ``reason`` code and the numbers behind it."""

    accept: bool
    reason: str
    detail: dict[str, Any] = msgspec.field(default_factory=dict)

    def detail_json(self) -> str:
        """Canonical JSON (sorted keys) for the ``detail`` column of the decisions table."""
        return json.dumps(self.detail, sort_keys=True, separators=(",", ":"))


class PositionView(Protocol):
    """What risk reads of the account (:class:`polyarb.ledger.Ledger` provides it)."""

    def exposure(self, market: str) -> int: ...

    def total_exposure(self) -> int: ...

    def total_pnl(self) -> int: ...

    def position(self, asset_id: str) -> int: ...


class RiskManager:
    """Pre-trade checks plus the circuit breaker and the UTC-day loss baseline."""

    def __init__(
        self,
        limits: RiskLimits,
        breaker: CircuitBreaker,
        *,
        min_buy_notional: int = MIN_MARKETABLE_NOTIONAL,
    ) -> None:
        self.limits = limits
        # The venue rejects a marketable order under $1 at its limit, BUY or SELL
        # (docs/protocol.md §Minimum sizes); a basket whose legs cannot each reach it is
        # refused here, not sent to fail leg by leg.
        self.min_buy_notional = min_buy_notional
        self.breaker = breaker
        self.trade_size = micro(limits.trade_size_usd)
        self.max_market = micro(limits.max_position_per_market_usd)
        self.max_total = micro(limits.max_total_position_usd)
        self.max_daily_loss = micro(limits.max_daily_loss_usd)
        self.max_slippage = micro(limits.max_slippage)
        self.min_edge = micro(limits.min_edge)
        self._day: int | None = None
        self._day_start_pnl = 0
        self._loss_hit = False

    @classmethod
    def from_profile(cls, profile: Profile) -> RiskManager:
        """Limits and a breaker (threshold, cool-down) from ``profile.risk``."""
        r = profile.risk
        return cls(r, CircuitBreaker(r.consecutive_failures, r.breaker_cooldown_s * 10**9))

    def on_tick(self, now_ns: int, positions: PositionView) -> BreakerEvent | None:
        """Tick-row timers: roll the UTC day and evaluate the breaker cool-down."""
        self._roll_day(now_ns, positions)
        return self.breaker.on_tick(now_ns)

    def note_pnl(self, now_ns: int, positions: PositionView) -> bool:
        """Check the daily loss now (after a loss was booked); True when the limit is first hit."""
        if self._loss_hit or -self.daily_pnl(now_ns, positions) < self.max_daily_loss:
            return False
        self._loss_hit = True
        return True

    def daily_pnl(self, now_ns: int, positions: PositionView) -> int:
        """Realised + marked PnL since the start of the UTC day of ``now_ns``."""
        self._roll_day(now_ns, positions)
        return positions.total_pnl() - self._day_start_pnl

    def check(
        self,
        legs: Sequence[Leg],
        edge: int,
        now_ns: int,
        positions: PositionView,
        *,
        stale: Collection[str] = (),
        unverified: Collection[str] = (),
        cost: int | None = None,
        split_first: bool = False,
        in_flight: Mapping[str, int] | None = None,
    ) -> RiskVerdict:
        """Verdict for trading ``legs`` with ``edge`` per share after fees (micro).

        ``stale``/``unverified`` are the asset ids whose books the engine
        considers stale or unverified (hash mismatch, crossed, new tick epoch).
        ``cost`` is the cash the trade ties up as the detector sized it (fees
        included; the split collateral of a SELL basket); by default the
        worst case, BUY legs at their limits plus any split. ``split_first`` says SELL
        legs will be covered by splitting collateral into sets first, so they
        need no inventory and the split counts as exposure. ``in_flight`` is the cost, by
        market, of orders already sent and not yet answered (BUY at their limits): the
        position limits count it, so baskets decided before any fill cannot exceed them
        together.
        """
        if self.breaker.halted:
            return _no("halted", why=self.breaker.halt_reason or "")
        if self.breaker.is_open:
            return _no(
                "breaker_open",
                failures=self.breaker.failures,
                opened_ns=self.breaker.opened_ns or 0,
            )
        assets = [leg.asset_id for leg in legs]
        bad = sorted(a for a in assets if a in unverified)
        if bad:
            return _no("unverified_book", assets=bad)
        bad = sorted(a for a in assets if a in stale)
        if bad:
            return _no("stale_book", assets=bad)
        if edge < self.min_edge:
            return _no("edge_below_min", edge=edge, min_edge=self.min_edge)
        added = _exposure_added(legs, split_first)
        if cost is None:
            cost = sum(added.values())
        if cost > self.trade_size:
            return _no("size_above_limit", cost=cost, limit=self.trade_size)
        for leg in legs:
            if mul(leg.limit_price, leg.size) < self.min_buy_notional:
                return _no(
                    "below_min_notional",
                    asset=leg.asset_id,
                    notional=mul(leg.limit_price, leg.size),
                    minimum=self.min_buy_notional,
                )
        for leg in legs:
            if leg.ref_price:
                slip = (
                    leg.limit_price - leg.ref_price
                    if leg.side == "BUY"
                    else leg.ref_price - leg.limit_price
                )
                if slip > self.max_slippage:
                    return _no(
                        "slippage", asset=leg.asset_id, slippage=slip, limit=self.max_slippage
                    )
        for leg in () if split_first else legs:
            if leg.side == "SELL" and positions.position(leg.asset_id) < leg.size:
                return _no(
                    "insufficient_position",
                    asset=leg.asset_id,
                    size=leg.size,
                    held=positions.position(leg.asset_id),
                )
        pending = in_flight or {}
        for market in sorted(added):
            after = positions.exposure(market) + pending.get(market, 0) + added[market]
            if after > self.max_market:
                return _no(
                    "position_limit_market",
                    market=market,
                    exposure=after,
                    in_flight=pending.get(market, 0),
                    limit=self.max_market,
                )
        total = positions.total_exposure() + sum(pending.values()) + sum(added.values())
        if total > self.max_total:
            return _no(
                "position_limit_total",
                exposure=total,
                in_flight=sum(pending.values()),
                limit=self.max_total,
            )
        day_pnl = self.daily_pnl(now_ns, positions)
        if self._loss_hit or -day_pnl >= self.max_daily_loss:
            self._loss_hit = True
            return _no("daily_loss_limit", daily_pnl=day_pnl, limit=self.max_daily_loss)
        return RiskVerdict(True, OK, {"cost": cost, "edge": edge, "daily_pnl": day_pnl})

    def _roll_day(self, now_ns: int, positions: PositionView) -> None:
        day = now_ns // NS_PER_DAY
        if day != self._day:
            # The run's first day counts from the run's start (PnL 0), not from the first
            # check: a loss booked before any tick or check still counts.
            if self._day is not None:
                self._day_start_pnl = positions.total_pnl()
                self._loss_hit = False
            self._day = day


def _exposure_added(legs: Sequence[Leg], split_first: bool) -> dict[str, int]:
    """Cost basis each market gains if every leg fills at its limit."""
    added: dict[str, int] = {}
    for leg in legs:
        if leg.side == "BUY":
            added[leg.market] = added.get(leg.market, 0) + mul_ceil(leg.limit_price, leg.size)
        elif split_first:
            # One split of ``size`` sets per market, whatever the number of its SELL legs.
            added[leg.market] = max(added.get(leg.market, 0), leg.size)
    return added


def _no(reason: str, **detail: Any) -> RiskVerdict:
    return RiskVerdict(False, reason, detail)
