"""Issue 13 item 7: `polyarb stop` / SIGTERM / a halting alert cancel every open order,
confirmed with the exchange, even while the engine loop is busy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from live_support import KEY, REPO, live_options

from polyarb.live.runner import STOPPED_FILE, LiveRun
from polyarb.recording import SessionReader
from polyarb.venues.polymarket import MarketParams, PolymarketClient

pytestmark = pytest.mark.slow


def _rest_orders(clob: str, source: Path, n: int) -> list[str]:
    """GTC BUYs at the lowest tick: they rest on the double (nothing sells that low)."""
    client = PolymarketClient(clob, KEY)
    client.create_or_derive_api_key()
    meta = SessionReader(source).markets()[0]
    ids = []
    for i in range(n):
        ack = client.place(
            MarketParams(meta.token_ids[0], meta.tick_size, meta.neg_risk),
            side="BUY", price=meta.tick_size, size=(10 + i) * 1_000_000,
            order_type="GTC", client_order_id=f"rest-{i}",
        )  # fmt: skip
        ids.append(ack.order_id)
    assert len(client.open_orders()) == n
    return ids


def test_stop_cancels_resting_orders_while_the_engine_loop_is_busy(
    negrisk_source: Path, tmp_path: Path, serve
) -> None:  # type: ignore[no-untyped-def]
    """`polyarb stop` (the STOP file it writes) is acted on by the kill-switch thread while the
    event loop is blocked for 3 s: all resting orders cancelled and confirmed before the loop
    frees up, new orders refused, the session still sealed cleanly."""
    ws, clob = serve(negrisk_source, "--speed", "5")
    run = LiveRun(live_options(negrisk_source, tmp_path, ws, clob, duration_s=60.0))
    busy: dict[str, float] = {}
    stop_rc: list[int] = []

    async def scenario() -> None:
        await asyncio.sleep(1.0)
        ids = await asyncio.to_thread(_rest_orders, clob, negrisk_source, 3)
        busy["ids"] = len(ids)

        def polyarb_stop() -> None:
            stop_rc.append(subprocess.run(
                [sys.executable, "-m", "polyarb", "stop", "--recordings", str(tmp_path),
                 "--session", "live", "--wait", "20"],
                cwd=REPO, capture_output=True, text=True,
            ).returncode)  # fmt: skip

        threading.Thread(target=polyarb_stop, daemon=True).start()
        # The engine loop is busy (a stand-in for a long burst of frames): nothing on the loop
        # runs, the kill switch must not need it.
        start = time.time()
        while not (run.sink.dir / STOPPED_FILE).exists() and time.time() - start < 20:
            time.sleep(0.01)
        busy["stopped_seen_while_busy"] = (run.sink.dir / STOPPED_FILE).exists()
        time.sleep(1.0)

    async def main() -> dict:  # type: ignore[type-arg]
        task = asyncio.create_task(run.run())
        await scenario()
        return await task

    run_json = asyncio.run(main())
    assert busy["stopped_seen_while_busy"]
    kill = json.loads((run.sink.dir / STOPPED_FILE).read_text())
    assert kill["reason"] == "polyarb stop" and kill["confirmed"] and kill["open_after"] == 0
    assert len(kill["cancelled"]) == 3
    assert run.sender.halted
    client = PolymarketClient(clob, KEY)
    client.create_or_derive_api_key()
    assert client.open_orders() == []
    assert run_json["clean_exit"] and run_json["live"]["kill"]["confirmed"]
    assert stop_rc == [0]


def test_a_halting_alert_cancels_resting_orders_by_itself(
    negrisk_source: Path, tmp_path: Path, serve
) -> None:  # type: ignore[no-untyped-def]
    """With $1 in the wallet every basket leg is refused; five answered orders and no fill
    fire LIVE_NO_FILLS (CRITICAL, halts), and the kill switch cancels the resting orders and
    ends the run without anyone asking."""
    ws, clob = serve(negrisk_source, "--speed", "10", "--clob-balance", "1")
    run = LiveRun(live_options(negrisk_source, tmp_path, ws, clob, duration_s=90.0))

    async def main() -> dict:  # type: ignore[type-arg]
        task = asyncio.create_task(run.run())
        await asyncio.sleep(0.5)
        await asyncio.to_thread(_rest_orders, clob, negrisk_source, 2)
        return await task

    run_json = asyncio.run(main())
    kill = json.loads((run.sink.dir / STOPPED_FILE).read_text())
    assert kill["reason"] == "halting alert" and kill["confirmed"]
    assert len(kill["cancelled"]) == 2
    assert run_json["summary"]["halts"] >= 1
    client = PolymarketClient(clob, KEY)
    client.create_or_derive_api_key()
    assert client.open_orders() == []
