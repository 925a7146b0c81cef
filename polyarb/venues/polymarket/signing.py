"""Polymarket CLOB V2 authentication and order signing, on ``py-clob-client-v2``.

What is signed (docs/protocol.md §Authentication and rate limits, §Order signing):

* L1 headers: an EIP-712 ``ClobAuth`` signature by the wallet; they create or
  derive the API key triple.
* L2 headers: HMAC-SHA256 (URL-safe base64 secret) over
  ``timestamp + method + path + body``; every trading request carries them.
* Orders: the V2 EIP-712 ``Order`` struct under the domain
  "Polymarket CTF Exchange" version "2" whose ``verifyingContract`` is the
  market's exchange (the neg-risk exchange for neg-risk markets).

Amounts are computed here in integer micro units (never the SDK's float
rounding): a price on the market's tick and a size with at most two decimals
give exact 6-decimal maker/taker amounts. The same helpers rebuild the typed
data on the exchange double's side to recover the signer, so both ends agree
on one definition.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from polyarb.units import SCALE, format_fixed

POLYGON = 137
BUY = "BUY"
SELL = "SELL"
ORDER_TYPES = ("FOK", "FAK", "GTC", "GTD")
SIZE_QUANTUM = 10_000
"""Sizes carry at most two decimals (ROUNDING_CONFIG: size 2 for every tick)."""
TICKS = (100_000, 10_000, 5_000, 2_500, 1_000, 100)
"""0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001 in micro units."""
BYTES32_ZERO = "0x" + "0" * 64


@dataclass(frozen=True)
class ApiCreds:
    """The L2 API key triple (``secret`` is URL-safe base64)."""

    api_key: str
    secret: str
    passphrase: str

    def __repr__(self) -> str:  # the secret never reaches a log line
        return f"ApiCreds(api_key={self.api_key!r}, secret=***, passphrase=***)"


@dataclass(frozen=True)
class MarketParams:
    """What signing an order for one token needs to know about its market."""

    token_id: str
    tick: int
    """Minimum tick in micro units (10_000 = 0.01)."""
    neg_risk: bool = False


@dataclass(frozen=True)
class SignedOrder:
    """A signed order ready to POST: its id (the EIP-712 hash), the body and its bytes.

    ``body_text`` is sent byte for byte on every attempt, so a retry is the
    same order (same salt, same hash) and can never become a second one.
    """

    order_id: str
    client_order_id: str
    body: dict[str, Any]
    body_text: str


def exchange_address(chain_id: int, neg_risk: bool) -> str:
    """The CLOB V2 exchange a market's orders are signed for."""
    from py_clob_client_v2.config import get_contract_config

    config = get_contract_config(chain_id)
    return str(config.neg_risk_exchange_v2 if neg_risk else config.exchange_v2)


def address_of(private_key: str) -> str:
    """Checksummed address of a private key."""
    from eth_account import Account

    return str(Account.from_key(private_key).address)


# -- L1 / L2 headers ---------------------------------------------------------------------


def l1_headers(private_key: str, chain_id: int, timestamp: int, nonce: int = 0) -> dict[str, str]:
    """Headers for ``/auth/api-key`` and ``/auth/derive-api-key`` (wallet signature)."""
    from py_clob_client_v2.headers.headers import create_level_1_headers
    from py_clob_client_v2.signer import Signer

    headers = create_level_1_headers(Signer(private_key, chain_id), nonce, timestamp)
    return {k: str(v) for k, v in headers.items()}


def hmac_signature(secret: str, timestamp: int, method: str, path: str, body: str = "") -> str:
    """The L2 HMAC of one request (``path`` without the query string)."""
    from py_clob_client_v2.signing.hmac import build_hmac_signature

    return str(build_hmac_signature(secret, str(timestamp), method, path, body or None))


def l2_headers(
    creds: ApiCreds, address: str, timestamp: int, method: str, path: str, body: str = ""
) -> dict[str, str]:
    """Headers for every authenticated request."""
    return {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": hmac_signature(creds.secret, timestamp, method, path, body),
        "POLY_TIMESTAMP": str(timestamp),
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.passphrase,
    }


def recover_l1_address(
    signature: str, chain_id: int, address: str, timestamp: str, nonce: int
) -> str:
    """Who signed an L1 ``ClobAuth`` message (the double checks it is ``address``)."""
    from eth_account import Account
    from eth_utils import keccak
    from py_clob_client_v2.signing.eip712 import MSG_TO_SIGN, get_clob_auth_domain
    from py_clob_client_v2.signing.model import ClobAuth

    msg = ClobAuth(address=address, timestamp=str(timestamp), nonce=nonce, message=MSG_TO_SIGN)
    digest = keccak(msg.signable_bytes(get_clob_auth_domain(chain_id)))
    return str(Account._recover_hash(digest, signature=signature))


# -- orders ------------------------------------------------------------------------------


def order_amounts(side: str, price: int, size: int) -> tuple[int, int]:
    """``(makerAmount, takerAmount)`` in 6-decimal units for ``size`` shares at ``price``.

    A BUY gives pUSD and takes shares; a SELL gives shares and takes pUSD.
    Exact because a size has ≤ 2 decimals and a price ≤ 4.
    """
    cash = price * size // SCALE
    return (cash, size) if side == BUY else (size, cash)


