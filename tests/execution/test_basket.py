"""Leg risk: complete baskets, and failed legs unwound (loss booked) or held to settlement."""

from __future__ import annotations

import pytest
from venue_fakes import MARKET, NO, YES, FakeBook, meta

from polyarb.execution.basket import BasketExecution, Leg
from polyarb.execution.latency import Latency
from polyarb.execution.orders import OrderResult
from polyarb.execution.venue import SimVenue
from polyarb.ledger import Ledger

SH = 1_000_000
RATE = 50_000


def legs(size: int = 10 * SH) -> list[Leg]:
    return [Leg(MARKET, YES, "BUY", size, 480_000, 470_000), Leg(MARKET, NO, "BUY", size, 500_000)]


def run(
    basket: BasketExecution, venue: SimVenue, book: FakeBook, ledger: Ledger
) -> list[OrderResult]:
    """Drive a basket to its outcome the way the engine does: submit, advance time, feed results."""
    now, seq, seen = 1_000, 1, []
    for o in basket.orders():
        venue.submit(o, now)
    while not basket.done:
        now = venue.next_arrival_ns() or now
        seq += 1
        for res in venue.on_time(now, book, seq):
            seen.append(res)
            for fill in res.fills:
                ledger.apply_fill(fill)
            for follow in basket.on_result(res, seq):
                venue.submit(follow, now)
    return seen


def setup(book: FakeBook) -> tuple[SimVenue, Ledger]:
    book.ask[YES] = {470_000: 100 * SH}
    book.ask[NO] = {500_000: 100 * SH}
    book.bid[YES] = {430_000: 3 * SH, 420_000: 100 * SH}
    return SimVenue(Latency("constant", 20), {MARKET: meta(fee_rate=RATE)}), Ledger(1_000 * SH)


def test_complete_basket_then_merge_with_gas(book: FakeBook) -> None:
    venue, ledger = setup(book)
    basket = BasketExecution("dec-1", legs(), "FOK", "unwind", seq=1)
    assert [o.order_id for o in basket.orders()] == ["dec-1/L0", "dec-1/L1"]
    run(basket, venue, book, ledger)
    out = basket.outcome
    assert out is not None and (out.status, out.leg_failed, out.matched_size) == (
        "complete",
        False,
        10 * SH,
    )
    fees = ledger.fees_paid
    assert fees == 124_550 + 125_000  # 10 sh × 0.05 × p(1−p) at 0.47 and at 0.50
    ledger.merge(MARKET, (YES, NO), 10 * SH, gas=10_000)
    # 10 sets cost 9.70 + fees, merge pays 10.00 minus 0.01 gas.
    assert ledger.cash == 1_000 * SH - 9_700_000 - fees + 10 * SH - 10_000
    assert ledger.realised_pnl == 300_000 - fees - 10_000 and ledger.total_exposure() == 0


def test_failed_leg_is_unwound_into_the_bids_and_the_loss_booked(book: FakeBook) -> None:
    venue, ledger = setup(book)
    book.ask[NO] = {520_000: 100 * SH}  # NO moved away before arrival: the NO leg is killed
    basket = BasketExecution("dec-2", legs(), "FOK", "unwind", seq=1)
    results = run(basket, venue, book, ledger)
    assert [r.order.order_id for r in results] == ["dec-2/L0", "dec-2/L1", "dec-2/U0"]
    unwind = results[-1]
    assert (unwind.order.side, unwind.order.order_type, unwind.status) == ("SELL", "FAK", "filled")
    assert [(f.price, f.size) for f in unwind.fills] == [(430_000, 3 * SH), (420_000, 7 * SH)]
    assert unwind.arrive_ns == results[0].arrive_ns + 20_000_000  # unwinds pay latency too
    out = basket.outcome
    assert out is not None and (out.status, out.leg_failed, out.held) == ("unwound", True, ())
    # Bought 10 at 0.47, sold 3 at 0.43 and 7 at 0.42: −0.47 before fees of both trips.
    assert out.unwind_pnl == -470_000 - ledger.fees_paid
    assert ledger.realised_pnl == out.unwind_pnl
    assert ledger.cash == 1_000 * SH + out.unwind_pnl and ledger.position(YES) == 0


def test_failed_leg_held_settles_at_resolution(book: FakeBook) -> None:
    venue, ledger = setup(book)
    book.ask[NO] = {}
    basket = BasketExecution("dec-3", legs(), "FOK", "hold", seq=1)
    results = run(basket, venue, book, ledger)
    assert len(results) == 2  # no unwind orders
    out = basket.outcome
    assert out is not None and out.status == "held" and out.leg_failed
    assert [(r.asset_id, r.size) for r in out.held] == [(YES, 10 * SH)]
    assert ledger.position(YES) == 10 * SH
    assert ledger.settle(MARKET, YES) == 10 * SH
    assert ledger.realised_pnl == 10 * SH - 4_700_000 - ledger.fees_paid


