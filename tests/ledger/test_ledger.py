"""Exact ledger: worked examples, and hypothesis properties of its identities."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyarb.execution.fees import taker_fee
from polyarb.execution.orders import Fill
from polyarb.ledger import Ledger, LedgerError
from polyarb.runs.schema import PNL, POSITIONS
from polyarb.units import SCALE

SH = SCALE
MARKETS = {"m1": ("a", "b"), "m2": ("c", "d")}
MARKET_OF = {t: m for m, ts in MARKETS.items() for t in ts}
_ids = itertools.count()


def fill(asset: str, side: str, price: int, size: int, fee: int | None = None) -> Fill:
    if fee is None:
        fee = taker_fee(size, price, 50_000, 1)
    return Fill(f"f{next(_ids)}", "o", MARKET_OF[asset], asset, side, price, size, fee, 0, 0)  # type: ignore[arg-type]


def test_buy_sell_mark_and_identities() -> None:
    led = Ledger(100 * SH)
    led.apply_fill(fill("a", "BUY", 400_000, 10 * SH, fee=120_000))
    assert (led.cash, led.position("a"), led.cost("a")) == (100 * SH - 4_120_000, 10 * SH, 4 * SH)
    assert led.position_value() == 4 * SH  # unmarked: at cost
    led.mark({"a": 450_000})
    assert led.marked_pnl() == 500_000 and led.realised_pnl == -120_000
    led.apply_fill(fill("a", "SELL", 500_000, 4 * SH, fee=0))
    assert led.realised_pnl == -120_000 + 2 * SH - 1_600_000
    assert led.cost("a") == 2_400_000 and led.exposure("m1") == 2_400_000
    assert led.equity() - led.initial_cash == led.realised_pnl + led.marked_pnl()
    row = led.snapshot(seq=5, ts_ns=9)
    assert set(row) == set(PNL.names)
    assert row["marked_pnl"] == 6 * SH * 450_000 // SH - 2_400_000
    assert {r["asset_id"] for r in led.position_rows()} == {"a"}
    assert all(set(r) == set(POSITIONS.names) for r in led.position_rows())


def test_merge_and_settlement_of_complete_sets() -> None:
    led = Ledger(0)
    led.apply_fill(fill("a", "BUY", 470_000, 10 * SH, fee=0))
    led.apply_fill(fill("b", "BUY", 500_000, 10 * SH, fee=0))
    assert led.merge("m1", ("a", "b"), 4 * SH, gas=10_000) == 4 * SH
    assert led.gas_paid == 10_000 and led.position("a") == 6 * SH
    assert led.settle("m1", "b") == 6 * SH
    assert led.cash == -9_700_000 + 4 * SH - 10_000 + 6 * SH
    assert led.realised_pnl == led.cash and led.total_exposure() == 0
    rows = led.position_rows()
    assert [(r["asset_id"], r["settled"], r["payout"]) for r in rows] == [
        ("a", True, 0),
        ("b", True, 6 * SH),
    ]
    # A fill the exchange reports after resolution settles on the spot (losing token: 0).
    before = led.cash
    late = fill("a", "BUY", 470_000, SH, fee=1_000)
    led.apply_fill(late)
    assert led.cash == before - 471_000 and led.position("a") == 0
    led.reverse_fill(late)
    assert led.cash == before and led.realised_pnl == led.cash


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from(["BUY", "SELL"]),
            st.integers(1, 99).map(lambda c: c * 10_000),
            st.integers(1, 50).map(lambda n: n * SH // 10),
            st.integers(0, 50_000),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 12),
    st.sampled_from(["a", "b", None]),
)
def test_fill_reported_after_settlement_books_as_if_reported_before(
    trades: list[tuple[str, str, int, int, int]], cut: int, winner: str | None
) -> None:
    """Issue 14 review: a live fill answered after ``market_resolved`` crashed the run
    (LedgerError "fill on settled market"). The exchange matched it before resolution, so
    the account must end exactly where it would have had the answer come first; reversing
    a late fill (a FAILED trade) undoes it exactly."""
    held = {"a": 0, "b": 0}
    fills = []
    for asset, side, price, size, fee in trades:
        if side == "SELL" and held[asset] < size:
            side = "BUY"
        held[asset] += size if side == "BUY" else -size
        fills.append(fill(asset, side, price, size, fee=fee))
    on_time, late = Ledger(50 * SH), Ledger(50 * SH)
    for f in fills:
        on_time.apply_fill(f)
    on_time.settle("m1", winner)
    for f in fills[:cut]:
        late.apply_fill(f)
    late.settle("m1", winner)
    for f in fills[cut:]:
        late.apply_fill(f)
    assert (late.cash, late.realised_pnl, late.fees_paid) == (
        on_time.cash,
        on_time.realised_pnl,
        on_time.fees_paid,
    )
    assert late.total_exposure() == 0 and late.realised_pnl == late.cash - 50 * SH
    if cut < len(fills):
        before = (late.cash, late.realised_pnl, late.fees_paid)
        late.apply_fill(fills[-1])
        late.reverse_fill(fills[-1])
        assert (late.cash, late.realised_pnl, late.fees_paid) == before


def test_onchain_redemption_and_reverted_transactions_pay_gas() -> None:
    """Live settlement books the receipt's gas: a redeem is ``settle(..., gas=)`` and a
    reverted transaction is ``pay_gas``; both keep equity − initial == realised + marked."""
    led = Ledger(10 * SH)
    led.split("m1", ("a", "b"), 2 * SH, gas=300)
    led.pay_gas(150)
    assert led.settle("m1", "a", gas=75) == 2 * SH
    assert led.gas_paid == 525 and led.cash == 10 * SH - 525
    assert led.realised_pnl == -525 == led.equity() - led.initial_cash
    with pytest.raises(LedgerError):
        led.pay_gas(-1)


def test_negrisk_yes_basket_pays_one_and_no_basket_converts_to_n_minus_1() -> None:
    # Three outcomes, each its own market; YES tokens y0..y2, NO tokens n0..n2.
    yes = [
        Fill(f"y{i}", "o", f"q{i}", f"y{i}", "BUY", p, SH, 0, 0, 0)
        for i, p in enumerate((300_000, 300_000, 350_000))
    ]
    led = Ledger(0)
    for f in yes:
        led.apply_fill(f)
    paid = sum(led.settle(f"q{i}", "y1" if i == 1 else f"n{i}") for i in range(3))
    assert paid == SH and led.cash == SH - 950_000
    nos = [Fill(f"n{i}", "o", f"q{i}", f"n{i}", "BUY", 650_000, SH, 0, 0, 0) for i in range(3)]
    led2 = Ledger(0)
    for f in nos:
        led2.apply_fill(f)
    assert led2.convert_all([(f"q{i}", f"n{i}") for i in range(3)], SH, gas=5_000) == 2 * SH
    assert led2.cash == 2 * SH - 1_950_000 - 5_000 == led2.realised_pnl


def test_refuses_what_the_account_cannot_do() -> None:
    led = Ledger(0)
    with pytest.raises(LedgerError, match="only 0 held"):
        led.apply_fill(fill("a", "SELL", 500_000, SH))
    led.apply_fill(fill("a", "BUY", 500_000, SH, fee=0))
    with pytest.raises(LedgerError, match="merge"):
        led.merge("m1", ("a", "b"), SH, 0)
    with pytest.raises(LedgerError, match="booked under"):
        led.apply_fill(Fill("x", "o", "m2", "a", "BUY", 1, SH, 0, 0, 0))
    led.split("m1", ("a", "b"), 3 * SH, gas=1_000)
    assert (led.position("a"), led.position("b"), led.cash) == (
        4 * SH,
        3 * SH,
        -500_000 - 3 * SH - 1_000,
    )


# --- properties ------------------------------------------------------------

prices = st.integers(min_value=1, max_value=99).map(lambda c: c * 10_000)
sizes = st.integers(min_value=1, max_value=50_000).map(lambda c: c * 10_000)
fees = st.integers(min_value=0, max_value=100_000).map(lambda c: c * 10)


def _values(led: Ledger, holdings: dict[str, int]) -> dict[tuple[str, str], int]:
    """cash + Σ size × payout under each resolution (winner of m1, winner of m2)."""
    out = {}
    for wa, wc in itertools.product(MARKETS["m1"], MARKETS["m2"]):
        out[(wa, wc)] = led.cash + sum(s for t, s in holdings.items() if t in (wa, wc))
    return out


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_value_is_conserved_except_for_edge_fees_and_gas(data: st.DataObject) -> None:
    led = Ledger(data.draw(st.integers(min_value=0, max_value=10**9)))
    held = {t: 0 for t in MARKET_OF}
    for _ in range(data.draw(st.integers(min_value=1, max_value=25))):
        before = _values(led, held)
        expected = dict.fromkeys(before, 0)
        op = data.draw(st.sampled_from(["buy", "sell", "merge", "split", "mark"]))
        if op in ("buy", "sell"):
            asset = data.draw(st.sampled_from(sorted(MARKET_OF)))
            if op == "sell" and held[asset] == 0:
                continue
            size = data.draw(sizes) if op == "buy" else data.draw(st.integers(1, held[asset]))
            f = fill(asset, op.upper(), data.draw(prices), size, data.draw(fees))
            led.apply_fill(f)
            held[asset] += size if op == "buy" else -size
            for w in expected:
                payout = size if asset in w else 0
                expected[w] = (payout - f.cash if op == "buy" else f.cash - payout) - f.fee
        elif op in ("merge", "split"):
            market = data.draw(st.sampled_from(sorted(MARKETS)))
            tokens = MARKETS[market]
            most = min(held[t] for t in tokens) if op == "merge" else 10**8
            if most == 0:
                continue
            size, gas = data.draw(st.integers(1, most)), data.draw(fees)
            if op == "merge":
                led.merge(market, tokens, size, gas)
            else:
                led.split(market, tokens, size, gas)
            for t in tokens:
                held[t] += -size if op == "merge" else size
            expected = dict.fromkeys(before, -gas)
        else:
            led.mark(
                {
                    t: data.draw(st.integers(0, SCALE))
                    for t in data.draw(st.sets(st.sampled_from(sorted(MARKET_OF))))
                }
            )
        after = _values(led, held)
        assert {w: after[w] - before[w] for w in before} == expected
        assert {t: led.position(t) for t in held} == held
        # Realised + unrealised always explain the change in equity, to the micro unit.
        assert led.equity() - led.initial_cash == led.realised_pnl + led.marked_pnl()
        assert all(type(v) is int for v in led.snapshot(0, 0).values())
    # Settlement converts positions into exactly their resolution value.
    wa, wc = data.draw(st.sampled_from(sorted(_values(led, held))))
    final = _values(led, held)[(wa, wc)]
    led.settle("m1", wa)
    led.settle("m2", wc)
    assert led.cash == final and led.total_exposure() == 0 and led.marked_pnl() == 0
    assert led.realised_pnl == led.cash - led.initial_cash
    assert sum(r["payout"] for r in led.position_rows()) == held[wa] + held[wc]


@given(prices, prices, sizes, fees, fees)
def test_complete_set_locks_its_edge(pa: int, pb: int, size: int, fa: int, fb: int) -> None:
    """Buying one of each side then settling pays 1 per set, whichever side wins."""
    for winner in MARKETS["m1"]:
        led = Ledger(0)
        fa_fill, fb_fill = fill("a", "BUY", pa, size, fa), fill("b", "BUY", pb, size, fb)
        led.apply_fill(fa_fill)
        led.apply_fill(fb_fill)
        led.settle("m1", winner)
        assert led.cash == size - fa_fill.cash - fb_fill.cash - fa - fb


@given(price=prices, sell=prices, size=sizes, fb=fees, fs=fees)
def test_exchange_sell_after_its_buy_failed_goes_short_then_evens_out(
    price: int, sell: int, size: int, fb: int, fs: int
) -> None:
    """A live race: an unwind SELL matched on shares of a BUY the exchange then FAILED, the
    BUY's FAILED reported first. Booking the SELL raised "only 0 held" and killed the live
    run; an exchange-reported SELL now leaves the position short, and the SELL's own FAILED
    (which follows) brings the account back to where it started, to the micro unit."""
    led = Ledger(100 * SH)
    buy, sold = fill("a", "BUY", price, size, fee=fb), fill("a", "SELL", sell, size, fee=fs)
    led.apply_fill(buy)
    led.reverse_fill(buy)
    with pytest.raises(LedgerError, match="only 0 held"):
        led.apply_fill(sold)  # what a simulated venue may never do
    led.apply_fill(sold, short_ok=True)
    assert led.position("a") == -size
    assert led.equity() - led.initial_cash == led.realised_pnl + led.marked_pnl()
    led.reverse_fill(sold)
    assert (led.cash, led.realised_pnl, led.fees_paid) == (100 * SH, 0, 0)
    assert led.position("a") == 0 and not led.open_assets()
