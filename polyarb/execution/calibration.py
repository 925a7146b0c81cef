"""What the simulated venue would have done with each live order: the calibration record.

A run whose fills are real (``polyarb live``, or its replay for parity) keeps,
for every order it sends, a prediction made at the decision: one latency draw
from the profile's own model (a generator of its own, seeded like the
simulated venue's) and :meth:`SimVenue.match` of the order against the book
the engine held at that moment, in a throwaway venue so nothing the engine
trades on changes. When the order is final the prediction and the outcome
become one ``calibration`` row (:data:`polyarb.runs.schema.CALIBRATION`).
Everything comes from recorded rows and the profile, so the replay of a live
session writes the same rows byte for byte (docs/calibration.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyarb.config.profile import LatencyModel
from polyarb.execution.latency import Latency, model_sample, sorted_quantile
from polyarb.execution.orders import Fill, Order, OrderResult
from polyarb.execution.venue import BookView, SimVenue
from polyarb.protocol.markets import MarketMeta

_NO_LATENCY = Latency("constant", 0)


def avg_price(fills: Sequence[Fill]) -> int | None:
    """Size-weighted average fill price in micro units (half up), None when nothing filled."""
    size = sum(f.size for f in fills)
    if not size:
        return None
    notional = sum(f.price * f.size for f in fills)
    return (2 * notional + size) // (2 * size)


class _Prediction:
    __slots__ = ("latency_ns", "result", "tick")

    def __init__(self, result: OrderResult, latency_ns: int, tick: int) -> None:
        self.result = result
        self.latency_ns = latency_ns
        self.tick = tick


class CalibrationShadow:
    """Predicts each order at its decision and pairs the prediction with the real outcome."""

    def __init__(self, model: LatencyModel) -> None:
        self._latency = Latency.from_profile(model)
        self._open: dict[str, _Prediction] = {}
        # The model's own quantiles ride on every row: a few orders' draws are too noisy
        # to stand for the distribution phase 3 compares live latencies with.
        sample = model_sample(model)
        self._p50 = sorted_quantile(sample, 1, 2)
        self._p90 = sorted_quantile(sample, 9, 10)

    def predict(self, order: Order, now_ns: int, book: BookView, meta: MarketMeta | None) -> None:
        """Remember what :class:`SimVenue` would do with ``order`` decided at ``now_ns``."""
        latency = self._latency.draw_ns()
        venue = SimVenue(_NO_LATENCY, {meta.condition_id: meta} if meta is not None else {})
        result = venue.match(order, now_ns, now_ns + latency, book, order.seq)
        tick = meta.tick_size if meta is not None else 0
        self._open[order.order_id] = _Prediction(result, latency, tick)

    def outcome(self, result: OrderResult) -> dict[str, Any] | None:
        """The ``calibration`` row of a finished order (None if it was never predicted).

        The real latency is measured from the recording: decision to the receive time
        of the exchange's answer row (``result.answered_ns``).
        """
        pred = self._open.pop(result.order.order_id, None)
        if pred is None:
            return None
        o, p = result.order, pred.result
        return {
            "order_id": o.order_id,
            "decision_id": o.decision_id,
            "seq": o.seq,
            "submit_ns": p.submit_ns,
            "market": o.market,
            "asset_id": o.asset_id,
            "side": o.side,
            "order_type": o.order_type,
            "tick": pred.tick,
            "limit_price": result.limit_price,
            "size": result.size,
            "pred_status": p.status,
            "pred_filled_size": p.filled_size,
            "pred_cash": p.cash,
            "pred_avg_price": avg_price(p.fills),
            "pred_fees": p.fees,
            "pred_latency_ns": pred.latency_ns,
            "model_latency_p50_ns": self._p50,
            "model_latency_p90_ns": self._p90,
            "real_status": result.status,
            "real_filled_size": result.filled_size,
            "real_cash": result.cash,
            "real_avg_price": avg_price(result.fills),
            "real_fees": result.fees,
            "real_latency_ns": None
            if result.answered_ns is None
            else result.answered_ns - p.submit_ns,
            "final_seq": result.seq,
            "final_ns": result.arrive_ns,
        }
