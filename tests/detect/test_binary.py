"""Binary complete set: size and edge equal a brute-force oracle; guards stop bad books."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from detect_support import FakeView, binary_meta, profile
from hypothesis import event, given, settings
from hypothesis import strategies as st

from polyarb.config.profile import micro
from polyarb.detect import REGISTRY
from polyarb.detect.binary import BinaryCompleteSet, _fees_clear, top_clears
from polyarb.detect.sizing import LOT
from polyarb.events import BUY, SELL
from polyarb.execution.fees import taker_fee
from polyarb.units import SCALE

MIN_SIZE = 5 * SCALE  # binary_meta's min_order_size


def _expand(levels, lots):
    """Price of each lot in walk order (level sizes are whole lots here)."""
    out = []
    for price, size in levels:
        out += [price] * (size // LOT)
    return out[:lots]


def _naive_cost(levels, q, rate, exp, buy):
    cash = fee = 0
    left = q
    for price, size in levels:
        take = min(size, left)
        if take <= 0:
            break
        cash += -(-price * take // SCALE) if buy else price * take // SCALE
        fee += taker_fee(take, price, rate, exp)
        left -= take
    return cash, fee


def oracle(legs, rate, exp, buy, min_edge, max_cash):
    """Largest q (whole lots) where every lot clears min_edge and the cost fits; brute force."""
    depth = min(sum(s for _, s in lv) for lv in legs) // LOT
    per_lot = [_expand(lv, depth) for lv in legs]
    best = None
    for k in range(1, depth + 1):
        marginal = sum(
            Fraction(p[k - 1], SCALE)
            + (1 if buy else -1)
            * Fraction(rate, SCALE)
            * (Fraction(p[k - 1], SCALE) * (1 - Fraction(p[k - 1], SCALE))) ** exp
            for p in per_lot
        )
        if buy and marginal > 1 - Fraction(min_edge, SCALE):
            break
        if not buy and marginal < 1 + Fraction(min_edge, SCALE):
            break
        q = k * LOT
        costs = [_naive_cost(lv, q, rate, exp, buy) for lv in legs]
        notional = sum(c for c, _ in costs)
        fees = sum(f for _, f in costs)
        cash = notional + fees if buy else notional - fees
        if (cash if buy else q) > max_cash:
            break
        profit = (q - cash) if buy else (cash - q)
        best = (q, profit * SCALE // q, cash)
    if best is not None:
        q = best[0]
        worst = [p[q // LOT - 1] for p in per_lot]
        if q < MIN_SIZE or any(w * q // SCALE < SCALE for w in worst):
            return None  # the venue would refuse a leg: 5 shares and $1 at the limit
    return best


book_side = st.dictionaries(
    st.integers(1, 99).map(lambda c: c * 10_000),
    st.integers(1, 300).map(lambda k: k * LOT),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(
    yes=book_side,
    no=book_side,
    buy=st.booleans(),
    rate=st.sampled_from([0, 20_000, 70_000, 250_000]),
    exp=st.sampled_from([1, 2]),
    min_edge=st.sampled_from(["0", "0.001", "0.005", "0.02"]),
    trade=st.sampled_from(["1", "2", "5", "50"]),
)
def test_binary_detector_equals_bruteforce_oracle(yes, no, buy, rate, exp, min_edge, trade):
    meta = binary_meta(fee_rate=rate, fee_exponent=exp)
    view = FakeView([meta])
    y, n = meta.token_ids
    if buy:
        view.set(y, asks=yes.items())
        view.set(n, asks=no.items())
    else:
        view.set(y, bids=yes.items())
        view.set(n, bids=no.items())
    det = BinaryCompleteSet(profile(min_edge, trade), [meta], require_mirror=False)
    opps = det.on_boundary(view, meta, 7)
    legs = [sorted(yes.items(), reverse=not buy), sorted(no.items(), reverse=not buy)]
    want = oracle(legs, rate, exp, buy, micro(Decimal(min_edge)), int(trade) * SCALE)
    event(f"fires={want is not None}")
    if want is None:
        assert opps == []
        return
    assert len(opps) == 1
    opp = opps[0]
    assert (opp.size, opp.edge, opp.cash) == want
    assert opp.side == ("BUY" if buy else "SELL")
    assert opp.opportunity_id == f"binary_complete_set/{'buy_both' if buy else 'sell_both'}:0xm:7"
    assert [leg.size for leg in opp.legs] == [opp.size, opp.size]  # equal shares
    assert opp.edge >= micro(Decimal(min_edge))


def _planted_view():
    meta = binary_meta()
    view = FakeView([meta])
    y, n = meta.token_ids
    view.set(y, bids=[(300_000, 10 * SCALE)], asks=[(400_000, 10 * SCALE)], ts_ms=1_000)
    view.set(n, bids=[(500_000, 10 * SCALE)], asks=[(550_000, 10 * SCALE)], ts_ms=1_000)
    return meta, view


def test_fires_on_clean_edge():
    meta, view = _planted_view()
    det = BinaryCompleteSet(profile(trade_size="5"), [meta], require_mirror=False)
    (opp,) = det.on_boundary(view, meta, 3)
    assert opp.variant == "buy_both" and opp.edge == 50_000
    assert opp.size == 5_260_000  # $5 buys 5.26 sets at 0.95


def test_never_sizes_below_the_venue_minimums():
    """Acceptance 5: the detector proposes no basket the venue would refuse a leg of.

    $2 buys 2.1 sets at 0.95: under the market's 5-share minimum (the old detector
    proposed it); at 0.02 + 0.93, $5 gives 5.26 shares but the 0.02 leg is $0.11.
    """
    meta, view = _planted_view()
    det = BinaryCompleteSet(profile(), [meta], require_mirror=False)
    assert det.on_boundary(view, meta, 3) == []
    y, n = meta.token_ids
    view.set(y, asks=[(20_000, 100 * SCALE)], ts_ms=1_000)
    view.set(n, asks=[(930_000, 100 * SCALE)], ts_ms=1_000)
    det5 = BinaryCompleteSet(profile(trade_size="5"), [meta], require_mirror=False)
    assert det5.on_boundary(view, meta, 4) == []
    assert det.suppressed == {"below_min_size": 1}
    assert det5.suppressed == {"below_min_notional": 1}


class _VenueView:
    """The venue's ``BookView`` over a detector test view: the same books, best first."""

    def __init__(self, view: FakeView) -> None:
        self.view = view

    def asks(self, asset_id):
        return self.view.books[asset_id].asks_best_first()

    def bids(self, asset_id):
        return self.view.books[asset_id].bids_best_first()


