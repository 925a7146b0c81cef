"""Exact account books (cash, positions, PnL, fees, gas)."""

from polyarb.ledger.ledger import Ledger, LedgerError

__all__ = ["Ledger", "LedgerError"]
