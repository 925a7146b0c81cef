"""The state of the local Polymarket exchange double: keys, accounts, orders, trades.

No network here (:mod:`polyarb.server.clob.server` speaks HTTP and the user
channel); every method takes parsed requests and returns the JSON the real
exchange would answer, or raises :class:`ApiError` with its status and error
text. The clock is injected; :meth:`ClobExchange.sweep` advances the trade
lifecycle (MATCHED → MINED → CONFIRMED, or RETRYING → FAILED) and enforces the
dead-man switch, so tests drive time instead of waiting for it.

Error texts are the exchange's (PM-docs error reference, NT-doc, observed
responses); where the real text embeds values, the double embeds ours.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from polyarb.book.book import OrderBook
from polyarb.errors import PolyarbError
from polyarb.events import BUY, SELL
from polyarb.execution.fees import taker_fee
from polyarb.server.clob.matching import match_taker
from polyarb.units import SCALE, format_fixed
from polyarb.venues.polymarket.signing import (
    POLYGON,
    exchange_address,
    hmac_signature,
    order_hash,
    recover_l1_address,
    recover_order_signer,
)

UNAUTHORIZED = "Unauthorized/Invalid api key"
INVALID_L1 = "Invalid L1 Request headers"
TOO_MANY_REQUESTS = "Too Many Requests"
TOO_EARLY = "Too Early"
INVALID_SIGNATURE = "invalid signature"
SIGNER_NOT_KEY = "the order signer address has to be the address of the API KEY"
OWNER_NOT_KEY = "the order owner has to be the owner of the API KEY"
NOT_ENOUGH_BALANCE = "not enough balance / allowance"
INVALID_PAYLOAD = "Invalid order payload"
INVALID_TOKEN = "Invalid token id"
FOK_NOT_FILLED = "order couldn't be fully filled. FOK orders are fully filled or killed."
FAK_NO_MATCH = (
    "no orders found to match with FAK order. FAK orders are partially filled or killed "
    "if no match is found."
)
BOOK_OWNER = "00000000-0000-0000-0000-000000000000"
BOOK_MAKER = "0x000000000000000000000000000000000000b00c"
"""Stand-in owner/address for book liquidity (the double has no other traders)."""


class ApiError(PolyarbError):
    """An error answer: HTTP ``status`` and the exchange's ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class MarketInfo:
    """One tradable token as the exchange knows it (amounts in micro units)."""

    token_id: str
    condition_id: str
    outcome: str = "Yes"
    tick: int = 10_000
    neg_risk: bool = False
    min_order_size: int = 5 * SCALE
    fee_rate: int = 0
    """Taker fee rate in micro units (0.07 → 70_000), exponent 1."""


@dataclass
class Account:
    """A wallet's collateral (pUSD) balance, its allowance per exchange, and its shares."""

    address: str
    collateral: int
    allowance: int
    tokens: dict[str, int] = field(default_factory=dict)


@dataclass
class ClobFaults:
    """Faults the double injects; counters count down as they fire.

    * ``timeout_next``: the next N ``POST /order`` are *processed*, but the answer
      is held for ``timeout_s`` (the client times out not knowing the outcome).
    * ``server_error_next``: the next N requests get a 5xx and are not processed.
    * ``rate_limit_next``: the next N requests get 429 (``Retry-After`` if set).
    * ``too_early_next``: the next N requests get 425 (matching engine restarting).
    * ``trade_delay_s``: time between lifecycle steps (MATCHED → MINED → CONFIRMED).
    * ``fail_trades_next``: the next N trades go MATCHED → RETRYING → FAILED and
      their fill is reversed in the account.
    * ``fail_trades_after``: that many trades settle normally before ``fail_trades_next``
      starts failing them (aim at a later trade, e.g. an unwind).
    * ``drop_user_after``: close each user-channel socket after N events (0 = never).
    * ``ack_delay_s``: every ``POST /order(s)`` is processed at once but answered this
      much later (a slow path to the exchange: what calibration measures).
    """

    timeout_next: int = 0
    timeout_s: float = 30.0
    server_error_next: int = 0
    server_error_status: int = 500
    rate_limit_next: int = 0
    retry_after_s: float | None = None
    too_early_next: int = 0
    trade_delay_s: float = 0.0
    fail_trades_next: int = 0
    fail_trades_after: int = 0
    drop_user_after: int = 0
    ack_delay_s: float = 0.0


