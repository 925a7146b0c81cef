"""Polygon adapter (web3): RPC health, chain id, native and ERC-20 balances and allowances.

An edge package: the engine never imports it. Contract addresses are in
:mod:`polyarb.chain.contracts` (docs/protocol.md §Contracts and gas); the web3 client is
in :mod:`polyarb.chain.client`, imported only where an RPC is used, because
web3 takes more than half a second to import and every CLI command would pay it.
"""
