"""Issue 13 item 8: LOW_BALANCE and RPC_UNHEALTHY read real sources through tick rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from live_support import KEY, PROFILES

from polyarb.alerts.rules import load_alert_rules
from polyarb.chain.client import ChainClient
from polyarb.chain.localchain import LocalChain
from polyarb.config.profile import Profile, load_profile
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


def _wallet() -> tuple[str, str]:
    from eth_account import Account

    acct = Account.create()  # throwaway, never written outside tmp_path
    key = acct.key.hex()
    return (key if key.startswith("0x") else "0x" + key), acct.address


def _shadow_env(folder: Path, key: str, url: str, spender: str) -> Path:
    env = folder / ".env"
    env.write_text(
        f"POLYARB_PRIVATE_KEY={key}\nPOLYGON_RPC_URL={url}\nPOLYARB_ALLOWANCE_SPENDERS={spender}\n"
    )
    env.chmod(0o600)
    return env


def _shadow_profile(token: str) -> Profile:
    """The shipped shadow profile with its pUSD pointed at this chain's test token."""
    profile = load_profile(PROFILES / "live_shadow_atomic_v1.yaml")
    chain = profile.chain.model_copy(update={"collateral": token})
    return profile.model_copy(update={"chain": chain})


@pytest.mark.slow
def test_shadow_low_balance_fires_from_the_chain_balance_and_allowance(tmp_path: Path) -> None:
    """Shadow has no exchange account: the monitor `polyarb shadow` builds reads the wallet's
    pUSD on chain. Draining the ERC-20 balance fires LOW_BALANCE, refunding it clears it, and
    an allowance cut to $5 fires it again (collateral the exchange cannot pull is not usable)."""
    from polyarb.chain.localchain import approve, deploy_token, transfer
    from polyarb.env import read_env
    from polyarb.live.monitors import shadow_monitor

    key, owner = _wallet()
    other_key, other = _wallet()
    _, spender = _wallet()
    with LocalChain(137, {key: 10**21, other_key: 10**21}) as chain:
        token = deploy_token(chain.url, key, 1_000 * SCALE)
        approve(chain.url, key, token, spender, 1_000 * SCALE)
        env = read_env(_shadow_env(tmp_path, key, chain.url, spender))
        monitor = shadow_monitor(env, _shadow_profile(token))
        assert monitor is not None
        ticks = [monitor.poll_once()]
        transfer(chain.url, key, token, other, 995 * SCALE)
        ticks.append(monitor.poll_once())
        transfer(chain.url, other_key, token, owner, 495 * SCALE)
        ticks.append(monitor.poll_once())
        approve(chain.url, key, token, spender, 5 * SCALE)
        ticks.append(monitor.poll_once())
    assert [t["balance"] for t in ticks] == [1_000 * SCALE, 5 * SCALE, 500 * SCALE, 5 * SCALE]
    assert all(t["rpc_ok"] for t in ticks)
    assert _alerts_through_engine(ticks, "LOW_BALANCE") == ["fired", "cleared", "fired"]


@pytest.mark.slow
def test_shadow_rpc_unhealthy_fires_and_clears_with_the_chain_stopped_and_restarted(
    tmp_path: Path,
) -> None:
    """The shadow monitor built from `.env` watches the node: stopped → 3 ticks rpc_ok false
    fire RPC_UNHEALTHY (no balance observed meanwhile); restarted on the same port → cleared."""
    from polyarb.env import read_env
    from polyarb.live.monitors import shadow_monitor

    key, _ = _wallet()
    chain = LocalChain(137)
    with chain:
        env = read_env(_shadow_env(tmp_path, key, chain.url, _wallet()[1]))
        monitor = shadow_monitor(env, load_profile(PROFILES / "live_shadow_atomic_v1.yaml"))
        assert monitor is not None
        monitor._rpc = ChainClient(chain.url, timeout_s=1.0)  # a fast failure when it is down
        ticks = [monitor.poll_once()]
    ticks += [monitor.poll_once() for _ in range(3)]
    again = LocalChain(137)
    again.port, again.url = chain.port, chain.url
    with again:
        ticks.append(monitor.poll_once())
    assert [t["rpc_ok"] for t in ticks] == [True, False, False, False, True]
    assert all("balance" not in t for t in ticks[1:4])
    assert _alerts_through_engine(ticks, "RPC_UNHEALTHY") == ["fired", "cleared"]


def test_shadow_without_an_rpc_builds_no_monitor(tmp_path: Path) -> None:
    """No POLYGON_RPC_URL in `.env` (or no `.env`): shadow runs without chain health."""
    from polyarb.env import read_env
    from polyarb.live.monitors import shadow_monitor

    env = tmp_path / ".env"
    env.write_text("POLYARB_DRY_RUN=true\n")
    profile = load_profile(PROFILES / "live_shadow_atomic_v1.yaml")
    assert shadow_monitor(read_env(env), profile) is None
    assert shadow_monitor(None, profile) is None


@pytest.mark.slow
def test_live_low_balance_reads_the_lower_of_exchange_and_chain(negrisk_source: Path) -> None:
    """Live polls the exchange and, with an RPC, the wallet's pUSD on chain: the tick's
    balance is the lower answer, so an on-chain drain the exchange does not show yet fires
    LOW_BALANCE (before, only the exchange's $1,000 was read)."""
    from polyarb.chain.localchain import deploy_token, transfer
    from polyarb.live.monitors import chain_collateral

    key, owner = _wallet()
    _, other = _wallet()
    exchange = ClobExchange(
        markets_from_meta(SessionReader(negrisk_source).markets()), lambda _t: None
    )
    with (
        LocalChain(137, {key: 10**21}) as chain,
        ClobServerThread(exchange, host="127.0.0.1", port=0) as server,
    ):
        token = deploy_token(chain.url, key, 1_000 * SCALE)
        client = PolymarketClient(server.url, key)
        client.create_or_derive_api_key()
        monitor = HealthMonitor(
            balance=lambda: int(client.balance_allowance()["balance"]),
            chain_balance=chain_collateral(ChainClient(chain.url), token, owner),
        )
        ticks = [monitor.poll_once()]
        transfer(chain.url, key, token, other, 990 * SCALE)
        ticks.append(monitor.poll_once())
    assert [t["balance"] for t in ticks] == [1_000 * SCALE, 10 * SCALE]
    assert _alerts_through_engine(ticks, "LOW_BALANCE") == ["fired"]
