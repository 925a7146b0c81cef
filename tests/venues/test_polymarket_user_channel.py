"""The user channel of the double, heard through the adapter's client, against real shapes.

Event keys are compared with the recorded user-channel samples in
../shared/data/polymarket/ws_user/; time is moved by hand and the lifecycle is
advanced with ``sweep()``, so nothing waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clob_support import CONDITION, MARKET, FakeClock

from polyarb.protocol.user import UserOrder, UserTrade, parse_user_frame
from polyarb.server.clob import ClobExchange, ClobServerThread
from polyarb.units import SCALE
from polyarb.venues.polymarket import ApiCreds, PolymarketClient
from polyarb.venues.polymarket.signing import BUY
from polyarb.venues.polymarket.user_channel import user_frames


def _sample(shared_data: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((shared_data / "ws_user" / name).read_text()))


def _listen(
    double: ClobServerThread,
    client: PolymarketClient,
    act: Callable[[], None],
    count: int,
    markets: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Subscribe, run ``act`` (in a thread), collect ``count`` events or until the socket closes."""
    assert client.creds is not None
    creds = client.creds

    async def main() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        frames = user_frames(double.ws_url, creds, markets or [CONDITION])
        first = asyncio.ensure_future(anext(frames))
        await _subscribed(double)  # events are not replayed: subscribe before acting
        worker = asyncio.create_task(asyncio.to_thread(act))
        try:
            got.append(json.loads(await asyncio.wait_for(first, 20)))
            while len(got) < count:
                got.append(json.loads(await asyncio.wait_for(anext(frames), 20)))
        except StopAsyncIteration:
            pass
        await worker
        await frames.aclose()
        return got

    return asyncio.run(main())


async def _subscribed(double: ClobServerThread) -> None:
    for _ in range(2000):
        assert double.server is not None
        if double.server.subscribers:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the user channel never subscribed")


def _step(double: ClobServerThread, clock: FakeClock) -> None:
    clock.now += 5
    double.call(lambda ex: ex.sweep())


def test_trade_goes_matched_mined_confirmed_with_the_real_fields(
    client: PolymarketClient, double: ClobServerThread, clock: FakeClock, shared_data: Path
) -> None:
    """One FOK fill: three trade events, MATCHED → MINED → CONFIRMED, keys as the live channel's."""
    double.call(lambda ex: setattr(ex.faults, "trade_delay_s", 5.0))

    def act() -> None:
        client.place(
            MARKET, side=BUY, price=530_000, size=5_000_000, order_type="FOK", client_order_id="u1"
        )
        _step(double, clock)
        _step(double, clock)

    events = _listen(double, client, act, 3)
    assert [e["status"] for e in events] == ["MATCHED", "MINED", "CONFIRMED"]
    sample = _sample(shared_data, "trade_taker_matched_2024-09-10.json")
    for event in events:
        assert set(event) == set(sample)
        assert set(event["maker_orders"][0]) == set(sample["maker_orders"][0]) | {"side"}
        assert event["trader_side"] == "TAKER" and event["size"] == "5" and event["price"] == "0.53"
    assert len({e["id"] for e in events}) == 1
    parsed = [parse_user_frame(json.dumps(e))[0] for e in events]
    assert all(isinstance(p, UserTrade) for p in parsed)
    assert [p.size for p in parsed if isinstance(p, UserTrade)] == [5 * SCALE] * 3
    assert int(events[2]["last_update"]) > int(events[0]["match_time"])


def test_failed_trade_goes_retrying_failed_and_is_reversed(
    client: PolymarketClient, double: ClobServerThread, clock: FakeClock, exchange: ClobExchange
) -> None:
    """A failing settlement: MATCHED → RETRYING → FAILED, and the account is as before the fill."""

    def arm(ex: ClobExchange) -> None:
        ex.faults.trade_delay_s = 5.0
        ex.faults.fail_trades_next = 1

    double.call(arm)

    def act() -> None:
        client.place(
            MARKET, side=BUY, price=530_000, size=5_000_000, order_type="FOK", client_order_id="u2"
        )
        _step(double, clock)
        _step(double, clock)

    events = _listen(double, client, act, 3)
    assert [e["status"] for e in events] == ["MATCHED", "RETRYING", "FAILED"]
    acct = double.call(lambda ex: ex.account(client.address))
    assert acct.collateral == 1_000 * SCALE and acct.tokens.get(MARKET.token_id, 0) == 0
    assert client.trades()[0]["status"] == "FAILED"


def test_order_placement_and_cancellation_events_have_the_real_fields(
    client: PolymarketClient, double: ClobServerThread, shared_data: Path
) -> None:
    """A resting order: PLACEMENT/LIVE then CANCELLATION/CANCELED, keys as the samples'."""

    def act() -> None:
        ack = client.place(
            MARKET, side=BUY, price=400_000, size=5_000_000, order_type="GTC", client_order_id="u3"
        )
        client.cancel(ack.order_id)

    events = _listen(double, client, act, 2)
    assert [(e["type"], e["status"]) for e in events] == [
        ("PLACEMENT", "LIVE"),
        ("CANCELLATION", "CANCELED"),
    ]
    assert set(events[0]) == set(_sample(shared_data, "order_placement_2024-09-09.json"))
    assert set(events[1]) == set(_sample(shared_data, "order_cancellation_2024-09-09.json"))
    assert all(isinstance(parse_user_frame(json.dumps(e))[0], UserOrder) for e in events)


def test_dropped_user_channel_closes_after_n_events(
    client: PolymarketClient, double: ClobServerThread
) -> None:
    """Fault: the socket is closed after the first event; the second never arrives on it."""
    double.call(lambda ex: setattr(ex.faults, "drop_user_after", 1))

    def act() -> None:
        for i in range(2):
            client.place(
                MARKET,
                side=BUY,
                price=400_000,
                size=5_000_000,
                order_type="GTC",
                client_order_id=f"d{i}",
            )

    events = _listen(double, client, act, 2)
    assert len(events) == 1 and events[0]["type"] == "PLACEMENT"


def test_user_channel_filters_by_condition_id(
    client: PolymarketClient, double: ClobServerThread
) -> None:
    """A subscriber to another market hears nothing of this one."""

    def act() -> None:
        client.place(
            MARKET, side=BUY, price=400_000, size=5_000_000, order_type="GTC", client_order_id="f"
        )
        double.call(lambda ex: ex.faults.__setattr__("drop_user_after", 0))

    async def main() -> list[str]:
        assert client.creds is not None
        frames = user_frames(double.ws_url, client.creds, ["0x" + "00" * 32])
        nxt = asyncio.ensure_future(anext(frames))
        await _subscribed(double)
        await asyncio.to_thread(act)
        done, _ = await asyncio.wait({nxt}, timeout=0.5)
        nxt.cancel()
        return [t.result() for t in done]

    assert asyncio.run(main()) == []


def test_user_channel_with_a_wrong_secret_is_closed(
    client: PolymarketClient, double: ClobServerThread
) -> None:
    """Bad credentials in the subscribe frame: the socket is closed (1008), no events."""
    assert client.creds is not None
    wrong = ApiCreds(client.creds.api_key, "d3Jvbmc=", client.creds.passphrase)

    async def main() -> list[str]:
        return [frame async for frame in user_frames(double.ws_url, wrong, [CONDITION])]

    assert asyncio.run(asyncio.wait_for(main(), 20)) == []
