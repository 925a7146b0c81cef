"""Issue 14 items 5-6: the empirical latency kind and SimVenue's prediction of a live order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from venue_fakes import MARKET, YES, FakeBook, meta

from polyarb.config.profile import LatencyModel
from polyarb.execution.calibration import CalibrationShadow, avg_price
from polyarb.execution.latency import Latency, model_sample, sorted_quantile
from polyarb.execution.orders import KILLED, Fill, Order, OrderResult

POINTS = (100_000_000, 200_000_000, 1_000_000_000)


def test_empirical_latency_draws_between_its_points_deterministically() -> None:
    """The new kind draws from the quantile points with the seeded generator: the same seed
    gives the same sequence, every draw lies within the points, half below the median point."""
    a = Latency("empirical", seed=3, quantiles_ns=POINTS)
    b = Latency("empirical", seed=3, quantiles_ns=POINTS)
    draws = [a.draw_ns() for _ in range(2000)]
    assert draws == [b.draw_ns() for _ in range(2000)]
    assert all(POINTS[0] <= d <= POINTS[-1] for d in draws)
    assert 0.45 < sum(d <= POINTS[1] for d in draws) / len(draws) < 0.55
    model = LatencyModel(kind="empirical", seed=3, quantiles_ns=POINTS)
    assert Latency.from_profile(model).draw_ns() == draws[0]


@given(st.lists(st.integers(0, 10**10), min_size=2, max_size=30), st.integers(0, 2**32))
def test_empirical_draws_stay_in_range_for_any_points(points: list[int], seed: int) -> None:
    """Integer inverse CDF: every draw is an int between the first and last (sorted) point."""
    points.sort()
    latency = Latency("empirical", seed=seed, quantiles_ns=points)
    for _ in range(20):
        d = latency.draw_ns()
        assert isinstance(d, int) and points[0] <= d <= points[-1]


@pytest.mark.parametrize("points", [(), (5,), (5, 3), (-1, 2)])
def test_empirical_latency_refuses_bad_points(points: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="empirical latency"):
        Latency("empirical", quantiles_ns=points)


def test_model_quantiles_of_an_empirical_model_follow_its_points() -> None:
    sample = model_sample(LatencyModel(kind="empirical", quantiles_ns=POINTS))
    assert abs(sorted_quantile(sample, 1, 2) - POINTS[1]) < 20_000_000
    assert sorted_quantile([1, 2, 3, 10], 1, 2) == 2  # linear between ranks, integer


def _order(oid: str, size: int = 10_000_000) -> Order:
    return Order(oid, "d1", MARKET, YES, "BUY", size, 450_000, "FOK", seq=7)


def test_prediction_leaves_the_book_alone_and_pairs_with_the_outcome() -> None:
    """SimVenue's prediction is made in a throwaway venue: predicting twice the same book gives
    the same fill (nothing stays "taken"), the book is untouched, and the row holds the
    prediction beside the real outcome with the latency measured to the answer row."""
    book = FakeBook()
    book.ask[YES] = {400_000: 6_000_000, 420_000: 10_000_000}
    shadow = CalibrationShadow(LatencyModel(kind="constant", mean_ms=5))
    for oid in ("a", "b"):
        shadow.predict(_order(oid), 1_000, book, meta())
    assert book.ask[YES] == {400_000: 6_000_000, 420_000: 10_000_000}
    rows = []
    for oid in ("a", "b"):
        real = OrderResult(
            _order(oid),
            KILLED,
            "insufficient_liquidity",
            1_000,
            9_000,
            8,
            450_000,
            10_000_000,
            answered_ns=250_001_000,
        )
        rows.append(shadow.outcome(real))
    assert rows[0] == rows[1] | {"order_id": "a"}
    row = rows[0]
    assert row is not None
    assert (row["pred_status"], row["pred_filled_size"]) == ("filled", 10_000_000)
    assert row["pred_avg_price"] == (400_000 * 6 + 420_000 * 4) // 10  # 408_000, exact
    assert row["pred_latency_ns"] == 5_000_000 and row["model_latency_p50_ns"] == 5_000_000
    assert (row["real_status"], row["real_filled_size"], row["real_avg_price"]) == (
        "killed",
        0,
        None,
    )
    assert row["real_latency_ns"] == 250_000_000 and row["tick"] == 10_000
    assert shadow.outcome(real) is None  # one row per order


def test_avg_price_rounds_half_up_in_integers() -> None:
    def fill(price: int, size: int) -> Fill:
        return Fill("f", "o", MARKET, YES, "BUY", price, size, 0, 0, 0)

    assert avg_price([]) is None
    assert avg_price([fill(410_000, 1_000_000), fill(420_000, 2_000_000)]) == 416_667


def test_user_row_venue_results_carry_when_the_answer_row_came() -> None:
    """The real latency is measured from recorded rows: the answer row's receive time rides on
    the order's result, so the engine reads it without knowing which venue it talks to."""
    from polyarb.execution.user_venue import UserRowVenue, order_row

    venue = UserRowVenue({MARKET: meta()})
    venue.submit(_order("o1"), 1_000)
    update = venue.on_user(
        3, 42_000, order_row("o1", error="FOK orders are fully filled or killed")
    )
    assert [(r.order.order_id, r.answered_ns) for r in update.results] == [("o1", 42_000)]
