"""Time the live order path against the local exchange double (issue 13 benchmark, partly).

Measures (1) signing time per CLOB V2 order with the adapter (EIP-712 through
py-clob-client-v2 and eth_account) and (2) order sent → acknowledged p50/p99
for FAK orders posted by ``PolymarketClient`` to the double on loopback (the
double verifies the HMAC and recovers the signer, so both ends' crypto is in the
number), and (3) the live loop (``LiveRun``: feed → recorder + engine with
the live venue, user channel, heartbeat, kill switch) while ``polyarb serve
--clob`` plays ``--frames`` real resolvedkit frames re-timed to ``--rate``
frames/s (10,000 default) with the bundled neg-risk event's real frames laid
over them, round after round, 25 ms apart (its markets' events must go quiet
to end, docs/engine.md), traded with the ``live_negrisk_v1`` profile (a $2
phase-1 profile cannot fund a leg of this data, so it would decide nothing;
the first round's basket fills, later rounds meet the position limits):
frames/s achieved, decisions/s, decision →
order outcome known p50/p99 (``orders.parquet``: ``arrive_ns − submit_ns``, the
answer row and the trades that cover it recorded), frame latency p50/p99, and
whether parity of the live recording passes.
Prints numbers; asserts nothing about time.

    .venv/bin/python benchmarks/bench_live.py [--orders 200] [--rate 10000] [--frames 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench_support import write_paced

from polyarb.book.book import OrderBook
from polyarb.server.clob import ClobExchange, ClobServerThread, MarketInfo
from polyarb.units import SCALE
from polyarb.venues.polymarket import MarketParams, PolymarketClient
from polyarb.venues.polymarket.signing import BUY, sign_order

KEY = "0x" + "44" * 32  # throwaway
TOKEN, CONDITION = "1", "0x" + "ab" * 32
PROFILE = "live_negrisk_v1.yaml"
"""The live loop's profile: neg-risk baskets the bundled event really trades."""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--rate", type=int, default=10_000, help="market frames/s to serve")
    parser.add_argument("--frames", type=int, default=20_000, help="market frames to serve")
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
    live_loop(args.rate, args.frames)


def overlay_session(background: Path, event: Path, root: Path, frames: int, rate: int) -> Path:
    """``frames`` background frames at ``rate``/s, and ``event``'s frames over them.

    The event's frames keep their order and are spaced 1/40 of their recorded gaps
    (the bundled event: 1 s → 25 ms, above the engine's 20 ms event boundary); its
    rounds follow one another until the background ends. 1 s tick rows.
    """
    from polyarb.recording import SessionReader

    bg = SessionReader(background)
    ev = SessionReader(event)
    payloads = [f.payload for f in bg.frames() if f.kind == "frame"][:frames]
    ev_frames = [(f.recv_ns, f.payload) for f in ev.frames() if f.kind == "frame"]
    step = 1_000_000_000 // rate
    t0 = 1_790_000_000 * 10**9
    end = t0 + len(payloads) * step
    first = ev_frames[0][0]
    period = (ev_frames[-1][0] - first) // 40 + 100_000_000
    rows = [(t0 + i * step, 0, p) for i, p in enumerate(payloads)]
    start = t0
    while start < end:
        rows += [
            (start + (t - first) // 40, 1, p)
            for t, p in ev_frames
            if start + (t - first) // 40 < end
        ]
        start += period
    rows.sort(key=lambda r: (r[0], r[1]))
    assets = [*bg.manifest["assets"], *ev.manifest["assets"]]
    return write_paced(
        root, assets, [*bg.markets(), *ev.markets()], [(r, p) for r, _, p in rows], t0
    )


def live_loop(rate: int, frames: int) -> None:
    """Figure 3: the live loop against the double under a paced market feed."""
    import asyncio
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import pyarrow.parquet as pq

    from polyarb.alerts.rules import load_alert_rules
    from polyarb.cli.common import shared_data_dir
    from polyarb.config.profile import load_profile
    from polyarb.feed import FeedConfig
    from polyarb.live.runner import LiveOptions, LiveRun
    from polyarb.recording import SessionReader
    from polyarb.recording.imports import import_resolvedkit
    from polyarb.recording.imports.negrisk import import_negrisk
    from polyarb.shadow.parity import run_parity
    from polyarb.shadow.runner import ShadowOptions

    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        background = import_resolvedkit(shared_data_dir() / "resolvedkit_btc15m", root / "bg")
        event = import_negrisk(shared_data_dir(), root / "src")
        session = overlay_session(background, event, root / "paced-rec", frames, rate)
        profile = load_profile(repo / "profiles" / PROFILE)
        reader = SessionReader(session)
        proc = subprocess.Popen(
            [sys.executable, "-m", "polyarb", "serve", "--session", str(session), "--port", "0",
             "--exit-at-end", "--clob", "--clob-port", "0"],
            stdout=subprocess.PIPE, text=True, cwd=repo,
        )  # fmt: skip
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ")[1].split()[0]
        clob = proc.stdout.readline().split(" on ")[1].split()[0]
        try:
            run = LiveRun(
                LiveOptions(
                    shadow=ShadowOptions(
                        profile=profile,
                        rules=load_alert_rules(repo / "profiles" / "alerts.production.yaml"),
                        markets=reader.markets(),
                        assets=list(reader.manifest["assets"]),
                        recordings=root / "out",
                        session_id="bench",
                        feed=FeedConfig(url=url, tick_interval_s=1.0),
                    ),
                    clob_url=clob,
                    private_key=KEY,
                )
            )

            async def go() -> dict:  # type: ignore[type-arg]
                task = asyncio.create_task(run.run())
                await asyncio.to_thread(proc.wait, 600)  # serve exits at the end of the session
                await asyncio.sleep(0.5)
                run.stop()
                return await task

            t = time.perf_counter()
            result = asyncio.run(go())
            wall = time.perf_counter() - t
        finally:
            proc.kill()
        run_dir = root / "out" / "bench" / "runs" / "live"
        table = pq.read_table(
            str(run_dir / "metrics.parquet"), filters=[("name", "=", "frame_latency_ns")]
        )
        lat = sorted(v / 1000 for v in table.column("value").to_pylist())
        ts = table.column("ts_ns").to_pylist()
        span = (max(ts) - min(ts)) / 1e9 if len(ts) > 1 else float("nan")
        orders = pq.read_table(str(run_dir / "orders.parquet")).to_pylist()
        acks = sorted((o["arrive_ns"] - o["submit_ns"]) / 1e6 for o in orders)
        parity = run_parity(root / "out" / "bench", shadow_run="live")
    decisions = result["summary"]["decisions"]
    print(f"live loop at a stated feed rate of {rate:,} frames/s ({frames:,} real frames, "
          f"profile {PROFILE}, the neg-risk event laid over them)")  # fmt: skip
    print(f"  frames processed     {len(lat):,} in {span:.2f} s = {len(lat) / span:,.0f} frames/s "
          f"(wall {wall:.1f} s)")  # fmt: skip
    print(f"  decisions            {decisions:,} = {decisions / span:,.1f} decisions/s; "
          f"orders sent {result['live']['orders_sent']}")  # fmt: skip
    if acks:
        print(f"  decision → outcome   p50 {_percentile(acks, 0.5):.1f} ms, "
              f"p99 {_percentile(acks, 0.99):.1f} ms over {len(acks)} orders")  # fmt: skip
    print(
        f"  frame latency        p50 {_percentile(lat, 0.5):.1f} µs, p99 {_percentile(lat, 0.99):.1f} µs"
    )
    print(f"  parity               {parity.status}")


if __name__ == "__main__":
    main()
