"""Per-token L2 order books (design §4)."""

from polyarb.book.book import OrderBook

__all__ = ["OrderBook"]
