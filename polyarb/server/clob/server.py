"""HTTP + user-channel WebSocket front of the exchange double, on 127.0.0.1 (aiohttp).

Routes (paths as py-clob-client-v2's ``endpoints.py``): ``/auth/api-key``,
``/auth/derive-api-key``, ``/order`` (POST, DELETE), ``/orders`` (DELETE),
``/cancel-all``, ``/data/order/{id}``, ``/data/orders``, ``/data/trades``,
``/balance-allowance``, ``/balance-allowance/update``, ``/heartbeats`` and
``/v1/heartbeats``, ``/ok``, ``/time``, and the user channel at ``/ws/user``.
Faults (:class:`~polyarb.server.clob.exchange.ClobFaults`) are applied here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from polyarb.book.book import OrderBook
from polyarb.events import BookSnapshot, LevelChange
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.parser import parse_frame
from polyarb.server.clob.exchange import (
    TOO_EARLY,
    TOO_MANY_REQUESTS,
    ApiError,
    ClobExchange,
    MarketInfo,
)
from polyarb.server.thread import LoopThread
from polyarb.units import format_fixed

log = logging.getLogger(__name__)

MAX_BATCH = 15

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def markets_from_meta(metas: list[MarketMeta]) -> list[MarketInfo]:
    """The double's markets from a session's market metadata (one per token)."""
    return [
        MarketInfo(
            token_id=token,
            condition_id=m.condition_id,
            outcome=m.outcome_of(token),
            tick=m.tick_size,
            neg_risk=m.neg_risk,
            min_order_size=m.min_order_size,
            fee_rate=m.fee_rate if m.fee_exponent == 1 else 0,
        )
        for m in metas
        for token in m.token_ids
    ]


class FrameBooks:
    """A book source fed with market-channel frame texts (the project's parser and book)."""

    def __init__(self) -> None:
        self.books: dict[str, OrderBook] = {}

    def feed(self, text: str) -> None:
        for event in parse_frame(text):
            if isinstance(event, BookSnapshot):
                book = self.books.get(event.asset_id) or OrderBook(
                    event.asset_id, event.market, event.tick_size or 10_000
                )
                book.apply_snapshot(event.bids, event.asks, event.ts_ms, event.tick_size)
                self.books[event.asset_id] = book
            elif isinstance(event, LevelChange):
                known = self.books.get(event.asset_id)
                if known is not None:
                    known.apply_level(event.side, event.price, event.size, event.ts_ms)

    def __call__(self, token_id: str) -> OrderBook | None:
        return self.books.get(token_id)


class BytesBooks:
    """A book source over ``current(token) -> book frame bytes`` (the replay server's dumps)."""

    def __init__(self, current: Callable[[str], bytes | None]) -> None:
        self._current = current
        self._cache: dict[str, tuple[bytes, OrderBook]] = {}

    def __call__(self, token_id: str) -> OrderBook | None:
        data = self._current(token_id)
        if data is None:
            return None
        cached = self._cache.get(token_id)
        if cached is not None and cached[0] == data:
            return cached[1]
        frames = FrameBooks()
        frames.feed(data.decode("utf-8", "replace"))
        book = frames(token_id)
        if book is not None:
            self._cache[token_id] = (data, book)
        return book


@dataclass
class _Subscriber:
    ws: web.WebSocketResponse
    api_key: str
    markets: frozenset[str]
    sent: int = 0
    queue: list[str] = field(default_factory=list)


class ClobServer:
    """Serve a :class:`ClobExchange` on ``http://host:port`` and ``ws://host:port/ws/user``."""

    def __init__(
        self,
        exchange: ClobExchange,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sweep_s: float = 0.05,
    ) -> None:
        self.exchange = exchange
        self.host = host
        self.port = port
        self.sweep_s = sweep_s
        self._subs: list[_Subscriber] = []
        self._runner: web.AppRunner | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/user"

    @property
    def subscribers(self) -> int:
        """How many user-channel sockets are subscribed now."""
        return len(self._subs)

    async def start(self) -> int:
        """Listen; returns the bound port."""
        app = web.Application(middlewares=[self._faults])
        r = app.router
        r.add_get("/ok", self._ok)
        r.add_get("/time", self._time)
        r.add_get("/book", self._book)
        r.add_get("/auth/derive-api-key", self._api_key)
        r.add_post("/auth/api-key", self._api_key)
        r.add_post("/order", self._post_order)
        r.add_post("/orders", self._post_orders)
        r.add_delete("/order", self._cancel_one)
        r.add_delete("/orders", self._cancel_many)
        r.add_delete("/cancel-all", self._cancel_all)
        r.add_get("/data/order/{order_id}", self._get_order)
        r.add_get("/data/orders", self._open_orders)
        r.add_get("/data/trades", self._trades)
        r.add_get("/balance-allowance", self._balance)
        r.add_get("/balance-allowance/update", self._balance)
        r.add_post("/heartbeats", self._heartbeat)
        r.add_post("/v1/heartbeats", self._heartbeat)
        r.add_get("/ws/user", self._user_channel)
        # A stop gives in-flight requests a second, not aiohttp's minute: a held answer
        # (timeout_next, ack_delay) is already late by design and would only delay exit.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="clob-sweep")
        return self.port

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for sub in list(self._subs):
            await sub.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_s)
            self.exchange.sweep()
            await self.pump()

    # -- middleware: auth context and faults ---------------------------------------------

    @web.middleware
    async def _faults(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        faults = self.exchange.faults
        if request.path == "/ws/user":
            return await handler(request)
        if faults.rate_limit_next > 0:
            faults.rate_limit_next -= 1
            headers = {}
            if faults.retry_after_s is not None:
                headers["Retry-After"] = f"{faults.retry_after_s:g}"
            return web.json_response({"error": TOO_MANY_REQUESTS}, status=429, headers=headers)
        if faults.too_early_next > 0:
            faults.too_early_next -= 1
            return web.json_response({"error": TOO_EARLY}, status=425)
        if faults.server_error_next > 0:
            faults.server_error_next -= 1
            return web.json_response(
                {"error": "internal server error"}, status=faults.server_error_status
            )
        try:
            response = await handler(request)
        except ApiError as exc:
            response = web.json_response({"error": exc.message}, status=exc.status)
        await self.pump()
        return response

    async def _auth(self, request: web.Request) -> tuple[Any, str]:
        body = await request.text()
        headers = {k.upper(): v for k, v in request.headers.items()}
        key = self.exchange.authenticate(headers, request.method, request.path, body)
        return key, body

    # -- handlers --------------------------------------------------------------------------

    async def _ok(self, _request: web.Request) -> web.StreamResponse:
        return _json("OK")

    async def _time(self, _request: web.Request) -> web.StreamResponse:
        return _json(int(self.exchange.clock()))

    async def _book(self, request: web.Request) -> web.StreamResponse:
        """``GET /book?token_id=``: the book the double matches against (levels as on the wire)."""
        token = request.query.get("token_id", "")
        market = self.exchange.markets.get(token)
        book = self.exchange.books(token) if market is not None else None
        if market is None or book is None:
            raise ApiError(404, "No orderbook exists for the requested token id")

        def side(levels: list[tuple[int, int]]) -> list[dict[str, str]]:
            return [{"price": format_fixed(p), "size": format_fixed(q)} for p, q in levels]

        return _json(
            {
                "market": market.condition_id,
                "asset_id": token,
                "timestamp": str(book.ts_ms),
                "bids": side(book.wire_bids()),
                "asks": side(book.wire_asks()),
                "min_order_size": format_fixed(market.min_order_size),
                "tick_size": format_fixed(market.tick),
                "neg_risk": market.neg_risk,
            }
        )

    async def _api_key(self, request: web.Request) -> web.StreamResponse:
        headers = {k.upper(): v for k, v in request.headers.items()}
        return _json(self.exchange.api_key(headers))

    async def _post_order(self, request: web.Request) -> web.StreamResponse:
        key, body = await self._auth(request)
        out = self.exchange.post_order(key, body)
        await self._late_answer()
        return _json(out)

    async def _post_orders(self, request: web.Request) -> web.StreamResponse:
        """``POST /orders``: up to 15, each on its own (a refusal is an entry, not a 400)."""
        key, body = await self._auth(request)
        try:
            items = json.loads(body)
        except ValueError as exc:
            raise ApiError(400, "Invalid order payload") from exc
        if not isinstance(items, list) or not items:
            raise ApiError(400, "Invalid order payload")
        if len(items) > MAX_BATCH:
            raise ApiError(
                400, f"Too many orders in payload: {len(items)}, max allowed: {MAX_BATCH}"
            )
        answers: list[dict[str, Any]] = []
        for item in items:
            try:
                answers.append(self.exchange.post_order(key, json.dumps(item)))
            except ApiError as exc:
                answers.append(
                    {
                        "errorMsg": exc.message,
                        "orderID": "",
                        "takingAmount": "",
                        "makingAmount": "",
                        "status": "",
                        "transactionsHashes": [],
                        "success": False,
                    }
                )
        await self._late_answer()
        return _json(answers)

    async def _late_answer(self) -> None:
        faults = self.exchange.faults
        if faults.timeout_next > 0:
            faults.timeout_next -= 1
            await self.pump()  # the orders are booked and their events out; only the answer is late
            await asyncio.sleep(faults.timeout_s)
        elif faults.ack_delay_s > 0:
            await self.pump()
            await asyncio.sleep(faults.ack_delay_s)

    async def _cancel_one(self, request: web.Request) -> web.StreamResponse:
        key, body = await self._auth(request)
        try:
            order_id = str(json.loads(body)["orderID"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(400, "Invalid order payload") from exc
        return _json(self.exchange.cancel(key, [order_id]))

    async def _cancel_many(self, request: web.Request) -> web.StreamResponse:
        key, body = await self._auth(request)
        try:
            ids = [str(i) for i in json.loads(body)]
        except (ValueError, TypeError) as exc:
            raise ApiError(400, "Invalid order payload") from exc
        return _json(self.exchange.cancel(key, ids))

    async def _cancel_all(self, request: web.Request) -> web.StreamResponse:
        key, _ = await self._auth(request)
        return _json(self.exchange.cancel_all(key))

    async def _get_order(self, request: web.Request) -> web.StreamResponse:
        key, _ = await self._auth(request)
        record = self.exchange.get_order(key, request.match_info["order_id"])
        if record is None:
            raise ApiError(404, "order not found")
        return _json(record)

    async def _open_orders(self, request: web.Request) -> web.StreamResponse:
        key, _ = await self._auth(request)
        q = request.query
        data = self.exchange.open_orders(key, q.get("market"), q.get("asset_id"))
        return _json(_page(data))

    async def _trades(self, request: web.Request) -> web.StreamResponse:
        key, _ = await self._auth(request)
        q = request.query
        data = self.exchange.trades(key, q.get("market"), q.get("asset_id"))
        return _json(_page(data))

    async def _balance(self, request: web.Request) -> web.StreamResponse:
        key, _ = await self._auth(request)
        q = request.query
        asset_type = q.get("asset_type", "COLLATERAL")
        return _json(self.exchange.balance_allowance(key, asset_type, q.get("token_id")))

    async def _heartbeat(self, request: web.Request) -> web.StreamResponse:
        key, _ = await self._auth(request)
        return _json(self.exchange.heartbeat(key))

    # -- user channel ----------------------------------------------------------------------

    async def _user_channel(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        sub: _Subscriber | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                if msg.data == "PING":
                    await ws.send_str("PONG")
                    continue
                if sub is not None:
                    continue
                try:
                    frame = json.loads(msg.data)
                    api_key = self.exchange.key_for_channel(frame.get("auth") or {})
                except (ValueError, AttributeError):
                    api_key = None
                if api_key is None:
                    await ws.close(code=1008, message=b"unauthorized")
                    break
                sub = _Subscriber(ws, api_key, frozenset(frame.get("markets") or ()))
                self._subs.append(sub)
        finally:
            if sub is not None and sub in self._subs:
                self._subs.remove(sub)
        return ws

    async def pump(self) -> None:
        """Send queued exchange events to the user-channel subscribers they concern."""
        events, self.exchange.events = self.exchange.events, []
        limit = self.exchange.faults.drop_user_after
        for api_key, market, event in events:
            text = json.dumps(event, separators=(",", ":"))
            for sub in list(self._subs):
                if sub.api_key != api_key or (sub.markets and market not in sub.markets):
                    continue
                try:
                    await sub.ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    continue
                sub.sent += 1
                if limit and sub.sent >= limit:
                    self._subs.remove(sub)
                    await sub.ws.close(code=1011, message=b"fault: dropped")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(
        data, status=status, dumps=lambda d: json.dumps(d, separators=(",", ":"))
    )


def _page(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": data, "next_cursor": "LTE=", "limit": len(data), "count": len(data)}


class ClobServerThread(LoopThread):
    """``with ClobServerThread(exchange) as s: PolymarketClient(s.url, key)``; for tests and tools."""

    thread_name = "clob-double"

    def __init__(self, exchange: ClobExchange, **options: Any) -> None:
        super().__init__()
        self.exchange = exchange
        self._options = options
        self.server: ClobServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def ws_url(self) -> str:
        assert self.server is not None
        return self.server.ws_url

    def call(self, fn: Callable[[ClobExchange], Any]) -> Any:
        """Run ``fn(exchange)`` on the server's loop (state changes from another thread)."""
        assert self._loop is not None

        async def run() -> Any:
            return fn(self.exchange)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    async def _serve(self) -> None:
        self.server = ClobServer(self.exchange, **self._options)
        await self.server.start()
        self._ready.set()
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            await self.server.stop()
