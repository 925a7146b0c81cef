"""Faults the double injects and what the adapter does about them.

No real waiting: the client's sleeper is a recorder and the exchange's clock is
moved by hand; the one timeout test waits for the client's own (short) socket
timeout, with the double holding its answer far longer.
"""

from __future__ import annotations

import pytest
from clob_support import KEY, MARKET, FakeClock, Sleeper

from polyarb.server.clob import ClobExchange, ClobServerThread
from polyarb.venues.polymarket import ClobUnavailable, Heartbeat, PolymarketClient, RetryPolicy
from polyarb.venues.polymarket.signing import BUY


def test_429_backs_off_exponentially_then_succeeds(
    client: PolymarketClient, double: ClobServerThread, sleeper: Sleeper
) -> None:
    """Three throttled answers: the client sleeps 0.25, 0.5, 1.0 s (injected) and the order goes in once."""
    double.call(lambda ex: setattr(ex.faults, "rate_limit_next", 3))
    ack = client.place(
        MARKET, side=BUY, price=540_000, size=5_000_000, order_type="FOK", client_order_id="r1"
    )
    assert ack.status == "matched" and not ack.reconciled
    assert sleeper.slept == [0.25, 0.5, 1.0]
    assert client.stats.throttled == 3
    assert len(client.trades()) == 1


def test_425_matching_engine_restart_is_retried_like_a_throttle(
    client: PolymarketClient, double: ClobServerThread, sleeper: Sleeper
) -> None:
    """425 Too Early: refused before processing, so backed off and sent again (no reconcile)."""
    double.call(lambda ex: setattr(ex.faults, "too_early_next", 2))
    ack = client.place(
        MARKET, side=BUY, price=540_000, size=5_000_000, order_type="FOK", client_order_id="e1"
    )
    assert ack.status == "matched" and client.stats.reconciles == 0
    assert sleeper.slept == [0.25, 0.5]


def test_429_honours_retry_after(
    client: PolymarketClient, double: ClobServerThread, sleeper: Sleeper
) -> None:
    """A Retry-After header replaces the exponential guess."""

    def arm(ex: ClobExchange) -> None:
        ex.faults.rate_limit_next = 1
        ex.faults.retry_after_s = 2.0

    double.call(arm)
    assert client.open_orders() == []
    assert sleeper.slept == [2.0]


def test_429_forever_gives_up_with_a_clear_error(
    client: PolymarketClient, double: ClobServerThread, sleeper: Sleeper
) -> None:
    """Retries are bounded: after max_attempts the caller gets ClobUnavailable."""
    double.call(lambda ex: setattr(ex.faults, "rate_limit_next", 100))
    with pytest.raises(ClobUnavailable):
        client.open_orders()
    assert len(sleeper.slept) == client.policy.max_attempts


def test_timeout_reconciles_and_never_sends_the_order_twice(
    double: ClobServerThread, exchange: ClobExchange, clock: FakeClock, sleeper: Sleeper
) -> None:
    """The double books the order but answers late: the client asks before resending.

    It finds the order by its EIP-712 hash, returns it as reconciled, and the
    exchange holds exactly one order and one trade.
    """
    client = PolymarketClient(
        double.url, KEY, clock=clock, sleep=sleeper, policy=RetryPolicy(timeout_s=0.5)
    )
    client.derive_api_key()

    def arm(ex: ClobExchange) -> None:
        ex.faults.timeout_next = 1
        ex.faults.timeout_s = 5.0

    double.call(arm)
    ack = client.place(
        MARKET, side=BUY, price=540_000, size=5_000_000, order_type="FOK", client_order_id="t1"
    )
    assert ack.reconciled and ack.status == "MATCHED"
    assert client.stats.timeouts == 1 and client.stats.reconciles == 1 and client.stats.resends == 0
    assert len(client.trades()) == 1
    assert len(double.call(lambda ex: ex.all_orders())) == 1
    # the same decision placed again is the same signed order: reconciled, not re-filled
    again = client.place(
        MARKET, side=BUY, price=540_000, size=5_000_000, order_type="FOK", client_order_id="t1"
    )
    assert again.order_id == ack.order_id and again.reconciled
    assert len(client.trades()) == 1
    client.close()


def test_5xx_on_post_reconciles_then_resends_the_same_bytes(
    client: PolymarketClient, double: ClobServerThread
) -> None:
    """A 500 that did not book the order: not found on reconcile, resent once, booked once."""
    double.call(lambda ex: setattr(ex.faults, "server_error_next", 1))
    ack = client.place(
        MARKET, side=BUY, price=540_000, size=5_000_000, order_type="FOK", client_order_id="s1"
    )
    assert ack.status == "matched" and not ack.reconciled
    assert client.stats.server_errors == 1 and client.stats.resends == 1
    assert len(client.trades()) == 1


