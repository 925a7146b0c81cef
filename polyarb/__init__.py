"""polyarb: record, replay, shadow and promote Polymarket arbitrage with one engine."""

__version__ = "0.1.0"

__all__ = ["__version__"]