def test_fak_partial_legs_keep_matched_sets_and_unwind_only_the_excess(book: FakeBook) -> None:
    venue, ledger = setup(book)
    book.ask[NO] = {500_000: 5 * SH}
    basket = BasketExecution("dec-4", legs(), "FAK", "unwind", seq=1)
    results = run(basket, venue, book, ledger)
    out = basket.outcome
    assert out is not None and out.matched_size == 5 * SH and out.status == "unwound"
    assert results[-1].order.size == 5 * SH
    assert ledger.position(YES) == ledger.position(NO) == 5 * SH


def test_unwind_that_cannot_fill_is_held(book: FakeBook) -> None:
    venue, ledger = setup(book)
    book.ask[NO] = {}
    book.bid[YES] = {}
    basket = BasketExecution("dec-5", legs(), "FOK", "unwind", seq=1)
    run(basket, venue, book, ledger)
    out = basket.outcome
    assert out is not None and out.status == "held" and out.held[0].size == 10 * SH


def test_nothing_filled_is_a_plain_failure(book: FakeBook) -> None:
    venue, ledger = setup(book)
    book.ask[NO] = book.ask[YES] = {}
    basket = BasketExecution("dec-6", legs(), "FOK", "unwind", seq=1)
    run(basket, venue, book, ledger)
    out = basket.outcome
    assert out is not None and (out.status, out.leg_failed, out.matched_size) == ("failed", True, 0)


