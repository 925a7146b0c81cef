"""A synchronous Polymarket CLOB V2 REST client that never sends an order twice.

Transport rules (docs/protocol.md §Authentication and rate limits, the exchange's error reference):

* 429 (throttled) and 425 (matching engine restarting) mean the request was
  refused before it was processed: wait (the ``Retry-After`` header if given,
  else exponential backoff) and send again.
* A timeout, a dropped connection or a 5xx on ``POST /order`` leaves the outcome
  unknown. The order id is the EIP-712 hash, known before sending, so the
  client asks ``GET /data/order/{id}`` first and only resends the *same bytes*
  (same salt, same hash) when the exchange does not know the order. A resend
  answered "Duplicated" is reconciled the same way. Reads and cancels are
  idempotent and simply retried.
* Any other 4xx is the exchange refusing: :class:`ClobRejected` carries its text.

The clock (for L1/L2 timestamps and the order timestamp) and the sleeper are
injected, so tests run the backoff without waiting.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from polyarb.errors import PolyarbError
from polyarb.venues.polymarket.errors import ClobRejected, ClobUnavailable
from polyarb.venues.polymarket.pacing import RateLimiter
from polyarb.venues.polymarket.signing import (
    POLYGON,
    ApiCreds,
    MarketParams,
    SignedOrder,
    address_of,
    l1_headers,
    l2_headers,
    sign_order,
)

log = logging.getLogger(__name__)

END_CURSOR = "LTE="
MAX_BATCH = 15
"""``POST /orders`` takes at most 15 orders (docs/protocol.md §Order signing)."""
DUPLICATED = "Duplicated"


class _Unknown(PolyarbError):
    """No usable answer (timeout, connection lost, 5xx): the request may or may not have run."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Throttled(PolyarbError):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__("429")
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per call, backoff base/cap, per-request timeout (seconds)."""

    max_attempts: int = 6
    backoff_s: float = 0.25
    backoff_max_s: float = 8.0
    timeout_s: float = 5.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.backoff_max_s, max(0.0, retry_after))
        return min(self.backoff_max_s, self.backoff_s * (2**attempt))


@dataclass
class ClientStats:
    """What the transport went through (for metrics and alerts)."""

    requests: int = 0
    throttled: int = 0
    timeouts: int = 0
    server_errors: int = 0
    reconciles: int = 0
    resends: int = 0
    slept_s: float = 0.0


@dataclass(frozen=True)
class OrderAck:
    """The exchange's answer to an order, direct or found by reconciliation.

    ``status`` is the POST answer's (``matched``, ``live``, ``delayed``,
    ``unmatched``) or, when ``reconciled``, the order record's (``MATCHED``,
    ``LIVE``, ``CANCELED``...). Amounts are the exchange's decimal strings.
    """

    order_id: str
    client_order_id: str
    status: str
    making_amount: str = ""
    taking_amount: str = ""
    transactions: tuple[str, ...] = ()
    reconciled: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    """Set (with ``status`` "rejected") for an order a batch refused."""


class PolymarketClient:
    """REST access to one wallet's account on a CLOB V2 host (``http://127.0.0.1:P`` for the double).

    ``limits`` overrides the client-side rate limits (group → (requests, window s)).
    """

    def __init__(
        self,
        host: str,
        private_key: str,
        *,
        chain_id: int = POLYGON,
        creds: ApiCreds | None = None,
        funder: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        policy: RetryPolicy | None = None,
        limits: dict[str, tuple[int, float]] | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(host)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"host must be http(s)://HOST[:PORT], got {host!r}")
        self._scheme = parsed.scheme
        self._netloc = parsed.hostname
        self._port = parsed.port
        self._key = private_key
        self.address = address_of(private_key)
        self.chain_id = chain_id
        self.creds = creds
        self.funder = funder
        self.clock = clock
        self.sleep = sleep
        self.policy = policy or RetryPolicy()
        self.stats = ClientStats()
        self.limiter = RateLimiter(clock, sleep, limits)
        self._conn: http.client.HTTPConnection | None = None
        # One connection, shared by the caller and a Heartbeat thread: one request at a time.
        self._lock = threading.Lock()
        self._signed: dict[str, SignedOrder] = {}

    def __repr__(self) -> str:  # never the key
        return f"PolymarketClient({self._scheme}://{self._netloc}:{self._port}, {self.address})"

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- auth ----------------------------------------------------------------------------

    def create_api_key(self, nonce: int = 0) -> ApiCreds:
        """``POST /auth/api-key`` (L1): a new key triple; also stored on the client."""
        return self._keys("POST", "/auth/api-key", nonce)

    def derive_api_key(self, nonce: int = 0) -> ApiCreds:
        """``GET /auth/derive-api-key`` (L1): the existing key triple for ``nonce``."""
        return self._keys("GET", "/auth/derive-api-key", nonce)

    def create_or_derive_api_key(self, nonce: int = 0) -> ApiCreds:
        """Derive the key for ``nonce``; create it when the exchange has none yet."""
        try:
            return self.derive_api_key(nonce)
        except ClobRejected:
            return self.create_api_key(nonce)

    def _keys(self, method: str, path: str, nonce: int) -> ApiCreds:
        def headers(_body: str) -> dict[str, str]:
            return l1_headers(self._key, self.chain_id, int(self.clock()), nonce)

        out = self._call(method, path, headers=headers)
        self.creds = ApiCreds(out["apiKey"], out["secret"], out["passphrase"])
        return self.creds

    # -- orders --------------------------------------------------------------------------

    def sign(
        self,
        market: MarketParams,
        *,
        side: str,
        price: int,
        size: int,
        order_type: str,
        client_order_id: str,
        exchange: str | None = None,
    ) -> SignedOrder:
        """Sign an order (integer micro-unit price and size); the same id returns the same order."""
        known = self._signed.get(client_order_id)
        if known is not None:
            return known
        signed = sign_order(
            self._key,
            market,
            side=side,
            price=price,
            size=size,
            order_type=order_type,
            owner=self._creds().api_key,
            client_order_id=client_order_id,
            timestamp_ms=int(self.clock() * 1000),
            chain_id=self.chain_id,
            funder=self.funder,
            exchange=exchange,
        )
        self._signed[client_order_id] = signed
        return signed

    def place(
        self,
        market: MarketParams,
        *,
        side: str,
        price: int,
        size: int,
        order_type: str,
        client_order_id: str,
    ) -> OrderAck:
        """Sign and post (FOK/FAK for takers); see :meth:`post_order` for the retry rules."""
        signed = self.sign(
            market,
            side=side,
            price=price,
            size=size,
            order_type=order_type,
            client_order_id=client_order_id,
        )
        return self.post_order(signed)

    def post_order(self, signed: SignedOrder) -> OrderAck:
        """``POST /order`` exactly once in effect: reconcile before any resend."""
        path = "/order"
        for attempt in range(self.policy.max_attempts):
            try:
                out = self._once("POST", path, signed.body_text)
            except _Throttled as exc:
                self._backoff(attempt, exc.retry_after)
                continue
            except _Unknown as exc:
                log.warning("order %s: %s; reconciling before any resend", signed.order_id, exc)
                found = self._reconcile(signed)
                if found is not None:
                    return found
                self.stats.resends += 1
                self._backoff(attempt)
                continue
            except ClobRejected as exc:
                if DUPLICATED in exc.message:
                    found = self._reconcile(signed)
                    if found is not None:
                        return found
                raise
            return self._ack(signed, out)
        raise ClobUnavailable(0, f"gave up after {self.policy.max_attempts} attempts", path)

    def post_orders(self, orders: list[SignedOrder]) -> list[OrderAck]:
        """``POST /orders`` (at most 15, not atomic): one ack per order, in the given order.

        An order the exchange refused comes back with ``status`` "rejected" and
        ``error`` set. After an unknown outcome each order is reconciled by id
        and only the ones the exchange does not know are sent again.
        """
        if not 0 < len(orders) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} orders, got {len(orders)}")
        done: dict[str, OrderAck] = {}
        pending = list(orders)
        path = "/orders"
        for attempt in range(self.policy.max_attempts):
            body = "[" + ",".join(o.body_text for o in pending) + "]"
            try:
                out = self._once("POST", path, body)
            except _Throttled as exc:
                self._backoff(attempt, exc.retry_after)
                continue
            except _Unknown as exc:
                log.warning("batch of %d: %s; reconciling before any resend", len(pending), exc)
            else:
                answers = out if isinstance(out, list) else []
                for signed, answer in zip(pending, answers, strict=False):
                    done[signed.order_id] = self._batch_ack(signed, answer)
            for signed in pending:  # no answer for it: ask before sending it again
                if signed.order_id not in done:
                    found = self._reconcile(signed)
                    if found is not None:
                        done[signed.order_id] = found
            pending = [o for o in pending if o.order_id not in done]
            if not pending:
                return [done[o.order_id] for o in orders]
            self.stats.resends += 1
            self._backoff(attempt)
        raise ClobUnavailable(0, f"gave up after {self.policy.max_attempts} attempts", path)

    def _batch_ack(self, signed: SignedOrder, answer: Any) -> OrderAck:
        body = answer if isinstance(answer, dict) else {}
        error = str(body.get("errorMsg") or "")
        if not error and body.get("success") is not False:
            return self._ack(signed, body)
        if DUPLICATED in error:
            found = self._reconcile(signed)
            if found is not None:
                return found
        return OrderAck(
            signed.order_id, signed.client_order_id, "rejected", raw=body, error=error or "refused"
        )

    def _reconcile(self, signed: SignedOrder) -> OrderAck | None:
        self.stats.reconciles += 1
        record = self.get_order(signed.order_id)
        if record is None:
            return None
        # The record has no amounts per fill: those come from its trades (user channel, /data/trades).
        return OrderAck(
            order_id=signed.order_id,
            client_order_id=signed.client_order_id,
            status=str(record.get("status", "")),
            reconciled=True,
            raw=record,
        )

    @staticmethod
    def _ack(signed: SignedOrder, out: Any) -> OrderAck:
        body = out if isinstance(out, dict) else {}
        return OrderAck(
            order_id=str(body.get("orderID") or signed.order_id),
            client_order_id=signed.client_order_id,
            status=str(body.get("status", "")),
            making_amount=str(body.get("makingAmount", "")),
            taking_amount=str(body.get("takingAmount", "")),
            transactions=tuple(str(t) for t in body.get("transactionsHashes") or ()),
            raw=body,
        )

    def get_order(self, order_id: str) -> dict[str, Any] | None:
        """``GET /data/order/{id}``; None when the exchange does not know the order."""
        try:
            out = self._call("GET", f"/data/order/{order_id}")
        except ClobRejected as exc:
            if exc.status == 404:
                return None
            raise
        return out if isinstance(out, dict) and out else None

    def cancel(self, order_id: str) -> dict[str, Any]:
        """``DELETE /order``: ``{"canceled": [...], "not_canceled": {id: reason}}``."""
        return dict(self._call("DELETE", "/order", {"orderID": order_id}))

    def cancel_orders(self, order_ids: list[str]) -> dict[str, Any]:
        """``DELETE /orders`` (at most 1,000 ids per call)."""
        return dict(self._call("DELETE", "/orders", list(order_ids)))

    def cancel_all(self) -> dict[str, Any]:
        """``DELETE /cancel-all``: every open order of this API key."""
        return dict(self._call("DELETE", "/cancel-all"))

    def open_orders(
        self, market: str | None = None, asset_id: str | None = None
    ) -> list[dict[str, Any]]:
        """``GET /data/orders``, all pages."""
        return self._pages("/data/orders", {"market": market, "asset_id": asset_id})

    def trades(
        self, market: str | None = None, asset_id: str | None = None, after: int | None = None
    ) -> list[dict[str, Any]]:
        """``GET /data/trades``, all pages (``after`` in unix seconds)."""
        return self._pages(
            "/data/trades",
            {
                "market": market,
                "asset_id": asset_id,
                "after": None if after is None else str(after),
            },
        )

    def balance_allowance(
        self, asset_type: str = "COLLATERAL", token_id: str | None = None
    ) -> dict[str, Any]:
        """``GET /balance-allowance``: ``{"balance": "<6-dec units>", "allowances": {exchange: ...}}``."""
        query = {"asset_type": asset_type, "token_id": token_id, "signature_type": "0"}
        return dict(self._call("GET", "/balance-allowance", query=query))

    def heartbeat(self, heartbeat_id: str = "") -> dict[str, Any]:
        """``POST /v1/heartbeats``: the dead-man switch; stop sending and the exchange cancels."""
        return dict(self._call("POST", "/v1/heartbeats", {"heartbeat_id": heartbeat_id}))

    # -- transport -----------------------------------------------------------------------

    def _pages(self, path: str, query: dict[str, str | None]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = "MA=="
        while cursor != END_CURSOR:
            page = self._call("GET", path, query={**query, "next_cursor": cursor})
            out.extend(page.get("data") or [])
            cursor = str(page.get("next_cursor") or END_CURSOR)
        return out

    def _creds(self) -> ApiCreds:
        if self.creds is None:
            raise RuntimeError("no API credentials: call derive_api_key() or pass creds=")
        return self.creds

    def _l2(self, method: str, path: str) -> Callable[[str], dict[str, str]]:
        def headers(body: str) -> dict[str, str]:
            return l2_headers(self._creds(), self.address, int(self.clock()), method, path, body)

        return headers

    def _call(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        query: dict[str, str | None] | None = None,
        headers: Callable[[str], dict[str, str]] | None = None,
    ) -> Any:
        """An idempotent request: retried on 429, timeouts and 5xx."""
        body = "" if payload is None else json.dumps(payload, separators=(",", ":"))
        for attempt in range(self.policy.max_attempts):
            try:
                return self._once(method, path, body, query=query, headers=headers)
            except _Throttled as exc:
                self._backoff(attempt, exc.retry_after)
            except _Unknown:
                self._backoff(attempt)
        raise ClobUnavailable(0, f"gave up after {self.policy.max_attempts} attempts", path)

    def _backoff(self, attempt: int, retry_after: float | None = None) -> None:
        delay = self.policy.delay(attempt, retry_after)
        self.stats.slept_s += delay
        self.sleep(delay)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self._netloc, self._port, timeout=self.policy.timeout_s)
        return self._conn

    def _once(
        self,
        method: str,
        path: str,
        body: str = "",
        *,
        query: dict[str, str | None] | None = None,
        headers: Callable[[str], dict[str, str]] | None = None,
    ) -> Any:
        signed_headers = (headers or self._l2(method, path))(body)
        target = path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            target += "?" + urllib.parse.urlencode(params)
        self.stats.slept_s += self.limiter.acquire(method, path)
        with self._lock:
            self.stats.requests += 1
            try:
                conn = self._connection()
                conn.request(
                    method,
                    target,
                    body=body.encode() if body else None,
                    headers={**signed_headers, "Content-Type": "application/json"},
                )
                response = conn.getresponse()
                raw = response.read()
            except TimeoutError as exc:
                self.stats.timeouts += 1
                self.close()  # a late answer must not be read as the next request's
                raise _Unknown(0, f"timeout after {self.policy.timeout_s:g}s") from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise _Unknown(0, f"connection: {type(exc).__name__}: {exc}") from exc
        status = response.status
        if status in (425, 429):
            # 429 throttled, 425 matching engine restarting: refused before processing.
            self.stats.throttled += 1
            after = response.getheader("Retry-After")
            raise _Throttled(
                float(after) if after and after.replace(".", "", 1).isdigit() else None
            )
        text = raw.decode("utf-8", "replace")
        if status >= 500:
            self.stats.server_errors += 1
            raise _Unknown(status, _error_text(text))
        if status >= 400:
            raise ClobRejected(status, _error_text(text), path)
        return json.loads(text) if text.strip() else None


def _error_text(text: str) -> str:
    try:
        out = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    if isinstance(out, dict):
        return str(out.get("error") or out.get("errorMsg") or out)
    return str(out)
