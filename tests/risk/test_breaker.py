"""Circuit breaker: opens at N consecutive failures, closes only on a tick past the cool-down."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyarb.risk import CircuitBreaker

S = 10**9


def test_opens_at_threshold_stays_open_until_a_tick_past_cooldown_then_reopens() -> None:
    b = CircuitBreaker(threshold=3, cooldown_ns=300 * S)
    assert b.record_failure(1 * S) is None
    assert b.record_failure(2 * S) is None and not b.is_open
    assert b.record_failure(3 * S) == "opened" and b.is_open and b.opened_ns == 3 * S
    assert b.record_failure(4 * S) is None  # already open: no second "opened"
    assert b.on_tick(302 * S) is None and b.is_open  # before the cool-down ends
    # Time passing without a tick does nothing: only on_tick closes it.
    assert b.is_open
    assert b.on_tick(303 * S) == "closed" and not b.is_open and b.failures == 0
    assert b.on_tick(304 * S) is None
    for t in (305, 306):
        assert b.record_failure(t * S) is None
    assert b.record_failure(307 * S) == "opened"


def test_success_resets_the_consecutive_count() -> None:
    b = CircuitBreaker(threshold=2, cooldown_ns=S)
    b.record_failure(0)
    b.record_success()
    assert b.record_failure(1) is None and not b.is_open
    assert b.record_failure(2) == "opened"


def test_halt_is_permanent() -> None:
    b = CircuitBreaker(threshold=1, cooldown_ns=S)
    assert b.halt("alert feed_down CRITICAL") == "halted"
    assert b.halt("again") is None and b.halt_reason == "alert feed_down CRITICAL"
    b.on_tick(10**18)
    assert b.halted


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker(0, S)
    with pytest.raises(ValueError, match="cool-down"):
        CircuitBreaker(1, -1)


@given(st.integers(1, 6), st.lists(st.sampled_from(["fail", "success", "tick"]), max_size=60))
def test_matches_a_reference_model(n: int, events: list[str]) -> None:
    """Property: open exactly from the n-th consecutive failure until the next tick past cool-down."""
    cooldown = 10
    b = CircuitBreaker(n, cooldown_ns=cooldown)
    count, opened_at = 0, None
    for t, ev in enumerate(events):
        now = t * 4  # a tick lands past the cool-down only every third step
        if ev == "fail":
            count += 1
            trips = opened_at is None and count >= n
            assert (b.record_failure(now) == "opened") == trips
            opened_at = now if trips else opened_at
        elif ev == "success":
            b.record_success()
            count = 0
        else:
            closes = opened_at is not None and now >= opened_at + cooldown
            assert (b.on_tick(now) == "closed") == closes
            if closes:
                count, opened_at = 0, None
        assert b.is_open == (opened_at is not None)
