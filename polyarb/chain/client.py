"""A small, read-only web3 client: everything go/no-go asks the chain.

Every call has a short timeout and turns any transport or RPC failure into a
:class:`ChainError` whose message never contains the RPC URL (it often embeds
an API key).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from polyarb.chain.contracts import ERC20_ABI
from polyarb.env import redact_url
from polyarb.errors import PolyarbError


class ChainError(RuntimeError, PolyarbError):
    """The RPC did not answer, or answered with an error."""


@dataclass(frozen=True, slots=True)
class RpcHealth:
    ok: bool
    chain_id: int | None
    block_number: int | None
    block_timestamp: int | None
    latency_ms: int | None
    error: str = ""


def _scrub(text: str, url: str) -> str:
    """Remove the URL and its path/query from an error text (transport errors echo them)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    text = text.replace(url, redact_url(url))
    for secret in (parts.path, parts.query, parts.username or "", parts.password or ""):
        if len(secret) > 1:
            text = text.replace(secret, "/<redacted>")
    return text


class ChainClient:
    """Read-only access to one JSON-RPC endpoint."""

    def __init__(self, url: str, timeout_s: float = 3.0) -> None:
        self.url = url
        self._w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout_s}))

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:  # web3 raises many transport and RPC types; all mean "unhealthy"
            reason = type(exc).__name__
            text = _scrub(str(exc), self.url)
            raise ChainError(
                f"{what} failed at {redact_url(self.url)}: {reason}: {text[:200]}"
            ) from None

    def chain_id(self) -> int:
        return int(self._call("eth_chainId", lambda: self._w3.eth.chain_id))

    def health(self) -> RpcHealth:
        """Chain id, latest block and round-trip latency; ``ok`` false with the reason on error."""
        start = time.monotonic()
        try:
            chain_id = self.chain_id()
            block = self._call("eth_getBlockByNumber", self._w3.eth.get_block, "latest")
        except ChainError as exc:
            return RpcHealth(False, None, None, None, None, str(exc))
        latency = int((time.monotonic() - start) * 1000)
        return RpcHealth(True, chain_id, int(block["number"]), int(block["timestamp"]), latency)

    def native_balance(self, address: str) -> int:
        """Balance in wei (POL pays gas on Polygon)."""
        addr = Web3.to_checksum_address(address)
        return int(self._call("eth_getBalance", self._w3.eth.get_balance, addr))

    def _token(self, token: str) -> Any:
        return self._w3.eth.contract(address=Web3.to_checksum_address(token), abi=ERC20_ABI)

    def erc20_balance(self, token: str, owner: str) -> int:
        """``balanceOf(owner)`` in the token's base units (pUSD: micro, like ours)."""
        fn = self._token(token).functions.balanceOf(Web3.to_checksum_address(owner))
        return int(self._call("balanceOf", fn.call))

    def erc20_allowance(self, token: str, owner: str, spender: str) -> int:
        fn = self._token(token).functions.allowance(
            Web3.to_checksum_address(owner), Web3.to_checksum_address(spender)
        )
        return int(self._call("allowance", fn.call))

    def has_code(self, address: str) -> bool:
        code = self._call("eth_getCode", self._w3.eth.get_code, Web3.to_checksum_address(address))
        return len(code) > 0
