"""Issue 13 item 8: LOW_BALANCE and RPC_UNHEALTHY read real sources through tick rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from live_support import KEY, PROFILES

from polyarb.alerts.rules import load_alert_rules
from polyarb.chain.client import ChainClient
from polyarb.chain.localchain import LocalChain
from polyarb.config.profile import load_profile
from polyarb.engine import Engine, MemorySink
from polyarb.live.monitors import HealthMonitor
from polyarb.recording import SessionReader
from polyarb.server.clob import ClobExchange, ClobServerThread, markets_from_meta
from polyarb.units import SCALE
from polyarb.venues.polymarket import PolymarketClient


def _alerts_through_engine(ticks: list[dict[str, object]], rule: str) -> list[str]:
    """Feed tick rows carrying the monitor's fields to an engine; the rule's fired/cleared."""
    profile = load_profile(PROFILES / "live_negrisk_v1.yaml")
    sink = MemorySink()
    engine = Engine(
        [],
        profile,
        sink,
        alert_rules=load_alert_rules(PROFILES / "alerts.production.yaml"),
        live=True,
    )
    for i, fields in enumerate(ticks):
        payload = json.dumps({"connected": 1, "connections": 1, **fields}, separators=(",", ":"))
        engine.on_frame(i, (i + 1) * 1_000_000_000, "tick", payload)
    return [a["state"] for a in sink.tables["alerts"] if a["rule"] == rule]


def test_low_balance_fires_when_the_exchange_balance_drains_and_clears(
    negrisk_source: Path,
) -> None:
    """The monitor asks the exchange double for the wallet's pUSD; draining it below the
    rule's $20 fires LOW_BALANCE on the next tick, funding it clears it."""
    exchange = ClobExchange(
        markets_from_meta(SessionReader(negrisk_source).markets()), lambda _t: None
    )
    with ClobServerThread(exchange, host="127.0.0.1", port=0) as server:
        client = PolymarketClient(server.url, KEY)
        client.create_or_derive_api_key()
        monitor = HealthMonitor(balance=lambda: int(client.balance_allowance()["balance"]))
        ticks = [monitor.poll_once()]
        server.call(lambda ex: setattr(ex.account(client.address), "collateral", 5 * SCALE))
        ticks += [monitor.poll_once(), monitor.poll_once()]
        server.call(lambda ex: setattr(ex.account(client.address), "collateral", 500 * SCALE))
        ticks.append(monitor.poll_once())
    assert [t["balance"] for t in ticks] == [1_000 * SCALE, 5 * SCALE, 5 * SCALE, 500 * SCALE]
    assert _alerts_through_engine(ticks, "LOW_BALANCE") == ["fired", "cleared"]


@pytest.mark.slow
def test_rpc_unhealthy_fires_when_the_local_chain_stops_and_clears_on_restart() -> None:
    """A real local chain: up → rpc_ok; stopped → rpc_ok false for 3 ticks fires
    RPC_UNHEALTHY; restarted on the same port → cleared."""
    chain = LocalChain(137)
    with chain:
        monitor = HealthMonitor(rpc=ChainClient(chain.url, timeout_s=1.0), max_block_age_s=None)
        ticks = [monitor.poll_once()]
    ticks += [monitor.poll_once() for _ in range(3)]
    again = LocalChain(137)
    again.port, again.url = chain.port, chain.url
    with again:
        ticks.append(monitor.poll_once())
    assert [t["rpc_ok"] for t in ticks] == [True, False, False, False, True]
    assert _alerts_through_engine(ticks, "RPC_UNHEALTHY") == ["fired", "cleared"]


def test_block_age_makes_a_stalled_node_unhealthy() -> None:
    """A node that answers with an old latest block is not healthy (block age check)."""

    class Stalled(ChainClient):
        def __init__(self) -> None:
            pass

        def health(self):  # type: ignore[no-untyped-def]
            from polyarb.chain.client import RpcHealth

            return RpcHealth(True, 137, 10, 1_000, 5)

    monitor = HealthMonitor(rpc=Stalled(), max_block_age_s=120, clock=lambda: 1_100.0)
    assert monitor.poll_once() == {"rpc_ok": True}
    monitor.clock = lambda: 1_500.0
    assert monitor.poll_once() == {"rpc_ok": False}
