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

from polyarb.chain.withdraw import OPEN_ORDERS_FILE
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


def _withdraw_while_listed(run: LiveRun, ids: set[str], recordings: Path) -> tuple[int, str]:
    """Issue 13 item 6: once open_orders.json lists the resting orders, `polyarb withdraw`
    refuses (exit 1) naming the run (old code: no file, so withdrawal went ahead)."""
    path = run.sink.dir / OPEN_ORDERS_FILE
    deadline = time.time() + 20
    while time.time() < deadline:
        if path.exists() and ids <= set(json.loads(path.read_text())["orders"]):
            break
        time.sleep(0.05)
    proc = subprocess.run(
        [sys.executable, "-m", "polyarb", "withdraw", "--recordings", str(recordings),
         "--to", "0x" + "12" * 20, "--amount", "1", "--profile", "none.yaml", "--yes"],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def test_stop_cancels_resting_orders_while_the_engine_loop_is_busy(
    negrisk_source: Path, tmp_path: Path, serve
) -> None:  # type: ignore[no-untyped-def]
    """`polyarb stop` (the STOP file it writes) is acted on by the kill-switch thread while the
    event loop is blocked for 3 s: all resting orders cancelled and confirmed before the loop
    frees up, new orders refused, the session still sealed cleanly. While they rest,
    open_orders.json lists them and `polyarb withdraw` refuses; after the stop it is empty."""
    ws, clob = serve(negrisk_source, "--speed", "5")
    run = LiveRun(live_options(negrisk_source, tmp_path, ws, clob, duration_s=60.0))
    busy: dict[str, float] = {}
    stop_rc: list[int] = []

    async def scenario() -> None:
        await asyncio.sleep(1.0)
        ids = await asyncio.to_thread(_rest_orders, clob, negrisk_source, 3)
        busy["ids"] = len(ids)
        busy["withdraw"] = await asyncio.to_thread(_withdraw_while_listed, run, set(ids), tmp_path)

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
    rc, out = busy["withdraw"]  # type: ignore[misc]
    assert rc == 1 and "refusing to withdraw while orders are open" in out, out
    assert "live/live: 3 open order(s)" in out
    # A clean stop leaves the list empty: withdrawal is allowed again (as far as orders go).
    assert json.loads((run.sink.dir / OPEN_ORDERS_FILE).read_text()) == {"orders": []}
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