def order_salt(client_order_id: str) -> int:
    """A salt derived from the caller's id: the same decision always signs the same salt."""
    return int.from_bytes(hashlib.sha256(client_order_id.encode()).digest()[:6], "big")


def check_order(market: MarketParams, side: str, price: int, size: int, order_type: str) -> None:
    """Refuse before signing what the exchange would reject for shape (tick, grid, side)."""
    if side not in (BUY, SELL):
        raise ValueError(f"side must be BUY or SELL, got {side!r}")
    if order_type not in ORDER_TYPES:
        raise ValueError(f"order type must be one of {ORDER_TYPES}, got {order_type!r}")
    if market.tick not in TICKS:
        raise ValueError(f"tick {format_fixed(market.tick)} is not a Polymarket tick size")
    if price % market.tick or not market.tick <= price <= SCALE - market.tick:
        raise ValueError(f"price {format_fixed(price)} is off the {format_fixed(market.tick)} grid")
    if size <= 0 or size % SIZE_QUANTUM:
        raise ValueError(f"size {format_fixed(size)} must be positive with at most 2 decimals")


def _order_v2(order: dict[str, Any]) -> Any:
    from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2
    from py_clob_client_v2.order_utils.model.side import Side
    from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2

    return OrderV2(
        salt=str(order["salt"]),
        maker=order["maker"],
        signer=order["signer"],
        tokenId=str(order["tokenId"]),
        makerAmount=str(order["makerAmount"]),
        takerAmount=str(order["takerAmount"]),
        side=Side.BUY if order["side"] == BUY else Side.SELL,
        signatureType=SignatureTypeV2(int(order["signatureType"])),
        timestamp=str(order["timestamp"]),
        metadata=order.get("metadata") or BYTES32_ZERO,
        builder=order.get("builder") or BYTES32_ZERO,
        expiration=str(order.get("expiration", "0")),
    )


def order_typed_data(order: dict[str, Any], chain_id: int, exchange: str) -> dict[str, Any]:
    """The EIP-712 typed data of an order's JSON form under one exchange's domain."""
    from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2

    builder = ExchangeOrderBuilderV2(exchange, chain_id, signer=None)
    return dict(builder.build_order_typed_data(_order_v2(order)))


def order_hash(order: dict[str, Any], chain_id: int, exchange: str) -> str:
    """The order id the exchange assigns: the EIP-712 digest of the signed struct."""
    from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2

    builder = ExchangeOrderBuilderV2(exchange, chain_id, signer=None)
    return str(builder.build_order_hash(order_typed_data(order, chain_id, exchange)))


def recover_order_signer(order: dict[str, Any], chain_id: int, exchange: str) -> str | None:
    """The address that signed an order for ``exchange`` on ``chain_id``; None if unreadable."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        typed = order_typed_data(order, chain_id, exchange)
        return str(
            Account.recover_message(
                encode_typed_data(full_message=typed), signature=order["signature"]
            )
        )
    except (KeyError, TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=4)
def _account(private_key: str) -> Any:
    # Deriving the public key is most of a pure-Python signature's cost: do it once per key.
    from eth_account import Account

    return Account.from_key(private_key)


def sign_order(
    private_key: str,
    market: MarketParams,
    *,
    side: str,
    price: int,
    size: int,
    order_type: str,
    owner: str,
    client_order_id: str,
    timestamp_ms: int,
    chain_id: int = POLYGON,
    funder: str | None = None,
    exchange: str | None = None,
) -> SignedOrder:
    """Sign one V2 order (EOA signature) and serialise the ``POST /order`` body.

    ``owner`` is the API key; ``client_order_id`` fixes the salt so the same
    decision signs the same order. ``exchange`` overrides the market's
    exchange (only tests do, to prove a wrong domain is refused). The typed
    data and JSON body are py-clob-client-v2's; the digest is hashed once and
    serves as both the signed hash and the order id (byte-equal to the SDK's
    ``build_signed_order``, tests/venues/test_polymarket_signing.py).
    """
    from eth_account.messages import _hash_eip191_message, encode_typed_data
    from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2

    check_order(market, side, price, size, order_type)
    account = _account(private_key)
    maker_amount, taker_amount = order_amounts(side, price, size)
    verifying = exchange or exchange_address(chain_id, market.neg_risk)
    order = {
        "salt": order_salt(client_order_id),
        "maker": funder or account.address,
        "signer": account.address,
        "tokenId": market.token_id,
        "makerAmount": str(maker_amount),
        "takerAmount": str(taker_amount),
        "side": side,
        "expiration": "0",
        "signatureType": 0,
        "timestamp": str(timestamp_ms),
        "metadata": BYTES32_ZERO,
        "builder": BYTES32_ZERO,
    }
    digest = _hash_eip191_message(
        encode_typed_data(full_message=order_typed_data(order, chain_id, verifying))
    )
    signature = "0x" + bytes(account.unsafe_sign_hash(digest).signature).hex()
    body = order_to_json_v2(_with_signature(_order_v2(order), signature), owner, order_type)
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return SignedOrder("0x" + bytes(digest).hex(), client_order_id, body, text)


def _with_signature(order: Any, signature: str) -> Any:
    from py_clob_client_v2.order_utils.model.order_data_v2 import SignedOrderV2

    return SignedOrderV2(**{**dataclasses.asdict(order), "signature": signature})
