"""Execution: taker fees, the simulated venue, orders/fills and multi-leg baskets."""

from polyarb.execution.basket import BasketExecution, BasketOutcome, Leg, Residual
from polyarb.execution.fees import taker_fee
from polyarb.execution.latency import Latency
from polyarb.execution.orders import Fill, Order, OrderResult
from polyarb.execution.venue import BookView, SimVenue, round_limit

__all__ = [
    "BasketExecution",
    "BasketOutcome",
    "BookView",
    "Fill",
    "Latency",
    "Leg",
    "Order",
    "OrderResult",
    "Residual",
    "SimVenue",
    "round_limit",
    "taker_fee",
]
