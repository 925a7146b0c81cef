"""A venue whose orders are settled only by the session's ``user`` rows.

Live trading sends orders to the exchange; what came of them is known only
from what the exchange said, and every word of that is recorded as a
``user`` row before the engine sees it (docs/live.md §What is recorded):

* ``order`` rows: the answer to sending one order, written by the live
  sender as ``{"rest": "order", "client_order_id", "order_id", "status",
  "filled", "error"}`` (``filled`` in micro shares; ``error`` set when
  refused or never sent).
* user-channel frames exactly as received (``trade`` events, MATCHED →
  MINED → CONFIRMED or RETRYING → FAILED; ``order`` events).
* ``{"rest": "trades", "answer": [...]}``: a REST ``/data/trades`` answer
  (reconciliation after a dropped user channel), each element read like a
  user-channel trade.

This class holds no clock and no connection, so the replay of a live session
with this venue makes the same decisions the live run made (``polyarb
parity``); the live venue is this class plus a sender (``polyarb.live``).
An order finishes when its answer is known and trades covering its filled
shares have MATCHED; a trade seen twice (channel and REST) books once; a
trade FAILED after booking comes back as a reversed fill.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import msgspec

from polyarb.execution.fees import taker_fee
from polyarb.execution.orders import (
    FILLED,
    KILLED,
    PARTIAL,
    REJECTED,
    Carry,
    Fill,
    Order,
    OrderResult,
    Status,
    UserUpdate,
)
from polyarb.execution.venue import SIZE_QUANTUM, BookView, round_limit
from polyarb.protocol.markets import MarketMeta
from polyarb.protocol.user import UserTrade, parse_user_frame

_KILL_WORDS = ("FOK orders are fully filled or killed", "no orders found to match")


def order_row(
    client_order_id: str,
    *,
    order_id: str = "",
    status: str = "",
    filled: int = 0,
    error: str = "",
    reconciled: bool = False,
) -> str:
    """The ``user`` row a sender records for one order's answer (compact, key-sorted JSON)."""
    return json.dumps(
        {
            "rest": "order",
            "client_order_id": client_order_id,
            "order_id": order_id,
            "status": status,
            "filled": filled,
            "error": error,
            "reconciled": reconciled,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def sendable(order: Order, meta: MarketMeta | None) -> tuple[int, int]:
    """(limit on the market's tick, size on the 2-decimal grid) as the sender signs them."""
    tick = meta.tick_size if meta is not None else 10_000
    return round_limit(
        order.limit_price, tick, order.side
    ), order.size // SIZE_QUANTUM * SIZE_QUANTUM


class _Open:
    __slots__ = ("answered_ns", "error", "exchange_id", "filled", "order", "submit_ns", "trades")

    def __init__(self, order: Order, submit_ns: int) -> None:
        self.order = order
        self.submit_ns = submit_ns
        self.exchange_id = ""
        self.answered_ns: int | None = None
        """Receive time of the answer row (None: not answered yet)."""
        self.filled = 0
        self.error = ""
        self.trades: dict[str, UserTrade] = {}


class UserRowVenue:
    """Orders settled by recorded exchange answers and user-channel trades (replay of live)."""

    simulated = False

    def __init__(self, markets: Mapping[str, MarketMeta]) -> None:
        self._markets: dict[str, MarketMeta] = dict(markets)
        self._open: dict[str, _Open] = {}
        """client order id → order waiting for its answer or its trades."""
        self._by_exchange: dict[str, str] = {}
        """exchange order id → client order id."""
        self._early: dict[str, dict[str, UserTrade]] = {}
        """Trades of an exchange order id whose answer has not been seen yet."""
        self._booked: dict[str, Fill] = {}
        """trade id → the fill booked for it (to reverse it on FAILED)."""
        self._final: set[str] = set()
        """trade ids that reached CONFIRMED or FAILED."""
        self.trade_statuses: dict[str, int] = {}
        self.cash_delta = 0
        """pUSD our booked fills moved (the exchange's account moves the same; settlement
        and merges are on-chain and not in it)."""
        self.shares: dict[str, int] = {}
        """token id → shares our booked fills moved."""
        """client order id → receive time of its answer row (the calibration record's latency)."""

    def _account(self, fill: Fill, sign: int) -> None:
        cash = fill.cash + fill.fee if fill.side == "BUY" else -(fill.cash - fill.fee)
        shares = fill.size if fill.side == "BUY" else -fill.size
        self.cash_delta -= sign * cash
        held = self.shares.get(fill.asset_id, 0) + sign * shares
        if held:
            self.shares[fill.asset_id] = held
        else:
            self.shares.pop(fill.asset_id, None)

    # --- Venue --------------------------------------------------------------------

    def submit(self, order: Order, now_ns: int) -> int:
        """Remember ``order``; its outcome comes from user rows (arrival is unknown: now)."""
        self._open[order.order_id] = _Open(order, now_ns)
        return now_ns

    def next_arrival_ns(self) -> int | None:
        return None

    def pending(self) -> int:
        return len(self._open)

    def unsettled(self) -> int:
        """Booked trades not yet CONFIRMED: the exchange may still FAIL them."""
        return sum(1 for tid in self._booked if f"{tid}:CONFIRMED" not in self._final)

    def on_time(self, now_ns: int, book: BookView, seq: int) -> list[OrderResult]:
        return []

    def on_level(self, asset_id: str, side: str, price: int, size: int) -> None:
        return None

    def on_snapshot(self, asset_id: str, bids: Mapping[int, int], asks: Mapping[int, int]) -> None:
        return None

    def update_market(self, meta: MarketMeta) -> None:
        self._markets[meta.condition_id] = meta

    def open_orders(self) -> list[str]:
        """Client order ids still waiting (the live runner's orphan check)."""
        return list(self._open)

    def on_user(self, seq: int, now_ns: int, payload: str) -> UserUpdate:
        """Apply one recorded user row; returns finished orders and reversed fills."""
        update = UserUpdate()
        rest = _rest(payload)
        if rest is not None:
            kind = rest.get("rest")
            if kind == "order":
                self._on_answer(rest, now_ns, update)
                self._finish(str(rest.get("client_order_id", "")), seq, now_ns, update)
            elif kind == "startup":
                carry = rest.get("carry")
                for item in carry if isinstance(carry, list) else []:
                    update.carried.append(msgspec.convert(item, Carry))
                update.notes.append(f"user row: startup, {len(update.carried)} position(s) carried")
            elif kind == "trades":
                answer = rest.get("answer")
                for item in answer if isinstance(answer, list) else []:
                    self._on_text(json.dumps(item), seq, now_ns, update)
            else:
                update.notes.append(f"user row: rest {kind}")
            return update
        self._on_text(payload, seq, now_ns, update)
        return update

    # --- interpretation -------------------------------------------------------------

    def _on_text(self, text: str, seq: int, now_ns: int, update: UserUpdate) -> None:
        for event in parse_user_frame(text):
            if isinstance(event, UserTrade):
                self._on_trade(event, seq, now_ns, update)

    def _on_answer(self, rest: dict[str, object], now_ns: int, update: UserUpdate) -> None:
        cid = str(rest.get("client_order_id", ""))
        entry = self._open.get(cid)
        if entry is None:
            update.notes.append(f"user row: answer for unknown order {cid}")
            return
        entry.answered_ns = now_ns
        entry.error = str(rest.get("error") or "")
        filled = rest.get("filled")
        entry.filled = filled if isinstance(filled, int) else 0
        oid = str(rest.get("order_id") or "")
        if oid:
            entry.exchange_id = oid
            self._by_exchange[oid] = cid
            for trade in self._early.pop(oid, {}).values():
                entry.trades[trade.id] = trade

    def _on_trade(self, trade: UserTrade, seq: int, now_ns: int, update: UserUpdate) -> None:
        key = f"{trade.id}:{trade.status}"
        if key in self._final:
            return
        self._final.add(key)
        self.trade_statuses[trade.status] = self.trade_statuses.get(trade.status, 0) + 1
        if trade.status == "FAILED":
            fill = self._booked.pop(trade.id, None)
            if fill is not None:
                self._account(fill, -1)
                update.reversed.append(fill)
                update.notes.append(f"trade {trade.id} FAILED: fill {fill.fill_id} reversed")
                return
        cid = self._by_exchange.get(trade.taker_order_id)
        if cid is None:
            self._early.setdefault(trade.taker_order_id, {}).setdefault(trade.id, trade)
            return
        entry = self._open.get(cid)
        if entry is None or trade.id in self._booked:
            return  # a later status of a booked trade
        if trade.id in entry.trades and trade.status != "FAILED":
            return  # seen twice (channel and REST), or MINED before the answer came
        entry.trades[trade.id] = trade
        self._finish(cid, seq, now_ns, update)

    def _finish(self, cid: str, seq: int, now_ns: int, update: UserUpdate) -> None:
        entry = self._open.get(cid)
        if entry is None or entry.answered_ns is None:
            return
        order = entry.order
        limit, size = sendable(order, self._markets.get(order.market))
        if entry.error:
            status: Status = KILLED if any(w in entry.error for w in _KILL_WORDS) else REJECTED
            reason = "insufficient_liquidity" if status == KILLED else _reason(entry.error)
            del self._open[cid]
            update.results.append(_result(entry, status, reason, now_ns, seq, limit, size))
            return
        got = sum(t.size for t in entry.trades.values())
        if got < entry.filled:
            return  # the answer says more matched than the trades seen so far: wait for them
        del self._open[cid]
        meta = self._markets.get(order.market)
        fills = []
        for trade in entry.trades.values():
            fee = charged_fee(trade, meta)
            fill = Fill(
                trade.id,
                order.order_id,
                order.market,
                order.asset_id,
                order.side,
                trade.price,
                trade.size,
                fee,
                now_ns,
                seq,
            )
            if trade.status == "FAILED":
                continue
            self._booked[trade.id] = fill
            self._account(fill, +1)
            fills.append(fill)
        filled = sum(f.size for f in fills)
        if not fills:
            status, reason = KILLED, "insufficient_liquidity"
        elif filled >= size:
            status, reason = FILLED, "ok"
        else:
            status, reason = PARTIAL, "partial_liquidity"
        update.results.append(
            _result(entry, status, reason, now_ns, seq, limit, size, tuple(fills))
        )


def _result(
    entry: _Open,
    status: Status,
    reason: str,
    now_ns: int,
    seq: int,
    limit: int,
    size: int,
    fills: tuple[Fill, ...] = (),
) -> OrderResult:
    """A finished order's result, stamped with when its answer row came."""
    return OrderResult(
        entry.order,
        status,
        reason,
        entry.submit_ns,
        now_ns,
        seq,
        limit,
        size,
        fills,
        answered_ns=entry.answered_ns,
    )


def charged_fee(trade: UserTrade, meta: MarketMeta | None) -> int:
    """The taker fee the exchange charged for ``trade`` (micro pUSD).

    The trade message's ``fee_rate_bps`` is the rate charged at the match; when it
    is 0 (the legacy field V2 messages may leave unset) the market's fee schedule
    applies, as the exchange's operator sets it (docs/protocol.md §Fees).
    """
    exponent = meta.fee_exponent if meta is not None else 1
    if trade.fee_rate_bps > 0:
        return taker_fee(trade.size, trade.price, trade.fee_rate_bps * 100, exponent)
    return taker_fee(trade.size, trade.price, meta.fee_rate, exponent) if meta else 0


def _rest(payload: str) -> dict[str, object] | None:
    """The recorded REST answer a row holds, or None for a user-channel frame."""
    if not payload.startswith('{"'):
        return None
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) and "rest" in obj else None


def _reason(error: str) -> str:
    """A short reason code for an exchange refusal (the full text goes to the log)."""
    low = error.lower()
    for needle, code in (
        ("balance", "insufficient_balance"),
        ("tick size", "price_off_tick"),
        ("min size", "below_min_notional"),
        ("lower than the minimum", "below_min_size"),
        ("duplicated", "duplicate"),
        ("signature", "bad_signature"),
        ("unavailable", "venue_unavailable"),
    ):
        if needle in low:
            return code
    return "exchange_rejected"
