"""Time the live order path against the local exchange double (issue 13 benchmark, partly).

Measures (1) signing time per CLOB V2 order with the adapter (EIP-712 through
py-clob-client-v2 and eth_account) and (2) order sent → acknowledged p50/p99
for FAK orders posted by ``PolymarketClient`` to the double on loopback (the
double verifies the HMAC and recovers the signer, so both ends' crypto is in the
number). The third figure of the issue (decisions/s of the live loop under a
10,000 frames/s feed) needs ``polyarb live``, which is not wired yet.
Prints numbers; asserts nothing about time.

    .venv/bin/python benchmarks/bench_live.py [--orders 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

from polyarb.book.book import OrderBook
from polyarb.server.clob import ClobExchange, ClobServerThread, MarketInfo
from polyarb.units import SCALE
from polyarb.venues.polymarket import MarketParams, PolymarketClient
from polyarb.venues.polymarket.signing import BUY, sign_order

KEY = "0x" + "44" * 32  # throwaway
TOKEN, CONDITION = "1", "0x" + "ab" * 32


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    market = MarketParams(TOKEN, 10_000)

    # warm-up: the first signature pays the imports and the key's public-key derivation
    sign_order(KEY, market, side=BUY, price=550_000, size=5_000_000, order_type="FAK",
               owner="k", client_order_id="warm", timestamp_ms=1)  # fmt: skip
    began = time.perf_counter()
    for i in range(args.orders):
        sign_order(
            KEY,
            market,
            side=BUY,
            price=550_000,
            size=5_000_000,
            order_type="FAK",
            owner="k",
            client_order_id=f"s{i}",
            timestamp_ms=1,
        )
    sign_ms = (time.perf_counter() - began) * 1000 / args.orders

    book = OrderBook(TOKEN, CONDITION, 10_000)
    book.apply_snapshot((), ((550_000, 10**9 * SCALE),), 1)
    exchange = ClobExchange(
        [MarketInfo(TOKEN, CONDITION)],
        {TOKEN: book}.get,
        collateral=10**9 * SCALE,
        allowance=10**9 * SCALE,
    )
    acks: list[float] = []
    with ClobServerThread(exchange) as double:
        client = PolymarketClient(double.url, KEY)
        client.derive_api_key()
        signed = [
            client.sign(
                market,
                side=BUY,
                price=550_000,
                size=5_000_000,
                order_type="FAK",
                client_order_id=f"p{i}",
            )
            for i in range(args.orders)
        ]
        for order in signed:
            t0 = time.perf_counter()
            client.post_order(order)
            acks.append((time.perf_counter() - t0) * 1000)
        client.close()
    print(f"signing: {sign_ms:.2f} ms per order ({args.orders} orders)")
    print(
        f"sent → acknowledged (loopback double): p50 {statistics.median(acks):.2f} ms, "
        f"p99 {_percentile(acks, 0.99):.2f} ms"
    )
    print("decisions/s under a 10,000 frames/s feed: needs `polyarb live` (not wired yet)")


if __name__ == "__main__":
    main()
