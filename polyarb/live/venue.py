"""The live venue: :class:`UserRowVenue` plus a sender that talks to the exchange.

``submit`` runs on the engine's thread and only queues the order; a worker
thread signs and posts it through :class:`PolymarketClient` (retries,
reconciliation after a timeout or 5xx: docs/live.md §Never twice) and hands
the answer back as a ``user`` row (``order_row``) through ``push``, which
records it before the engine reads it. So the engine's view of every order
comes from the recording, and a replay with :class:`UserRowVenue` decides
the same (``polyarb parity``).

Once :meth:`LiveSender.halt` is called (kill switch) no order leaves: each
one still queued or submitted later is answered with a ``halted`` refusal
row, so the engine sees a rejection and the replay sees the same.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping

from polyarb.execution.orders import Order
from polyarb.execution.user_venue import UserRowVenue, order_row, sendable
from polyarb.protocol.markets import MarketMeta
from polyarb.units import parse_fixed
from polyarb.venues.polymarket import MarketParams, PolymarketClient
from polyarb.venues.polymarket.errors import ClobError

HALTED = "halted: kill switch (no new orders)"


def filled_shares(
    side: str, ack_status: str, making: str, taking: str, raw: dict[str, object]
) -> int:
    """Shares an order matched, from the POST answer or (reconciled) the order record."""
    if raw and "size_matched" in raw:
        return parse_fixed(str(raw.get("size_matched") or "0"))
    text = taking if side == "BUY" else making
    return parse_fixed(text) if text else 0


class LiveSender:
    """One worker thread posting orders in submission order; answers go to ``push``."""

    def __init__(self, client: PolymarketClient, push: Callable[[str], None]) -> None:
        self.client = client
        self._push = push
        self._q: queue.Queue[tuple[Order, MarketMeta | None] | None] = queue.Queue()
        self._halted = threading.Event()
        self.sent = 0
        self.errors: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name="polyarb-sender", daemon=True)
        self._thread.start()

    def send(self, order: Order, meta: MarketMeta | None) -> None:
        self._q.put((order, meta))

    def halt(self) -> None:
        """No order leaves after this returns (queued ones are answered ``halted``)."""
        self._halted.set()

    @property
    def halted(self) -> bool:
        return self._halted.is_set()

    def idle(self) -> bool:
        return self._q.unfinished_tasks == 0

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            item = self._q.get()
            try:
                if item is None:
                    return
                order, meta = item
                self._push(self._answer(order, meta))
            finally:
                self._q.task_done()

    def _answer(self, order: Order, meta: MarketMeta | None) -> str:
        cid = order.order_id
        if self._halted.is_set():
            return order_row(cid, error=HALTED)
        if meta is None:
            return order_row(cid, error="unknown market")
        limit, size = sendable(order, meta)
        if size <= 0:
            return order_row(cid, error="size not positive")
        try:
            ack = self.client.place(
                MarketParams(order.asset_id, meta.tick_size, meta.neg_risk),
                side=order.side,
                price=limit,
                size=size,
                order_type=order.order_type,
                client_order_id=cid,
            )
        except ClobError as exc:
            name = type(exc).__name__
            self.errors[name] = self.errors.get(name, 0) + 1
            return order_row(cid, error=f"{exc.status} {exc.message}"[:300])
        except ValueError as exc:  # refused by the client's own checks: nothing was sent
            return order_row(cid, error=f"invalid order: {exc}"[:300])
        self.sent += 1
        filled = filled_shares(
            order.side, ack.status, ack.making_amount, ack.taking_amount, ack.raw
        )
        return order_row(
            cid,
            order_id=ack.order_id,
            status=ack.status,
            filled=filled,
            error=ack.error,
            reconciled=ack.reconciled,
        )


class LiveVenue(UserRowVenue):
    """The exchange-driven venue of a live run: orders go to ``sender``, answers come as rows."""

    def __init__(self, markets: Mapping[str, MarketMeta], sender: LiveSender) -> None:
        super().__init__(markets)
        self.sender = sender

    def submit(self, order: Order, now_ns: int) -> int:
        arrive = super().submit(order, now_ns)
        self.sender.send(order, self._markets.get(order.market))
        return arrive