def test_foreign_results_and_bad_arguments_are_refused(book: FakeBook) -> None:
    venue, _ledger = setup(book)
    other = BasketExecution("other", legs(), "FOK", "unwind", seq=1)
    basket = BasketExecution("dec-7", legs(), "FOK", "unwind", seq=1)
    venue.submit(other.orders()[0], 0)
    (res,) = venue.on_time(10**9, book, 2)
    with pytest.raises(KeyError, match="does not belong"):
        basket.on_result(res, 2)
    with pytest.raises(ValueError, match="at least one leg"):
        BasketExecution("x", [], "FOK", "unwind", 1)
    with pytest.raises(ValueError, match="leg_failure"):
        BasketExecution("x", legs(), "FOK", "panic", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_unwind_slippage"):
        BasketExecution("x", legs(), "FOK", "unwind", 1, max_unwind_slippage=-1)


def test_unwind_is_bounded_by_max_unwind_slippage(book: FakeBook) -> None:
    """Acceptance 6: an unwind never sells more than the bound below the leg's own fill.

    Old code sent unwinds at any price (limit 0.000001) and dumped the leg into any bid.
    """
    venue, ledger = setup(book)
    book.ask[NO] = {}  # the NO leg is killed; 10 YES bought at 0.47 are naked
    basket = BasketExecution("dec-8", legs(), "FOK", "unwind", seq=1, max_unwind_slippage=40_000)
    results = run(basket, venue, book, ledger)
    unwind = results[-1]
    assert unwind.order.limit_price == 430_000  # 0.47 − 0.04
    assert [(f.price, f.size) for f in unwind.fills] == [(430_000, 3 * SH)]  # not the 0.42 bid
    out = basket.outcome
    assert out is not None and out.status == "held"
    assert [(r.asset_id, r.size) for r in out.held] == [(YES, 7 * SH)]
    assert ledger.position(YES) == 7 * SH  # held and marked, not dumped
    ledger.mark({YES: 420_000})
    assert ledger.marked_pnl() == 7 * 420_000 - 7 * 470_000


def test_unwind_limit_reaches_the_venue_minimum_within_the_bound(book: FakeBook) -> None:
    """A SELL unwind whose bound would put it under $1 at its limit asks a tighter price instead."""
    venue, ledger = setup(book)
    book.ask[NO] = {}
    book.bid[YES] = {300_000: 100 * SH}
    few = [Leg(MARKET, YES, "BUY", 5 * SH, 480_000), Leg(MARKET, NO, "BUY", 5 * SH, 500_000)]
    basket = BasketExecution("dec-9", few, "FOK", "unwind", seq=1, max_unwind_slippage=400_000)
    unwind = run(basket, venue, book, ledger)[-1]
    # 0.47 − 0.40 = 0.07 would be $0.35 for 5 shares: the limit rises to $1 / 5 = 0.20
    assert unwind.order.limit_price == 200_000 and unwind.status == "filled"


def test_dust_residual_is_held_as_a_position_not_sent() -> None:
    """Issue 13 item 4: FAK legs that filled 5 and 4.5 shares leave 0.5 naked: under $1 even
    at the top price, no order can sell it, so no unwind is sent (old code sent one priced
    above 1) and the basket reports it held; the ledger keeps the 0.5 shares at their exact
    cost."""
    from polyarb.execution.basket import Residual, is_dust
    from polyarb.execution.orders import Fill, Order

    legs = [Leg(MARKET, YES, "BUY", 5_000_000, 450_000), Leg(MARKET, NO, "BUY", 5_000_000, 450_000)]
    ex = BasketExecution("d", legs, "FAK", "unwind", 1)
    fills = {0: 5_000_000, 1: 4_500_000}
    out: list[Order] = []
    ledger = Ledger(0)
    for order in ex.orders():
        i = int(order.order_id[-1])
        fill = Fill(
            f"f{i}", order.order_id, MARKET, order.asset_id, "BUY", 430_000, fills[i], 0, 1, 1
        )
        ledger.apply_fill(fill)
        status = "filled" if fills[i] == order.size else "partial"
        out += ex.on_result(
            OrderResult(order, status, "ok", 0, 1, 1, 450_000, order.size, (fill,)),
            2,  # type: ignore[arg-type]
        )
    assert out == [] and is_dust(500_000) and not is_dust(2_000_000)
    outcome = ex.outcome
    assert outcome is not None and outcome.status == "held"
    assert outcome.held == (Residual(MARKET, YES, "BUY", 500_000),)
    assert ledger.position(YES) == 5_000_000 and ledger.cost(YES) == 2_150_000


def _filled(ex: BasketExecution, sizes: dict[int, int]) -> list[object]:
    from polyarb.execution.orders import Fill

    out: list[object] = []
    for order in ex.orders():
        i = int(order.order_id[-1])
        got = sizes[i]
        fills = (
            (Fill(f"f{i}", order.order_id, MARKET, order.asset_id, "BUY", 400_000, got, 0, 1, 1),)
            if got
            else ()
        )
        status = "filled" if got == order.size else ("partial" if got else "killed")
        out += ex.on_result(
            OrderResult(order, status, "ok", 0, 1, 1, 450_000, order.size, fills), 2
        )  # type: ignore[arg-type]
    return out


def test_reversed_fill_of_a_complete_basket_unwinds_or_holds_the_other_leg() -> None:
    """Issue 13 item 4: a complete basket whose YES fill the exchange FAILED is a leg failure:
    ``unwind`` sells the NO shares (``R1U1``, same slippage bound), ``hold`` keeps them."""
    legs = [Leg(MARKET, YES, "BUY", 5_000_000, 450_000), Leg(MARKET, NO, "BUY", 5_000_000, 450_000)]
    for policy in ("unwind", "hold"):
        ex = BasketExecution("d", legs, "FOK", policy, 1, max_unwind_slippage=50_000)  # type: ignore[arg-type]
        assert _filled(ex, {0: 5_000_000, 1: 5_000_000}) == []
        assert ex.outcome is not None and ex.outcome.status == "complete"
        yes_fill = ex._leg_results[0].fills[0]
        orders = ex.reverse(yes_fill, 3)
        if policy == "unwind":
            [order] = orders
            assert (order.order_id, order.side, order.size, order.limit_price) == (
                "d/R1U1",
                "SELL",
                5_000_000,
                350_000,
            )
            assert not ex.done
        else:
            assert orders == [] and ex.outcome is not None and ex.outcome.status == "held"
            assert [r.asset_id for r in ex.outcome.held] == [NO]


def test_reversal_while_unwinds_are_out_is_handled_when_they_report() -> None:
    """A FAILED fill arriving while an unwind is in flight: nothing at once; the basket is
    looked at again when the unwind reports (here its YES sale spent shares that never came,
    so nothing long is left and it ends). Old code had no reversal path at all."""
    from polyarb.execution.orders import Fill

    legs = [Leg(MARKET, YES, "BUY", 5_000_000, 450_000), Leg(MARKET, NO, "BUY", 5_000_000, 450_000)]
    ex = BasketExecution("d", legs, "FOK", "unwind", 1)
    [unwind] = _filled(ex, {0: 5_000_000, 1: 0})  # NO killed: YES is unwound
    yes_fill = ex._leg_results[0].fills[0]
    assert ex.reverse(yes_fill, 3) == []  # the YES shares never came: wait for the unwind
    sold = Fill("u", unwind.order_id, MARKET, YES, "SELL", 380_000, 5_000_000, 0, 1, 1)  # type: ignore[attr-defined]
    again = ex.on_result(
        OrderResult(unwind, "filled", "ok", 0, 1, 1, 380_000, 5_000_000, (sold,)),
        4,  # type: ignore[arg-type]
    )
    # Net YES is now -5 (sold what never arrived): nothing long to unwind, the basket ends.
    assert again == [] and ex.outcome is not None and ex.outcome.held == ()
