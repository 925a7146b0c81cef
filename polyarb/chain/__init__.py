"""Polygon adapter (web3): RPC health, chain id, native and ERC-20 balances and allowances.

An edge package: the engine never imports it. Contract addresses are in
:mod:`polyarb.chain.contracts` (polymarket-protocol.md §5).
"""

from polyarb.chain.client import ChainClient, ChainError, RpcHealth

__all__ = ["ChainClient", "ChainError", "RpcHealth"]
