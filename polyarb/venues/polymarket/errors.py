"""What the CLOB client raises: the exchange refused, or never completed, a request."""

from __future__ import annotations

from polyarb.errors import PolyarbError


class ClobError(PolyarbError):
    """A request the exchange did not complete; ``status`` 0 means no HTTP answer."""

    def __init__(self, status: int, message: str, path: str) -> None:
        super().__init__(f"{path}: HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.path = path


class ClobRejected(ClobError):
    """The exchange refused the request (4xx other than 429); ``message`` is its error text."""


class ClobUnavailable(ClobError):
    """Retries exhausted on timeouts, 5xx or 429."""
