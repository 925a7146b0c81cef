"""A small JSON-over-HTTP GET client (urllib), with timeouts, retries and clear errors."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from polyarb._version import __version__
from polyarb.errors import PolyarbError


class HttpError(RuntimeError, PolyarbError):
    """A request that failed for good: names the URL and what went wrong."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class JsonHttp:
    """GET ``base_url + path`` with query parameters and decode JSON.

    Retries 429 and 5xx (Cloudflare rate limits, docs/protocol.md §Markets and metadata) a
    few times with a growing pause; 404 returns ``None`` so callers can try
    another source.
    """

    def __init__(
        self, base_url: str, *, timeout_s: float = 15.0, retries: int = 3, pause_s: float = 1.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self.pause_s = pause_s

    def url(self, path: str, params: dict[str, str] | None = None) -> str:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{self.base_url}/{path.lstrip('/')}{query}"

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        url = self.url(path, params)
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": f"polyarb/{__version__}"}
        )
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    body = response.read()
                break
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return None
                if (exc.code == 429 or exc.code >= 500) and attempt < self.retries:
                    time.sleep(self.pause_s * (attempt + 1))
                    continue
                raise HttpError(f"GET {url}: HTTP {exc.code} {exc.reason}", exc.code) from None
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                if attempt < self.retries:
                    time.sleep(self.pause_s * (attempt + 1))
                    continue
                reason = getattr(exc, "reason", exc)
                raise HttpError(f"GET {url}: {reason}") from None
        try:
            return json.loads(body)
        except ValueError as exc:
            raise HttpError(f"GET {url}: response is not JSON ({exc})") from None
