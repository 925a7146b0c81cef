"""A real local chain (ganache, chain id 137) with a throwaway funded key, a test ERC-20,
and the real Conditional Tokens contract deployed from its published npm artifact."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from polyarb.chain.localchain import (
    LocalChain,
    approve,
    deploy_ctf,
    deploy_token,
    prepare_condition,
)


def _key() -> tuple[str, str]:
    acct = Account.create()  # a throwaway key, generated now, never written anywhere
    key = acct.key.hex()
    return (key if key.startswith("0x") else "0x" + key), acct.address


@dataclass
class Chain:
    url: str
    key: str
    address: str
    token: str
    spender: str
    ctf: str = ""
    oracle_key: str = ""
    oracle: str = ""

    def condition(self, name: str) -> tuple[str, bytes]:
        """Prepare a fresh binary condition (this chain's oracle); ``(condition_id, question_id)``."""
        qid = name.encode().ljust(32, b"\0")
        return prepare_condition(self.url, self.key, self.ctf, self.oracle, qid), qid


@pytest.fixture(scope="module")
def chain137() -> Iterator[Chain]:
    key, address = _key()
    oracle_key, oracle = _key()
    with LocalChain(137, {key: 10**21, oracle_key: 10**21}) as chain:
        token = deploy_token(chain.url, key, 1_000 * 10**6)
        spender = Account.create().address
        approve(chain.url, key, token, spender, 250 * 10**6)
        ctf = deploy_ctf(chain.url, key)
        yield Chain(chain.url, key, address, token, spender, ctf, oracle_key, oracle)


def write_env(folder: Path, chain: Chain) -> Path:
    """A mode-600 ``.env`` holding the throwaway key and the local RPC."""
    env = folder / ".env"
    env.write_text(f"POLYARB_PRIVATE_KEY={chain.key}\nPOLYGON_RPC_URL={chain.url}\n")
    env.chmod(0o600)
    return env


def write_profile(folder: Path, chain: Chain, **settlement: object) -> Path:
    """A phase-1 live profile whose ``chain`` section points at this chain's deployments."""
    import yaml

    data = {
        "name": "chain-test",
        "phase": 1,
        "mode": "live",
        "chain": {
            "chain_id": 137,
            "collateral": chain.token,
            "conditional_tokens": chain.ctf,
            "operator": chain.ctf,
            "pol_usd": "0.50",
        },
        "settlement": {"auto": True, **settlement},
    }
    path = folder / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def chain_env(chain137: Chain, tmp_path: Path) -> Path:
    return write_env(tmp_path, chain137)


@pytest.fixture
def make_profile(chain137: Chain, tmp_path: Path):  # type: ignore[no-untyped-def]
    return lambda **settlement: write_profile(tmp_path, chain137, **settlement)
