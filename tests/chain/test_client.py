"""ChainClient against a real local JSON-RPC chain: chain id, native and ERC-20 reads, errors."""

from __future__ import annotations

from eth_account import Account

from polyarb.chain.client import ChainClient
from polyarb.chain.localchain import LocalChain, free_port
from polyarb.env import redact_url


def test_health_reports_chain_id_and_block(chain137) -> None:
    h = ChainClient(chain137.url).health()
    assert h.ok and h.chain_id == 137 and h.block_number is not None and h.block_number >= 2
    assert h.latency_ms is not None and h.block_timestamp


def test_native_and_erc20_balances_and_allowance(chain137) -> None:
    c = ChainClient(chain137.url)
    assert 0 < c.native_balance(chain137.address) <= 10**21
    assert c.erc20_balance(chain137.token, chain137.address) == 1_000 * 10**6
    assert c.erc20_allowance(chain137.token, chain137.address, chain137.spender) == 250 * 10**6
    other = Account.create().address
    assert c.erc20_balance(chain137.token, other) == 0
    assert c.erc20_allowance(chain137.token, chain137.address, other) == 0
    assert c.has_code(chain137.token) and not c.has_code(other)


def test_other_chain_id_is_reported_as_is() -> None:
    with LocalChain(chain_id=80002) as chain:
        assert ChainClient(chain.url).health().chain_id == 80002


def test_unreachable_rpc_is_unhealthy_and_url_secret_is_redacted() -> None:
    url = f"http://127.0.0.1:{free_port()}/v2/SECRETAPIKEY"
    h = ChainClient(url, timeout_s=1).health()
    assert not h.ok and h.chain_id is None
    assert "127.0.0.1" in h.error and "SECRETAPIKEY" not in h.error


def test_redact_url_keeps_host_only() -> None:
    assert redact_url("https://polygon.example:8545/v2/KEY?x=KEY") == "https://polygon.example:8545"
