"""Split, merge and redeem on the Conditional Tokens contract, and booking them in the ledger.

:class:`Ctf` sends the transactions (binary conditions: partition ``[1, 2]``, parent
collection zero) to ``chain.operator`` — the CTF itself, or Polymarket's collateral
adapter, which takes the same arguments — and reads balances and payouts from
``chain.conditional_tokens``. :func:`book` turns a :class:`ChainOp` into the ledger
operation with the receipt's gas in pUSD micro units: the live runner calls it with its
own ledger; the CLI calls it and appends the op to its journal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from polyarb.chain.contracts import BINARY_PARTITION
from polyarb.chain.wallet import Receipt, Wallet
from polyarb.config.profile import ChainSettings
from polyarb.ledger import Ledger
from polyarb.units import micro

ZERO32 = b"\x00" * 32

OpKind = Literal["split", "merge", "redeem"]


def condition_bytes(condition_id: str) -> bytes:
    """A ``0x`` + 64 hex condition id as 32 bytes; ValueError naming the problem otherwise."""
    raw = condition_id.removeprefix("0x")
    if len(raw) != 64:
        raise ValueError(f"condition id {condition_id!r}: expected 0x and 64 hex digits")
    return bytes.fromhex(raw)


@dataclass(frozen=True, slots=True)
class ChainOp:
    """One settled chain operation: what moved, its receipt, its gas in micro pUSD."""

    kind: OpKind
    condition_id: str
    token_ids: tuple[str, str]
    size: int
    """Sets split or merged; for a redeem, the winning shares redeemed."""
    receipt: Receipt
    gas: int
    """Micro pUSD of every transaction the op needed (a split's approval included)."""
    winning_token_id: str | None = None
    payout: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """A journal line (JSON-safe, no secrets)."""
        return {
            "kind": self.kind,
            "condition_id": self.condition_id,
            "token_ids": list(self.token_ids),
            "size": self.size,
            "gas": self.gas,
            "winning_token_id": self.winning_token_id,
            "payout": self.payout,
            **self.extra,
            **self.receipt.row(),
        }


def book(ledger: Ledger, op: ChainOp, market: str | None = None) -> None:
    """Apply ``op`` to ``ledger`` with the receipt's gas (not the profile's simulated gas).

    ``market`` is the ledger's market key (default: the condition id, as the engine keys
    binary markets).
    """
    m = market or op.condition_id
    if op.kind == "split":
        ledger.split(m, op.token_ids, op.size, op.gas)
    elif op.kind == "merge":
        ledger.merge(m, op.token_ids, op.size, op.gas)
    else:
        ledger.settle(m, op.winning_token_id, gas=op.gas)


class Ctf:
    """Binary-condition operations from one wallet under one profile's ``chain`` settings."""

    def __init__(self, wallet: Wallet, settings: ChainSettings) -> None:
        self.wallet = wallet
        self.settings = settings
        self.pol_usd_micro = micro(settings.pol_usd)
        self.collateral = wallet.w3.to_checksum_address(settings.collateral)
        self._ctf = wallet.ctf(settings.conditional_tokens)
        self._operator = wallet.ctf(settings.operator)

    # --- reads ---------------------------------------------------------------

    def token_ids(self, condition_id: str) -> tuple[str, str]:
        """The YES and NO position ids (decimal strings, as the CLOB names tokens)."""
        cid = condition_bytes(condition_id)
        out = []
        for index_set in BINARY_PARTITION:
            coll = self.wallet.read(
                "getCollectionId", self._ctf.functions.getCollectionId(ZERO32, cid, index_set)
            )
            pid = self.wallet.read(
                "getPositionId",
                self._ctf.functions.getPositionId(self.collateral, coll),
            )
            out.append(str(int(pid)))
        return out[0], out[1]

    def balance(self, token_id: str, owner: str | None = None) -> int:
        fn = self._ctf.functions.balanceOf(owner or self.wallet.address, int(token_id))
        return int(self.wallet.read("balanceOf", fn))

    def collateral_balance(self, owner: str | None = None) -> int:
        token = self.wallet.erc20(self.settings.collateral)
        return int(
            self.wallet.read("balanceOf", token.functions.balanceOf(owner or self.wallet.address))
        )

    def payouts(self, condition_id: str) -> tuple[int, ...] | None:
        """Payout numerators once resolved, ``None`` while the condition is open."""
        cid = condition_bytes(condition_id)
        den = int(self.wallet.read("payoutDenominator", self._ctf.functions.payoutDenominator(cid)))
        if den == 0:
            return None
        return tuple(
            int(self.wallet.read("payoutNumerators", self._ctf.functions.payoutNumerators(cid, i)))
            for i in range(len(BINARY_PARTITION))
        )

    # --- transactions ----------------------------------------------------------

    def _move(self, fn_name: str, condition_id: str, amount: int) -> Receipt:
        fn = getattr(self._operator.functions, fn_name)(
            self.collateral,
            ZERO32,
            condition_bytes(condition_id),
            list(BINARY_PARTITION),
            amount,
        )
        return self.wallet.send(f"{fn_name}({condition_id}, {amount})", fn)

    def ensure_allowance(self, amount: int) -> Receipt | None:
        """Approve the operator for ``amount`` collateral if the allowance is short (split)."""
        token = self.wallet.erc20(self.settings.collateral)
        have = int(
            self.wallet.read(
                "allowance", token.functions.allowance(self.wallet.address, self._operator.address)
            )
        )
        if have >= amount:
            return None
        return self.wallet.send("approve", token.functions.approve(self._operator.address, amount))

    def ensure_operator_approval(self) -> Receipt | None:
        """Let an operator that is not the CTF itself (the collateral adapter) move our
        positions: merge and redeem through it pull the ERC-1155 shares first."""
        ctf, op = self._ctf.address, self._operator.address
        if ctf == op:
            return None
        fn = self._ctf.functions.isApprovedForAll(self.wallet.address, op)
        if self.wallet.read("isApprovedForAll", fn):
            return None
        return self.wallet.send(
            "setApprovalForAll", self._ctf.functions.setApprovalForAll(op, True)
        )

    def _extra_gas(self, receipt: Receipt | None, key: str) -> tuple[int, dict[str, Any]]:
        if receipt is None:
            return 0, {}
        return receipt.gas_cost(self.pol_usd_micro), {key: receipt.row()}

    def split(self, condition_id: str, amount: int) -> ChainOp:
        """Split ``amount`` collateral into ``amount`` YES and NO (approving first if needed)."""
        extra_gas, extra = self._extra_gas(self.ensure_allowance(amount), "approval")
        r = self._move("splitPosition", condition_id, amount)
        gas = r.gas_cost(self.pol_usd_micro) + extra_gas
        ids = self.token_ids(condition_id)
        return ChainOp("split", condition_id, ids, amount, r, gas, extra=extra)

    def merge(self, condition_id: str, amount: int) -> ChainOp:
        """Merge ``amount`` complete sets back into collateral."""
        extra_gas, extra = self._extra_gas(self.ensure_operator_approval(), "approval")
        r = self._move("mergePositions", condition_id, amount)
        gas = r.gas_cost(self.pol_usd_micro) + extra_gas
        ids = self.token_ids(condition_id)
        return ChainOp("merge", condition_id, ids, amount, r, gas, extra=extra)

    def redeem(self, condition_id: str) -> ChainOp:
        """Redeem every position of a resolved condition; the payout is the collateral gained."""
        payouts = self.payouts(condition_id)
        if payouts is None:
            raise ValueError(f"condition {condition_id} is not resolved yet: nothing to redeem")
        ids = self.token_ids(condition_id)
        held = [self.balance(t) for t in ids]
        extra_gas, extra = self._extra_gas(self.ensure_operator_approval(), "approval")
        before = self.collateral_balance()
        fn = self._operator.functions.redeemPositions(
            self.collateral,
            ZERO32,
            condition_bytes(condition_id),
            list(BINARY_PARTITION),
        )
        r = self.wallet.send(f"redeemPositions({condition_id})", fn)
        payout = self.collateral_balance() - before
        won = winner(ids, payouts)
        size = held[ids.index(won)] if won else 0
        return ChainOp(
            "redeem", condition_id, ids, size, r, r.gas_cost(self.pol_usd_micro) + extra_gas,
            won, payout, {"payouts": list(payouts), "held": held, **extra},
        )  # fmt: skip

    def transfer(self, to: str, amount: int) -> Receipt:
        """Send ``amount`` collateral to ``to`` (``polyarb withdraw``)."""
        from web3 import Web3

        token = self.wallet.erc20(self.settings.collateral)
        fn = token.functions.transfer(Web3.to_checksum_address(to), amount)
        return self.wallet.send(f"transfer({amount} to {to})", fn)


def winner(ids: tuple[str, str], payouts: tuple[int, ...]) -> str | None:
    """The token that pays everything, or ``None`` for a split (e.g. 50/50) resolution.

    The ledger's ``settle`` knows one winner or none; a split resolution is rare on
    Polymarket and is booked as no winner (the journal keeps the real payout).
    """
    winners = [t for t, p in zip(ids, payouts, strict=True) if p > 0]
    return winners[0] if len(winners) == 1 else None


def append_journal(path: Path, op_row: dict[str, Any]) -> None:
    """One JSON line per operation: the durable record of what the chain commands did."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(op_row, sort_keys=True, separators=(",", ":")) + "\n")
