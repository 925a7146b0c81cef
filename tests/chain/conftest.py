"""A real local chain (ganache, chain id 137) with a throwaway funded key and a test ERC-20."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account

from polyarb.chain.localchain import LocalChain, approve, deploy_token


@dataclass
class Chain:
    url: str
    key: str
    address: str
    token: str
    spender: str


@pytest.fixture(scope="module")
def chain137() -> Iterator[Chain]:
    acct = Account.create()  # a throwaway key, generated now, never written anywhere
    key = acct.key.hex()
    key = key if key.startswith("0x") else "0x" + key
    with LocalChain(137, {key: 10**21}) as chain:
        token = deploy_token(chain.url, key, 1_000 * 10**6)
        spender = Account.create().address
        approve(chain.url, key, token, spender, 250 * 10**6)
        yield Chain(chain.url, key, acct.address, token, spender)
