"""Issue 13 item 4 (double): shares of a trade that later FAILS cannot leave the account short."""

from __future__ import annotations

from clob_support import MARKET, FakeClock

from polyarb.server.clob import ClobExchange, ClobServerThread
from polyarb.units import SCALE
from polyarb.venues.polymarket import PolymarketClient


def _step(double: ClobServerThread, clock: FakeClock) -> None:
    clock.now += 5
    double.call(lambda ex: ex.sweep())


def test_sell_of_a_failed_buys_shares_fails_with_it(
    client: PolymarketClient, double: ClobServerThread, clock: FakeClock
) -> None:
    """Shares are spendable at MATCHED (a SELL right after the BUY is accepted), and when the
    BUY then FAILS the SELL that spent its shares fails too: the account holds no negative
    shares and its pUSD is back at the start. Old code left -5 shares and kept the proceeds."""

    def arm(ex: ClobExchange) -> None:
        ex.faults.trade_delay_s = 5.0
        ex.faults.fail_trades_next = 1

    double.call(arm)
    client.place(
        MARKET, side="BUY", price=530_000, size=5_000_000, order_type="FOK", client_order_id="b"
    )
    sold = client.place(
        MARKET, side="SELL", price=480_000, size=5_000_000, order_type="FAK", client_order_id="s"
    )
    assert sold.status == "matched"  # spendable at MATCHED, as on the exchange
    _step(double, clock)  # BUY RETRYING, SELL MINED
    _step(double, clock)  # BUY FAILED → SELL FAILED
    _step(double, clock)  # nothing left to advance: the SELL does not come back to life
    statuses = [t["status"] for t in client.trades()]
    assert statuses == ["FAILED", "FAILED"]
    acct = double.call(lambda ex: ex.account(client.address))
    assert acct.tokens.get(MARKET.token_id, 0) == 0
    assert acct.collateral == 1_000 * SCALE


def test_sell_of_shares_held_before_stays_when_a_later_buy_fails(
    client: PolymarketClient, double: ClobServerThread, clock: FakeClock
) -> None:
    """Only the SELLs the failed BUY's shares paid for fail: a SELL covered by other shares
    settles (the balance never needs it)."""
    client.place(
        MARKET, side="BUY", price=540_000, size=10_000_000, order_type="FOK", client_order_id="b1"
    )
    _step(double, clock)
    _step(double, clock)
    double.call(lambda ex: setattr(ex.faults, "fail_trades_next", 1))
    client.place(
        MARKET, side="BUY", price=540_000, size=5_000_000, order_type="FOK", client_order_id="b2"
    )
    client.place(
        MARKET, side="SELL", price=480_000, size=5_000_000, order_type="FAK", client_order_id="s"
    )
    for _ in range(3):
        _step(double, clock)
    statuses = [t["status"] for t in client.trades()]
    assert statuses.count("FAILED") == 1 and statuses.count("CONFIRMED") >= 2
    acct = double.call(lambda ex: ex.account(client.address))
    assert acct.tokens.get(MARKET.token_id, 0) == 5_000_000
