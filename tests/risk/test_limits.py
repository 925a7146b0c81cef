"""Pre-trade checks: every reason code is reachable and every verdict carries its numbers."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from polyarb.config.profile import Profile, RiskLimits
from polyarb.execution.basket import Leg
from polyarb.execution.orders import Fill
from polyarb.ledger import Ledger
from polyarb.risk import REASONS, CircuitBreaker, RiskManager, RiskVerdict

SH = 1_000_000
DAY = 86_400 * 10**9
T0 = int(dt.datetime(2026, 9, 29, 12, tzinfo=dt.UTC).timestamp()) * 10**9


def manager(min_buy_notional: int = 0, **limits: object) -> RiskManager:
    # Most cases use legs under $1 to keep the numbers small; the venue minimum has its own case.
    return RiskManager(
        RiskLimits(**limits),  # type: ignore[arg-type]
        CircuitBreaker(3, 300 * 10**9),
        min_buy_notional=min_buy_notional,
    )


def legs(size: int = 2 * SH, yes: int = 480_000, no: int = 500_000) -> list[Leg]:
    return [Leg("m", "yes", "BUY", size, yes, yes), Leg("m", "no", "BUY", size, no, no)]


def buy(led: Ledger, market: str, asset: str, price: int, size: int) -> None:
    led.apply_fill(Fill("f", "o", market, asset, "BUY", price, size, 0, 0, 0))


def test_ok_verdict_is_a_record_with_numbers() -> None:
    v = manager().check(legs(), 10_000, T0, Ledger())
    assert v == RiskVerdict(True, "ok", {"cost": 1_960_000, "edge": 10_000, "daily_pnl": 0})
    assert json.loads(v.detail_json()) == v.detail


def test_every_reason_code_is_reachable() -> None:
    seen: dict[str, RiskVerdict] = {}

    def check(
        rm: RiskManager,
        led: Ledger,
        lg: list[Leg] | None = None,
        edge: int = 10_000,
        now: int = T0,
        **health: frozenset[str],
    ) -> None:
        v = rm.check(lg if lg is not None else legs(), edge, now, led, **health)
        assert v.reason in REASONS and v.accept == (v.reason == "ok")
        seen[v.reason] = v

    check(manager(), Ledger())
    halted = manager()
    halted.breaker.halt("CRITICAL feed_down")
    check(halted, Ledger())
    tripped = manager()
    for t in range(3):
        tripped.breaker.record_failure(T0 + t)
    check(tripped, Ledger())
    check(manager(), Ledger(), unverified=frozenset({"no"}), stale=frozenset({"no"}))
    check(manager(), Ledger(), stale=frozenset({"yes"}))
    check(manager(), Ledger(), edge=4_999)
    check(manager(), Ledger(), legs(size=3 * SH))
    check(manager(min_buy_notional=SH), Ledger())  # 2 shares at 0.48 is $0.96 < $1
    slipped = [
        Leg("m", "yes", "BUY", SH, 500_000, 480_000),
        Leg("m", "no", "BUY", SH, 500_000, 500_000),
    ]
    check(manager(max_slippage=Decimal("0.01")), Ledger(), slipped)
    check(manager(), Ledger(), [Leg("m", "yes", "SELL", SH, 500_000)])
    full = Ledger()
    buy(full, "m", "yes", 500_000, 38 * SH)  # $19 of a $20 market limit
    check(manager(), full)
    spread = Ledger()
    for i in range(10):
        buy(spread, f"x{i}", f"t{i}", 500_000, 2 * 9_900_000)  # $99 over other markets
    check(manager(), spread)
    losing = Ledger()
    rm = manager()
    buy(losing, "other", "z", 500_000, 30 * SH)
    assert rm.check(legs(), 10_000, T0, losing).accept  # the day's baseline is taken here
    losing.mark({"z": 160_000})  # −$10.20 marked since the baseline
    check(rm, losing, now=T0 + 60 * 10**9)
    assert set(seen) == set(REASONS)
    assert seen["breaker_open"].detail == {"failures": 3, "opened_ns": T0 + 2}
    assert seen["unverified_book"].detail == {"assets": ["no"]}  # unverified outranks stale
    assert seen["slippage"].detail == {"asset": "yes", "slippage": 20_000, "limit": 10_000}
    assert seen["size_above_limit"].detail == {"cost": 2_940_000, "limit": 2_000_000}
    assert seen["below_min_notional"].detail == {"asset": "yes", "notional": 960_000, "minimum": SH}
    assert seen["position_limit_market"].detail["exposure"] == 19 * SH + 1_960_000
    assert seen["daily_loss_limit"].detail == {"daily_pnl": -10_200_000, "limit": 10_000_000}


def test_daily_loss_baseline_rolls_at_the_utc_date_of_frame_time() -> None:
    rm = manager()
    led = Ledger()
    buy(led, "other", "z", 500_000, 30 * SH)
    midnight = (T0 // DAY + 1) * DAY
    rm.on_tick(midnight - 1, led)
    led.mark({"z": 160_000})
    assert rm.check(legs(), 10_000, midnight - 1, led).reason == "daily_loss_limit"
    # A tick in the new UTC day takes a new baseline: yesterday's loss no longer counts.
    rm.on_tick(midnight, led)
    assert rm.daily_pnl(midnight, led) == 0
    assert rm.check(legs(), 10_000, midnight + 1, led).accept


def test_breaker_cooldown_through_the_manager_tick() -> None:
    rm = RiskManager.from_profile(
        Profile(name="t", risk=RiskLimits(consecutive_failures=1, breaker_cooldown_s=5))
    )
    led = Ledger()
    assert rm.breaker.record_failure(T0) == "opened"
    assert rm.check(legs(), 10_000, T0 + 10 * 10**9, led).reason == "breaker_open"  # no tick yet
    assert rm.on_tick(T0 + 4 * 10**9, led) is None
    assert rm.on_tick(T0 + 5 * 10**9, led) == "closed"
    ok_legs = legs(yes=500_000)  # $1.00 a leg: the venue minimum from the profile's manager
    assert rm.check(ok_legs, 10_000, T0 + 5 * 10**9, led).accept


def test_detector_cost_and_split_first_sell_baskets() -> None:
    rm, led = manager(), Ledger()
    walked = legs(size=2 * SH, yes=490_000, no=510_000)  # worst case 2.00 at the limits
    assert rm.check(walked, 10_000, T0, led).accept
    assert rm.check(walked, 10_000, T0, led, cost=2_000_001).reason == "size_above_limit"
    sell = [Leg("m", "yes", "SELL", 2 * SH, 520_000), Leg("m", "no", "SELL", 2 * SH, 500_000)]
    assert rm.check(sell, 10_000, T0, led).reason == "insufficient_position"
    v = rm.check(sell, 10_000, T0, led, cost=2 * SH, split_first=True)
    assert v.accept and v.detail["cost"] == 2 * SH
    buy(led, "m", "yes", 500_000, 36 * SH)  # $18 in the market: a $2 split still fits, $3 not
    assert rm.check(sell, 10_000, T0, led, cost=2 * SH, split_first=True).accept
    big = [Leg("m", "yes", "SELL", 3 * SH, 520_000), Leg("m", "no", "SELL", 3 * SH, 500_000)]
    over = manager(trade_size_usd=Decimal("5")).check(
        big, 10_000, T0, led, cost=3 * SH, split_first=True
    )
    assert over.reason == "position_limit_market" and over.detail["exposure"] == 21 * SH


def test_unwind_loss_before_any_tick_counts_and_stops_trading_for_the_day() -> None:
    """Acceptance 6: realised unwind losses count toward the daily limit and halt new trades.

    The old manager took its first baseline at its first call, so a loss booked
    before any tick or check was forgiven; and a later mark-up re-opened trading
    the same day. Now the run's first day counts from zero PnL, and once the limit
    is hit (``note_pnl`` after an unwind) it holds until the next UTC day.
    """
    rm = manager()
    led = Ledger()
    buy(led, "u", "z", 500_000, 30 * SH)
    led.apply_fill(Fill("f2", "o2", "u", "z", "SELL", 160_000, 30 * SH, 0, 0, 0))  # the unwind
    assert led.realised_pnl == -10_200_000
    assert rm.note_pnl(T0, led) is True
    assert rm.check(legs(), 10_000, T0, led).reason == "daily_loss_limit"
    buy(led, "other", "w", 100_000, 100 * SH)
    led.mark({"w": 200_000})  # +10: the day's PnL recovers above the limit
    assert rm.daily_pnl(T0, led) > -10 * SH
    assert rm.check(legs(), 10_000, T0 + 1, led).reason == "daily_loss_limit"
    midnight = (T0 // DAY + 1) * DAY
    rm.on_tick(midnight, led)
    assert rm.check(legs(), 10_000, midnight + 1, led).accept
