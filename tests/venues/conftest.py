"""The Polymarket adapter against the exchange double on loopback, with throwaway keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clob_support import CONDITION, KEY, NR_CONDITION, NR_TOKEN, TOKEN, FakeClock, Sleeper

from polyarb.book.book import OrderBook
from polyarb.server.clob import ClobExchange, ClobServerThread, MarketInfo
from polyarb.venues.polymarket import PolymarketClient, RetryPolicy


def _book(token: str, condition: str, tick: int) -> OrderBook:
    book = OrderBook(token, condition, tick)
    book.apply_snapshot(
        bids=((480_000, 20_000_000), (470_000, 50_000_000)),
        asks=((530_000, 5_000_000), (540_000, 100_000_000)),
        ts_ms=1,
    )
    return book


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def exchange(clock: FakeClock) -> ClobExchange:
    books = {TOKEN: _book(TOKEN, CONDITION, 10_000), NR_TOKEN: _book(NR_TOKEN, NR_CONDITION, 1_000)}
    markets = [
        MarketInfo(TOKEN, CONDITION, "Yes", tick=10_000, fee_rate=70_000),
        MarketInfo(NR_TOKEN, NR_CONDITION, "No", tick=1_000, neg_risk=True),
    ]
    return ClobExchange(markets, books.get, clock=clock, heartbeat_timeout_s=15.0)


@pytest.fixture
def double(exchange: ClobExchange) -> Iterator[ClobServerThread]:
    with ClobServerThread(exchange, sweep_s=0.02) as thread:
        yield thread


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
def client(
    double: ClobServerThread, clock: FakeClock, sleeper: Sleeper
) -> Iterator[PolymarketClient]:
    c = PolymarketClient(
        double.url, KEY, clock=clock, sleep=sleeper, policy=RetryPolicy(timeout_s=10.0)
    )
    c.derive_api_key()
    yield c
    c.close()
