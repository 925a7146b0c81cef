"""Polymarket contracts on Polygon (chain id 137), from docs/protocol.md §Contracts and gas."""

from __future__ import annotations

POLYGON_CHAIN_ID = 137

PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
"""Collateral since CLOB V2 (6 decimals, like our micro units)."""

CTF = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045"
CTF_EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_CTF_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
NEG_RISK_ADAPTER = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"
CTF_COLLATERAL_ADAPTER = "0xAdA100Db00Ca00073811820692005400218FcE1f"
NEG_RISK_COLLATERAL_ADAPTER = "0xadA2005600Dec949baf300f4C6120000bDB6eAab"

PUSD_SPENDERS: dict[str, str] = {
    "CTF Exchange V2": CTF_EXCHANGE_V2,
    "Neg Risk CTF Exchange V2": NEG_RISK_CTF_EXCHANGE_V2,
    "CTF collateral adapter": CTF_COLLATERAL_ADAPTER,
    "Neg-risk collateral adapter": NEG_RISK_COLLATERAL_ADAPTER,
}
"""Who must be allowed to move our pUSD: the exchanges (buys) and the adapters (merge/split)."""

ERC20_ABI = [
    {"name": "balanceOf", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "allowance", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "decimals", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
    {"name": "transfer", "type": "function", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"name": "approve", "type": "function", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
]  # fmt: skip

_B32 = {"name": "", "type": "bytes32"}
_U256 = {"name": "", "type": "uint256"}
_CTF_MOVE = [{"name": "collateralToken", "type": "address"},
             {"name": "parentCollectionId", "type": "bytes32"},
             {"name": "conditionId", "type": "bytes32"},
             {"name": "partition", "type": "uint256[]"},
             {"name": "amount", "type": "uint256"}]  # fmt: skip

CTF_ABI = [
    {"name": "splitPosition", "type": "function", "stateMutability": "nonpayable",
     "inputs": _CTF_MOVE, "outputs": []},
    {"name": "mergePositions", "type": "function", "stateMutability": "nonpayable",
     "inputs": _CTF_MOVE, "outputs": []},
    {"name": "redeemPositions", "type": "function", "stateMutability": "nonpayable",
     "inputs": [*_CTF_MOVE[:3], {"name": "indexSets", "type": "uint256[]"}], "outputs": []},
    {"name": "payoutDenominator", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "", "type": "bytes32"}], "outputs": [_U256]},
    {"name": "payoutNumerators", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "", "type": "bytes32"}, {"name": "", "type": "uint256"}],
     "outputs": [_U256]},
    {"name": "getOutcomeSlotCount", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "conditionId", "type": "bytes32"}], "outputs": [_U256]},
    {"name": "getCollectionId", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "parentCollectionId", "type": "bytes32"},
                {"name": "conditionId", "type": "bytes32"},
                {"name": "indexSet", "type": "uint256"}], "outputs": [_B32]},
    {"name": "getPositionId", "type": "function", "stateMutability": "pure",
     "inputs": [{"name": "collateralToken", "type": "address"},
                {"name": "collectionId", "type": "bytes32"}], "outputs": [_U256]},
    {"name": "balanceOf", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "id", "type": "uint256"}],
     "outputs": [_U256]},
    {"name": "isApprovedForAll", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "operator", "type": "address"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"name": "setApprovalForAll", "type": "function", "stateMutability": "nonpayable",
     "inputs": [{"name": "operator", "type": "address"}, {"name": "approved", "type": "bool"}],
     "outputs": []},
]  # fmt: skip
"""The Conditional Tokens functions we call (Gnosis CTF 1.0; docs/chain.md).

The collateral adapters take the same ``splitPosition``/``mergePositions``/``redeemPositions``
arguments (``collateralToken`` = pUSD), so one ABI drives either target. A test checks every
entry against the published artifact's ABI.
"""

BINARY_PARTITION = (1, 2)
"""Index sets of a binary condition: outcome 0 (YES on Polymarket) and outcome 1 (NO)."""