def test_missed_heartbeat_cancels_the_keys_orders(
    client: PolymarketClient, double: ClobServerThread, clock: FakeClock
) -> None:
    """Dead-man switch: orders survive while heartbeats come, and are cancelled once they stop."""
    order = client.place(
        MARKET, side=BUY, price=400_000, size=5_000_000, order_type="GTC", client_order_id="h1"
    )
    client.heartbeat()
    clock.now += 10
    assert double.call(lambda ex: ex.sweep()) == []
    client.heartbeat()
    clock.now += 10
    assert double.call(lambda ex: ex.sweep()) == []
    assert [o["id"] for o in client.open_orders()] == [order.order_id]
    clock.now += 10  # 20 s since the last heartbeat, window 15 s
    assert double.call(lambda ex: ex.sweep()) == [order.order_id]
    assert client.open_orders() == []
    record = client.get_order(order.order_id)
    assert record is not None and record["status"] == "CANCELED"


def test_no_heartbeat_ever_sent_leaves_orders_alone(
    client: PolymarketClient, double: ClobServerThread, clock: FakeClock
) -> None:
    """The switch is armed by the first heartbeat, as on the exchange."""
    client.place(
        MARKET, side=BUY, price=400_000, size=5_000_000, order_type="GTC", client_order_id="h2"
    )
    clock.now += 100
    assert double.call(lambda ex: ex.sweep()) == []
    assert len(client.open_orders()) == 1


def test_client_side_rate_limit_waits_instead_of_drawing_429s(
    double: ClobServerThread, clock: FakeClock, sleeper: Sleeper
) -> None:
    """With a window of 3 requests per 10 s, the 4th waits (injected) until the first ages out."""
    client = PolymarketClient(
        double.url, KEY, clock=clock, sleep=sleeper, limits={"clob": (3, 10.0)}
    )
    client.derive_api_key()  # 1
    clock.now += 4
    client.open_orders()  # 2
    client.open_orders()  # 3
    assert sleeper.slept == []
    client.open_orders()  # 4: the first was 4 s ago, so 6 s to wait
    assert sleeper.slept == [6.0]
    assert client.stats.throttled == 0
    client.close()


def test_heartbeat_ticks_keep_orders_alive_and_stopping_them_cancels(
    client: PolymarketClient, double: ClobServerThread, clock: FakeClock
) -> None:
    """Heartbeat.tick sends only when due; while it runs the orders stay, when it stops they go."""
    beat = Heartbeat(client, interval_s=5.0)
    client.place(
        MARKET, side=BUY, price=400_000, size=5_000_000, order_type="GTC", client_order_id="k"
    )
    assert beat.tick() and not beat.tick()  # the second is not due yet
    for _ in range(6):
        clock.now += 5
        assert beat.tick()
        assert double.call(lambda ex: ex.sweep()) == []
    clock.now += 16
    assert len(double.call(lambda ex: ex.sweep())) == 1
    assert client.open_orders() == []


def test_heartbeat_thread_and_orders_share_one_client(
    client: PolymarketClient, double: ClobServerThread
) -> None:
    """A Heartbeat thread beside order traffic on the same client: no crossed answers."""
    import threading
    import time

    stop = threading.Event()
    beat = Heartbeat(client, interval_s=0.01, clock=time.monotonic)
    thread = threading.Thread(target=beat.run, args=(stop,), daemon=True)
    thread.start()
    try:
        for i in range(10):
            ack = client.place(
                MARKET, side=BUY, price=400_000, size=5_000_000, order_type="GTC",
                client_order_id=f"c{i}",
            )  # fmt: skip
            assert ack.status == "live"
    finally:
        stop.set()
        thread.join(30)
    assert beat.failures == 0 and beat.last_ok is not None
    assert len(client.open_orders()) == 10


def test_batch_timeout_reconciles_each_leg_and_resends_none(
    double: ClobServerThread, clock: FakeClock, sleeper: Sleeper
) -> None:
    """Both legs booked, answer late: each is found by id, nothing is sent twice."""
    client = PolymarketClient(
        double.url, KEY, clock=clock, sleep=sleeper, policy=RetryPolicy(timeout_s=0.5)
    )
    client.derive_api_key()

    def arm(ex: ClobExchange) -> None:
        ex.faults.timeout_next = 1
        ex.faults.timeout_s = 5.0

    double.call(arm)
    legs = [
        client.sign(MARKET, side=BUY, price=540_000, size=5_000_000, order_type="FOK",
                    client_order_id=f"b{i}")
        for i in range(2)
    ]  # fmt: skip
    acks = client.post_orders(legs)
    assert all(a.reconciled and a.status == "MATCHED" for a in acks)
    assert client.stats.resends == 0 and client.stats.reconciles == 2
    assert [t["price"] for t in client.trades()] == ["0.53", "0.54"]  # one fill each, no third
    assert len(double.call(lambda ex: ex.all_orders())) == 2
    client.close()
