"""The signing side of the chain adapter: one wallet, one RPC, transactions and receipts.

The private key arrives as a :class:`polyarb.env.Secret` and is revealed only to sign;
no message, ``repr`` or exception built here contains it (or the RPC URL, which often
embeds an API key). Gas is converted to pUSD micro units with :func:`gas_micro`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from polyarb.chain.client import ChainError, _scrub
from polyarb.chain.contracts import CTF_ABI, ERC20_ABI
from polyarb.env import EnvError, Secret, key_address, redact_url

WEI_PER_POL = 10**18


def gas_micro(gas_used: int, effective_gas_price_wei: int, pol_usd_micro: int) -> int:
    """Gas paid, in pUSD micro units: ``gas × price (wei) × POL/USD (micro) / 10^18``, rounded up.

    Polygon gas is paid in POL (18 decimals); the profile's ``chain.pol_usd`` is the
    conversion price. Rounding up keeps booked costs conservative (never under-counted).
    """
    return -(-gas_used * effective_gas_price_wei * pol_usd_micro // WEI_PER_POL)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a mined transaction cost and whether it succeeded."""

    what: str
    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    effective_gas_price: int

    @property
    def ok(self) -> bool:
        return self.status == 1

    @property
    def gas_wei(self) -> int:
        return self.gas_used * self.effective_gas_price

    def gas_cost(self, pol_usd_micro: int) -> int:
        """This receipt's gas in pUSD micro units (:func:`gas_micro`)."""
        return gas_micro(self.gas_used, self.effective_gas_price, pol_usd_micro)

    def row(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "tx_hash": self.tx_hash,
            "status": self.status,
            "block_number": self.block_number,
            "gas_used": self.gas_used,
            "effective_gas_price": self.effective_gas_price,
        }


class TxFailed(ChainError):
    """A transaction was mined but reverted (status 0); the receipt says what it cost."""

    def __init__(self, message: str, receipt: Receipt) -> None:
        super().__init__(message)
        self.receipt = receipt


class Wallet:
    """Signs and sends transactions from the key in ``.env`` to one RPC endpoint."""

    def __init__(
        self, url: str, key: Secret, *, expect_chain_id: int | None = None, timeout_s: float = 30.0
    ) -> None:
        self.url = url
        self._key = key
        self.address = Web3.to_checksum_address(key_address(key))  # validates, never echoes
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout_s}))
        self.timeout_s = timeout_s
        self.chain_id = int(self._call("eth_chainId", lambda: self.w3.eth.chain_id))
        if expect_chain_id is not None and self.chain_id != expect_chain_id:
            raise ChainError(
                f"RPC {redact_url(url)} is chain id {self.chain_id}, the profile expects "
                f"{expect_chain_id} (chain.chain_id)"
            )

    def __repr__(self) -> str:
        return f"Wallet({self.address} at {redact_url(self.url)})"

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ChainError:
            raise
        except Exception as exc:  # web3 raises many transport and RPC types
            text = _scrub(str(exc), self.url)
            raise ChainError(
                f"{what} failed at {redact_url(self.url)}: {type(exc).__name__}: {text[:200]}"
            ) from None

    def contract(self, address: str, abi: list[dict[str, Any]]) -> Any:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)

    def ctf(self, address: str) -> Any:
        return self.contract(address, CTF_ABI)

    def erc20(self, address: str) -> Any:
        return self.contract(address, ERC20_ABI)

    def read(self, what: str, fn: Any) -> Any:
        """``fn.call()`` with the adapter's error wrapping."""
        return self._call(what, fn.call)

    def send(self, what: str, fn: Any, gas: int | None = None) -> Receipt:
        """Build, sign and send a contract call from this wallet; wait for its receipt.

        Raises :class:`TxFailed` (with the receipt) when it reverts, :class:`ChainError`
        when it could not be sent or confirmed. ``gas`` fixes the gas limit (else estimated).
        """
        from eth_account import Account

        def build() -> dict[str, Any]:
            base: dict[str, Any] = {
                "from": self.address,
                "nonce": self.w3.eth.get_transaction_count(self.address, "pending"),
                "chainId": self.chain_id,
                "gasPrice": self.w3.eth.gas_price,
            }
            if gas is not None:
                base["gas"] = gas
            tx: dict[str, Any] = fn.build_transaction(base)
            return tx

        tx = self._call(f"{what}: build (estimate gas)", build)
        signed = Account.sign_transaction(tx, self._key.reveal())
        tx_hash = self._call(
            f"{what}: send", self.w3.eth.send_raw_transaction, signed.raw_transaction
        )
        raw = self._call(
            f"{what}: wait for receipt",
            lambda: self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout_s),
        )
        receipt = Receipt(
            what=what,
            tx_hash="0x" + bytes(raw["transactionHash"]).hex().removeprefix("0x"),
            status=int(raw["status"]),
            block_number=int(raw["blockNumber"]),
            gas_used=int(raw["gasUsed"]),
            effective_gas_price=int(raw.get("effectiveGasPrice", tx["gasPrice"])),
        )
        if not receipt.ok:
            raise TxFailed(f"{what}: transaction {receipt.tx_hash} reverted", receipt)
        return receipt


def wallet_from_env(env_path: Path, chain_id: int) -> Wallet:
    """The profile's wallet: key and RPC from the mode-600 ``.env`` (polyarb/env.py)."""
    from polyarb.env import PRIVATE_KEY_VAR, RPC_URL_VAR, read_env, require_private

    env = read_env(env_path)
    require_private(env)
    key = env.get(PRIVATE_KEY_VAR)
    url = env.get(RPC_URL_VAR)
    if not key:
        raise EnvError(f"{env_path}: {PRIVATE_KEY_VAR} is not set")
    if not url:
        raise EnvError(f"{env_path}: {RPC_URL_VAR} is not set")
    return Wallet(url.reveal(), key, expect_chain_id=chain_id)
