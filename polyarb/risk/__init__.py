"""Pre-trade limits and the circuit breaker."""

from polyarb.risk.breaker import CircuitBreaker
from polyarb.risk.limits import REASONS, PositionView, RiskManager, RiskVerdict

__all__ = ["REASONS", "CircuitBreaker", "PositionView", "RiskManager", "RiskVerdict"]