@dataclass
class _Key:
    api_key: str
    secret: str
    passphrase: str
    address: str


@dataclass
class _Order:
    id: str
    key: _Key
    market: MarketInfo
    side: str
    price: int
    size: int
    order_type: str
    created_at: int
    expiration: str
    status: str = "LIVE"
    matched: int = 0
    trades: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The ``GET /data/order`` shape (rest/order_get_status_*.json)."""
        return {
            "id": self.id,
            "status": self.status,
            "owner": self.key.api_key,
            "maker_address": self.key.address,
            "market": self.market.condition_id,
            "asset_id": self.market.token_id,
            "side": self.side,
            "original_size": format_fixed(self.size),
            "size_matched": format_fixed(self.matched),
            "price": format_fixed(self.price),
            "outcome": self.market.outcome,
            "expiration": self.expiration,
            "order_type": self.order_type,
            "associate_trades": list(self.trades),
            "created_at": self.created_at,
        }

    def event(self, kind: str, now_ms: int) -> dict[str, Any]:
        """A user-channel ``order`` event (ws_user/order_*.json)."""
        return {
            "asset_id": self.market.token_id,
            "associate_trades": list(self.trades) or None,
            "created_at": str(self.created_at),
            "event_type": "order",
            "expiration": self.expiration,
            "id": self.id,
            "maker_address": self.key.address,
            "market": self.market.condition_id,
            "order_owner": self.key.api_key,
            "order_type": self.order_type,
            "original_size": format_fixed(self.size),
            "outcome": self.market.outcome,
            "owner": self.key.api_key,
            "price": format_fixed(self.price),
            "side": self.side,
            "size_matched": format_fixed(self.matched),
            "status": self.status,
            "timestamp": str(now_ms),
            "type": kind,
        }


@dataclass
class _Trade:
    id: str
    order: _Order
    price: int
    size: int
    fee: int
    match_time: int
    steps: list[str]
    status: str = "MATCHED"
    last_update: int = 0
    transaction_hash: str = ""

    def record(self) -> dict[str, Any]:
        """The ``GET /data/trades`` element (the event without its envelope)."""
        o, m = self.order, self.order.market
        return {
            "id": self.id,
            "taker_order_id": o.id,
            "market": m.condition_id,
            "asset_id": m.token_id,
            "side": o.side,
            "size": format_fixed(self.size),
            "fee_rate_bps": str(m.fee_rate // 100),
            "price": format_fixed(self.price),
            "status": self.status,
            "match_time": str(self.match_time),
            "last_update": str(self.last_update),
            "outcome": m.outcome,
            "bucket_index": 0,
            "owner": o.key.api_key,
            "trade_owner": o.key.api_key,
            "maker_address": o.key.address,
            "transaction_hash": self.transaction_hash,
            "trader_side": "TAKER",
            "maker_orders": [
                {
                    "asset_id": m.token_id,
                    "fee_rate_bps": "0",
                    "maker_address": BOOK_MAKER,
                    "matched_amount": format_fixed(self.size),
                    "order_id": _hex_id(f"book:{m.token_id}:{self.price}"),
                    "outcome": m.outcome,
                    "owner": BOOK_OWNER,
                    "price": format_fixed(self.price),
                    "side": SELL if o.side == BUY else BUY,
                }
            ],
        }

    def event(self, now_ms: int) -> dict[str, Any]:
        """A user-channel ``trade`` event (ws_user/trade_*.json)."""
        return {**self.record(), "event_type": "trade", "timestamp": str(now_ms), "type": "TRADE"}


def _hex_id(text: str) -> str:
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


BookSource = Callable[[str], OrderBook | None]
"""``books(token_id)``: the current book of a token (None when unknown)."""


class ClobExchange:
    """Accounts, keys, orders and trades of the double; matches takers against ``books``."""

    def __init__(
        self,
        markets: list[MarketInfo],
        books: BookSource,
        *,
        chain_id: int = POLYGON,
        clock: Callable[[], float] = time.time,
        collateral: int = 1_000 * SCALE,
        allowance: int = 1_000 * SCALE,
        heartbeat_timeout_s: float = 15.0,
        faults: ClobFaults | None = None,
    ) -> None:
        self.markets = {m.token_id: m for m in markets}
        self.books = books
        self.chain_id = chain_id
        self.clock = clock
        self.default_collateral = collateral
        self.default_allowance = allowance
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.faults = faults or ClobFaults()
        self.accounts: dict[str, Account] = {}
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        """``(api_key, condition_id, event)`` waiting for the user channel."""
        self._keys: dict[str, _Key] = {}
        self._orders: dict[str, _Order] = {}
        self._trades: dict[str, _Trade] = {}
        self._due: list[tuple[float, int, str]] = []
        self._beats: dict[str, float] = {}
        self._taken: dict[tuple[str, str, int, int], int] = {}
        self._seq = 0

    # -- time ----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- accounts ------------------------------------------------------------------------

    def account(self, address: str) -> Account:
        """The account of ``address`` (created with the default funding on first use)."""
        key = address.lower()
        acct = self.accounts.get(key)
        if acct is None:
            acct = Account(address, self.default_collateral, self.default_allowance)
            self.accounts[key] = acct
        return acct

    def fund(
        self,
        address: str,
        *,
        collateral: int | None = None,
        allowance: int | None = None,
        tokens: dict[str, int] | None = None,
    ) -> Account:
        """Set an account's balances (tests: drain the balance, revoke the allowance)."""
        acct = self.account(address)
        if collateral is not None:
            acct.collateral = collateral
        if allowance is not None:
            acct.allowance = allowance
        if tokens:
            acct.tokens.update(tokens)
        return acct

    # -- auth ----------------------------------------------------------------------------

    def api_key(self, headers: dict[str, str]) -> dict[str, str]:
        """``/auth/api-key`` and ``/auth/derive-api-key``: the key triple of an L1-signed wallet."""
        address = headers.get("POLY_ADDRESS", "")
        try:
            nonce = int(headers.get("POLY_NONCE", "0"))
            signer = recover_l1_address(
                headers["POLY_SIGNATURE"],
                self.chain_id,
                address,
                headers["POLY_TIMESTAMP"],
                nonce,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ApiError(401, INVALID_L1) from exc
        if signer.lower() != address.lower():
            raise ApiError(401, INVALID_L1)
        # Deterministic per (address, nonce), like the real derive endpoint.
        seed = hashlib.sha256(f"polyarb-double:{address.lower()}:{nonce}".encode()).digest()
        key = _Key(
            api_key=str(uuid.UUID(bytes=seed[:16])),
            secret=base64.urlsafe_b64encode(seed).decode(),
            passphrase=hashlib.sha256(seed).hexdigest()[:32],
            address=address,
        )
        self._keys[key.api_key] = key
        self.account(address)
        return {"apiKey": key.api_key, "secret": key.secret, "passphrase": key.passphrase}

    def authenticate(self, headers: dict[str, str], method: str, path: str, body: str) -> _Key:
        """Check L2 headers (key, passphrase, address, HMAC over the body as sent)."""
        key = self._keys.get(headers.get("POLY_API_KEY", ""))
        if key is None or headers.get("POLY_PASSPHRASE") != key.passphrase:
            raise ApiError(401, UNAUTHORIZED)
        if headers.get("POLY_ADDRESS", "").lower() != key.address.lower():
            raise ApiError(401, UNAUTHORIZED)
        try:
            expected = hmac_signature(
                key.secret, int(headers.get("POLY_TIMESTAMP", "")), method, path, body
            )
        except ValueError as exc:
            raise ApiError(401, UNAUTHORIZED) from exc
        if headers.get("POLY_SIGNATURE") != expected:
            raise ApiError(401, UNAUTHORIZED)
        return key

    def key_for_channel(self, auth: dict[str, Any]) -> str | None:
        """The api key a user-channel subscribe authenticates as (None when wrong)."""
        key = self._keys.get(str(auth.get("apiKey", "")))
        if (
            key is None
            or auth.get("secret") != key.secret
            or auth.get("passphrase") != key.passphrase
        ):
            return None
        return key.api_key

    # -- orders --------------------------------------------------------------------------

    def post_order(self, key: _Key, body: str) -> dict[str, Any]:
        """``POST /order``: validate, match, book; the answer of rest/order_post_*.json."""
        try:
            payload = json.loads(body)
            order = payload["order"]
            order_type = str(payload["orderType"])
            token = str(order["tokenId"])
            maker_amount = int(order["makerAmount"])
            taker_amount = int(order["takerAmount"])
            side = str(order["side"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(400, INVALID_PAYLOAD) from exc
        if side not in (BUY, SELL) or order_type not in ("FOK", "FAK", "GTC", "GTD"):
            raise ApiError(400, INVALID_PAYLOAD)
        if payload.get("owner") != key.api_key:
            raise ApiError(400, OWNER_NOT_KEY)
        market = self.markets.get(token)
        if market is None:
            raise ApiError(400, INVALID_TOKEN)
        if str(order.get("signer", "")).lower() != key.address.lower():
            raise ApiError(400, SIGNER_NOT_KEY)
        exchange = exchange_address(self.chain_id, market.neg_risk)
        signer = recover_order_signer(order, self.chain_id, exchange)
        if signer is None or signer.lower() != key.address.lower():
            raise ApiError(400, INVALID_SIGNATURE)
        order_id = order_hash(order, self.chain_id, exchange)
        if order_id in self._orders:
            raise ApiError(400, f"order {order_id} is invalid. Duplicated.")
        size, cash = (taker_amount, maker_amount) if side == BUY else (maker_amount, taker_amount)
        price, remainder = divmod(cash * SCALE, size) if size > 0 else (0, 1)
        tick = market.tick
        if remainder or price % tick or not tick <= price <= SCALE - tick:
            shown = format_fixed(price) if size > 0 else "0"
            raise ApiError(
                400,
                f"order {order_id} is invalid. Price ({shown}) breaks minimum tick size rule: "
                f"{format_fixed(tick)}",
            )
        marketable = order_type in ("FOK", "FAK")
        if marketable and cash < SCALE:
            raise ApiError(
                400,
                f"invalid amount for a marketable {side} order (${format_fixed(cash)}), "
                "min size: $1",
            )
        if not marketable and size < market.min_order_size:
            raise ApiError(
                400,
                f"order {order_id} is invalid. Size ({format_fixed(size)}) lower than the "
                f"minimum: {format_fixed(market.min_order_size)}",
            )
        acct = self.account(key.address)
        if side == BUY:
            if cash > self._free_collateral(acct) or cash > acct.allowance:
                raise ApiError(400, NOT_ENOUGH_BALANCE)
        elif size > acct.tokens.get(token, 0) - self._reserved_tokens(key.address, token):
            raise ApiError(400, NOT_ENOUGH_BALANCE)

        fills = self._match(market, side, price, size, fill_or_kill=order_type == "FOK")
        if not fills and order_type == "FOK":
            raise ApiError(400, FOK_NOT_FILLED)
        if not fills and order_type == "FAK":
            raise ApiError(400, FAK_NO_MATCH)
        now_ms = self._now_ms()
        rec = _Order(
            id=order_id,
            key=key,
            market=market,
            side=side,
            price=price,
            size=size,
            order_type=order_type,
            created_at=now_ms // 1000,
            expiration=str(order.get("expiration", "0")),
        )
        self._orders[order_id] = rec
        hashes = [self._trade(rec, p, s, now_ms).transaction_hash for p, s in fills]
        filled = sum(s for _, s in fills)
        spent = sum(p * s // SCALE for p, s in fills)
        if filled == size or marketable:
            rec.status = "MATCHED"
        else:
            self._emit(rec.key, market, rec.event("PLACEMENT", now_ms))
        shares, money = format_fixed(filled), format_fixed(spent)
        return {
            "errorMsg": "",
            "orderID": order_id,
            "takingAmount": (shares if side == BUY else money) if fills else "",
            "makingAmount": (money if side == BUY else shares) if fills else "",
            "status": "matched" if fills else "live",
            "transactionsHashes": hashes,
            "success": True,
        }

    def _free_collateral(self, acct: Account) -> int:
        reserved = sum(
            (o.size - o.matched) * o.price // SCALE
            for o in self._orders.values()
            if o.status == "LIVE"
            and o.side == BUY
            and o.key.address.lower() == acct.address.lower()
        )
        return acct.collateral - reserved

    def _reserved_tokens(self, address: str, token: str) -> int:
        return sum(
            o.size - o.matched
            for o in self._orders.values()
            if o.status == "LIVE"
            and o.side == SELL
            and o.market.token_id == token
            and o.key.address.lower() == address.lower()
        )

    def _match(
        self, market: MarketInfo, side: str, price: int, size: int, *, fill_or_kill: bool
    ) -> list[tuple[int, int]]:
        book = self.books(market.token_id)
        if book is None or not book.synced:
            return []
        levels = book.asks_best_first() if side == BUY else book.bids_best_first()
        # What we already took from a level stays taken until the book itself changes.
        book_side = SELL if side == BUY else BUY
        left = [
            (p, s - self._taken.get((market.token_id, book_side, p, book.ts_ms), 0))
            for p, s in levels
        ]
        fills = match_taker(side, price, size, left, fill_or_kill=fill_or_kill)
        for p, s in fills:
            slot = (market.token_id, book_side, p, book.ts_ms)
            self._taken[slot] = self._taken.get(slot, 0) + s
        return fills

    def _trade(self, order: _Order, price: int, size: int, now_ms: int) -> _Trade:
        self._seq += 1
        trade_id = str(
            uuid.UUID(bytes=hashlib.sha256(f"{order.id}:{self._seq}".encode()).digest()[:16])
        )
        fee = taker_fee(size, price, order.market.fee_rate, 1)
        fail = False
        if self.faults.fail_trades_after > 0:
            self.faults.fail_trades_after -= 1
        elif self.faults.fail_trades_next > 0:
            self.faults.fail_trades_next -= 1
            fail = True
        trade = _Trade(
            id=trade_id,
            order=order,
            price=price,
            size=size,
            fee=fee,
            match_time=now_ms // 1000,
            last_update=now_ms // 1000,
            transaction_hash=_hex_id(f"tx:{trade_id}"),
            steps=["RETRYING", "FAILED"] if fail else ["MINED", "CONFIRMED"],
        )
        self._trades[trade_id] = trade
        order.trades.append(trade_id)
        order.matched += size
        self._book_fill(trade, +1)
        self._emit(order.key, order.market, trade.event(now_ms))
        self._schedule(trade)
        return trade

    def _book_fill(self, trade: _Trade, sign: int) -> None:
        """Move cash and shares for a fill (``sign`` -1 reverses a failed trade)."""
        order = trade.order
        acct = self.account(order.key.address)
        cash = trade.price * trade.size // SCALE
        token = order.market.token_id
        if order.side == BUY:
            acct.collateral -= sign * (cash + trade.fee)
            acct.allowance -= sign * cash
            acct.tokens[token] = acct.tokens.get(token, 0) + sign * trade.size
        else:
            acct.collateral += sign * (cash - trade.fee)
            acct.tokens[token] = acct.tokens.get(token, 0) - sign * trade.size

    def _schedule(self, trade: _Trade) -> None:
        self._seq += 1
        self._due.append((self.clock() + self.faults.trade_delay_s, self._seq, trade.id))

    def _emit(self, key: _Key, market: MarketInfo, event: dict[str, Any]) -> None:
        self.events.append((key.api_key, market.condition_id, event))

    def get_order(self, key: _Key, order_id: str) -> dict[str, Any] | None:
        """``GET /data/order/{id}``: the record, or None for an unknown (or foreign) order."""
        order = self._orders.get(order_id)
        if order is None or order.key.api_key != key.api_key:
            return None
        return order.record()

    def all_orders(self) -> list[dict[str, Any]]:
        """Every order the double booked, any key, any status, oldest first (tests, audits)."""
        return [o.record() for o in self._orders.values()]

    def open_orders(
        self, key: _Key, market: str | None = None, asset_id: str | None = None
    ) -> list[dict[str, Any]]:
        """``GET /data/orders``: this key's LIVE orders, oldest first."""
        return [
            o.record()
            for o in self._orders.values()
            if o.key.api_key == key.api_key
            and o.status == "LIVE"
            and market in (None, o.market.condition_id)
            and asset_id in (None, o.market.token_id)
        ]

    def trades(
        self, key: _Key, market: str | None = None, asset_id: str | None = None
    ) -> list[dict[str, Any]]:
        """``GET /data/trades``: this key's trades, oldest first."""
        return [
            t.record()
            for t in self._trades.values()
            if t.order.key.api_key == key.api_key
            and market in (None, t.order.market.condition_id)
            and asset_id in (None, t.order.market.token_id)
        ]

    def cancel(self, key: _Key, order_ids: list[str]) -> dict[str, Any]:
        """``DELETE /order(s)``: ``{"canceled": [...], "not_canceled": {id: reason}}``."""
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        for order_id in order_ids:
            order = self._orders.get(order_id)
            if order is None or order.key.api_key != key.api_key:
                not_canceled[order_id] = "order not found"
            elif order.status != "LIVE":
                not_canceled[order_id] = "order can't be found - already canceled or matched"
            else:
                self._cancel(order)
                canceled.append(order_id)
        return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_all(self, key: _Key) -> dict[str, Any]:
        """``DELETE /cancel-all``."""
        live = [
            o.id
            for o in self._orders.values()
            if o.key.api_key == key.api_key and o.status == "LIVE"
        ]
        return self.cancel(key, live)

    def _cancel(self, order: _Order) -> None:
        order.status = "CANCELED"
        self._emit(order.key, order.market, order.event("CANCELLATION", self._now_ms()))

    def balance_allowance(self, key: _Key, asset_type: str, token_id: str | None) -> dict[str, Any]:
        """``GET /balance-allowance`` in 6-decimal units, allowances per V2 exchange."""
        acct = self.account(key.address)
        if asset_type == "COLLATERAL":
            balance = acct.collateral
        else:
            balance = acct.tokens.get(token_id or "", 0)
        allowance = str(acct.allowance)
        return {
            "balance": str(balance),
            "allowances": {
                exchange_address(self.chain_id, False): allowance,
                exchange_address(self.chain_id, True): allowance,
            },
        }

    # -- dead-man switch and lifecycle ---------------------------------------------------

    def heartbeat(self, key: _Key) -> dict[str, Any]:
        """``POST /heartbeats``: arms (and re-arms) this key's dead-man switch."""
        self._beats[key.api_key] = self.clock()
        return {"status": "ok"}

    def sweep(self) -> list[str]:
        """Advance due trades and cancel the orders of keys whose heartbeat lapsed.

        Returns the ids of the orders the dead-man switch cancelled.
        """
        now = self.clock()
        lapsed = [k for k, t in self._beats.items() if now - t > self.heartbeat_timeout_s]
        cancelled: list[str] = []
        for api_key in lapsed:
            del self._beats[api_key]  # disarmed until the next heartbeat
            for order in list(self._orders.values()):
                if order.key.api_key == api_key and order.status == "LIVE":
                    self._cancel(order)
                    cancelled.append(order.id)
        due = sorted(d for d in self._due if d[0] <= now)
        self._due = [d for d in self._due if d[0] > now]
        for _, _, trade_id in due:
            self._advance(self._trades[trade_id])
        return cancelled

    def _advance(self, trade: _Trade) -> None:
        if not trade.steps:
            return  # failed early with the BUY whose shares it sold (:meth:`_fail_spenders`)
        status = trade.steps.pop(0)
        if status == "FAILED":
            self._fail(trade)
            return
        trade.status = status
        trade.last_update = int(self.clock())
        self._emit(trade.order.key, trade.order.market, trade.event(self._now_ms()))
        if trade.steps:
            self._schedule(trade)

    def _fail(self, trade: _Trade) -> None:
        """FAILED: the fill goes back; a failed BUY also fails the SELLs that spent its shares."""
        trade.steps = []
        trade.status = "FAILED"
        trade.last_update = int(self.clock())
        self._book_fill(trade, -1)
        trade.order.matched -= trade.size
        self._emit(trade.order.key, trade.order.market, trade.event(self._now_ms()))
        if trade.order.side == BUY:
            self._fail_spenders(trade)

    def _fail_spenders(self, failed: _Trade) -> None:
        """Shares are spendable at MATCHED, so a later SELL may have sold a failed BUY's shares.

        Trades settle on chain in match order: such a SELL cannot settle either. Its
        newest unsettled SELL trades of the token fail too until the balance is not
        negative, so the account never shows shares it does not have. (A SELL settles
        after the BUY it spent: same lifecycle delay, later match.)
        """
        order = failed.order
        acct = self.account(order.key.address)
        token = order.market.token_id
        for trade in reversed(list(self._trades.values())):
            if acct.tokens.get(token, 0) >= 0:
                return
            o = trade.order
            if (
                o.side == SELL
                and o.market.token_id == token
                and o.key.address.lower() == acct.address.lower()
                and trade.status not in ("CONFIRMED", "FAILED")
            ):
                self._fail(trade)