def test_depth_counts_only_whole_lots_the_venue_can_fill():
    """Acceptance 5: levels of 5.005 shares offer 5.00 at the venue; the size and limit agree.

    The old detector counted 10.01 shares over two such levels; the venue fills
    5.00 + 5.00 up to the limit and kills the FOK for the last 0.01.
    """
    from polyarb.execution import Latency, Order, SimVenue

    meta, view = _planted_view()
    y, n = meta.token_ids
    view.set(y, asks=[(400_000, 5_005_000), (410_000, 5_005_000), (600_000, 100 * SCALE)])
    view.set(n, asks=[(550_000, 100 * SCALE)])
    det = BinaryCompleteSet(profile(trade_size="50"), [meta], require_mirror=False)
    (opp,) = det.on_boundary(view, meta, 5)
    assert opp.size == 10 * SCALE and opp.size % LOT == 0
    venue = SimVenue(Latency("constant", 0), {meta.condition_id: meta})
    for i, leg in enumerate(opp.legs):
        venue.submit(
            Order(
                f"o/L{i}", "o", meta.condition_id, leg.asset_id, "BUY", opp.size, leg.worst_price
            ),
            0,
        )
    results = venue.on_time(0, _VenueView(view), seq=1)
    assert [r.status for r in results] == ["filled", "filled"]


def test_guards_suppress_untradable_and_skewed_legs():
    meta, view = _planted_view()
    det = BinaryCompleteSet(profile(skew_ms=500), [meta], require_mirror=False)
    view.bad[meta.token_ids[1]] = "crossed"
    assert det.on_boundary(view, meta, 3) == []
    view.bad.clear()
    view.books[meta.token_ids[1]].ts_ms = 1_501
    assert det.on_boundary(view, meta, 4) == []
    assert det.suppressed == {"crossed": 1, "leg_skew": 1}


def test_registry_names_match_the_detectors_they_load():
    from polyarb.config.profile import DETECTORS

    assert list(REGISTRY) == list(DETECTORS)
    assert all(REGISTRY[name].name == name for name in REGISTRY)


def test_unmirrored_legs_are_a_stale_leg_not_an_edge():
    """Real resolvedkit case: DOWN updated, UP still 929 ms old; Σ bids 1.04 is not tradable."""
    meta = binary_meta()
    view = FakeView([meta])
    up, down = meta.token_ids
    view.set(up, bids=[(360_000, 100 * SCALE)], asks=[(370_000, 100 * SCALE)], ts_ms=1_000)
    view.set(down, bids=[(680_000, 100 * SCALE)], asks=[(690_000, 100 * SCALE)], ts_ms=1_929)
    det = BinaryCompleteSet(profile(), [meta])
    assert det.on_boundary(view, meta, 9) == []
    assert det.suppressed == {"unmirrored": 1}
    # the same books as one consistent moment (a mirror) carry no edge at all
    view.set(up, bids=[(310_000, 100 * SCALE)], asks=[(320_000, 100 * SCALE)], ts_ms=1_929)
    assert det.on_boundary(view, meta, 10) == []
    assert det.suppressed == {"unmirrored": 1}


@settings(max_examples=500, deadline=None)
@given(
    prices=st.lists(st.integers(0, SCALE), min_size=1, max_size=4),
    rate=st.sampled_from([0, 10_000, 25_000, 250_000]),
    exp=st.integers(1, 2),
    buy=st.booleans(),
    payout=st.sampled_from([SCALE, 2 * SCALE]),
    min_edge=st.integers(0, 50_000),
)
def test_top_clears_shortcut_equals_the_fee_arithmetic(prices, rate, exp, buy, payout, min_edge):
    """The bare-price early exit (issue 16) never changes the answer of the full fee test."""
    meta = [binary_meta(fee_rate=rate, fee_exponent=exp)] * len(prices)
    side = BUY if buy else SELL
    assert top_clears(prices, meta, side, payout, min_edge) == _fees_clear(
        prices, meta, side, payout, min_edge
    )
