"""Per-token L2 order books (docs/engine.md §Books)."""

from polyarb.book.book import OrderBook

__all__ = ["OrderBook"]
