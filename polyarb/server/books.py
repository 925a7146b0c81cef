"""The book a client subscribing now is sent: the latest recorded ``book`` with later changes.

The exchange answers a subscribe with the current book of each asset. A session
records a ``book`` only now and then (on subscribe, after trades); the level
changes in between arrive as ``price_change``. So the replay server keeps, per
asset, the last recorded book's text and, once a change arrives, folds every
later change into its levels (parsed by the project's one parser). The dump is
then that book's own text (same keys, same order) with the folded levels, the
latest change's timestamp and the hash the exchange sent with that change
(docs/protocol.md §Book hash: a ``price_change`` entry's hash is that of the book
after it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from polyarb.events import BookSnapshot, LevelChange
from polyarb.protocol.parser import parse_frame
from polyarb.recording.codec import assemble_book, parse_book
from polyarb.units import format_fixed

_TIMESTAMP = re.compile(r'"timestamp":"[^"]*"')
_HASH = re.compile(r'"hash":"[^"]*"')


@dataclass
class _Folded:
    skeleton: str
    bids: dict[int, int]
    asks: dict[int, int]
    ts_ms: int
    hash: str

    def text(self) -> str:
        text = _TIMESTAMP.sub(f'"timestamp":"{self.ts_ms}"', self.skeleton, count=1)
        text = _HASH.sub(f'"hash":"{self.hash}"', text, count=1)
        return assemble_book(text, _as_text(self.bids), _as_text(self.asks))


def _as_text(levels: dict[int, int]) -> dict[str, str]:
    return {format_fixed(p): format_fixed(s) for p, s in levels.items()}


class DumpBooks:
    """``books[asset]``: the bytes of the book a subscriber to ``asset`` is sent now."""

    def __init__(self) -> None:
        self._raw: dict[str, bytes] = {}
        self._folded: dict[str, _Folded] = {}

    def __contains__(self, asset: object) -> bool:
        return asset in self._raw

    def __getitem__(self, asset: str) -> bytes:
        folded = self._folded.get(asset)
        return self._raw[asset] if folded is None else folded.text().encode()

    def __setitem__(self, asset: str, data: bytes) -> None:
        """A recorded ``book`` of ``asset``: it replaces whatever was folded before."""
        self._raw[asset] = data
        self._folded.pop(asset, None)

    def fold(self, data: bytes) -> None:
        """Apply the level changes of a recorded frame to the books they concern."""
        for event in parse_frame(data.decode("utf-8", "replace")):
            if isinstance(event, LevelChange):
                self._apply(event)

    def _apply(self, change: LevelChange) -> None:
        folded = self._folded.get(change.asset_id) or self._start(change.asset_id)
        if folded is None:
            return  # no recorded book of this asset yet: nothing a subscriber could be sent
        side = folded.bids if change.side == "BUY" else folded.asks
        if change.size:
            side[change.price] = change.size
        else:
            side.pop(change.price, None)
        folded.ts_ms = change.ts_ms
        if change.hash:
            folded.hash = change.hash

    def _start(self, asset: str) -> _Folded | None:
        raw = self._raw.get(asset)
        if raw is None:
            return None
        text = raw.decode("utf-8", "replace")
        book = parse_book(text)
        snap = next((e for e in parse_frame(text) if isinstance(e, BookSnapshot)), None)
        if book is None or snap is None:
            return None  # a book we cannot take apart is sent as recorded
        folded = _Folded(book.skeleton, dict(snap.bids), dict(snap.asks), snap.ts_ms, snap.hash)
        self._folded[asset] = folded
        return folded

    def dump(self, assets: list[str]) -> bytes | None:
        """The initial-dump frame: one JSON array of the known books of ``assets``, in order."""
        parts = [self[a] for a in dict.fromkeys(assets) if a in self]
        return b"[" + b",".join(parts) + b"]" if parts else None
