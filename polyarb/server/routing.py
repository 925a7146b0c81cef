"""Which subscribers a recorded frame goes to.

Frames are handled as bytes exactly as recorded; only the fields that decide
routing are decoded (msgspec skips the rest). An array frame that mixes
subscribed and unsubscribed assets is cut down to the subscribed elements,
keeping each element's bytes.
"""

from __future__ import annotations

from collections.abc import Collection

import msgspec

from polyarb.events import CONTROL_BYTES

CUSTOM_TYPES = frozenset({"best_bid_ask", "new_market", "market_resolved"})
"""Sent only to subscriptions with ``custom_feature_enabled`` (docs/protocol.md §Subscribing)."""

_BOOK_MARK = b'"event_type":"book"'
_ASSET_KEY = b'"asset_id":"'


class _Change(msgspec.Struct):
    asset_id: str = ""


class _Head(msgspec.Struct):
    event_type: str = ""
    asset_id: str = ""
    assets_ids: list[str] = []
    price_changes: list[_Change] = []


_decode_head = msgspec.json.Decoder(_Head).decode
_decode_raw_list = msgspec.json.Decoder(list[msgspec.Raw]).decode


class Element:
    """The routing facts of one JSON event: its type and the assets it concerns."""

    __slots__ = ("assets", "event_type", "raw")

    def __init__(self, event_type: str, assets: tuple[str, ...], raw: bytes) -> None:
        self.event_type = event_type
        self.assets = assets
        self.raw = raw

    def wanted(self, subs: Collection[str], custom: bool) -> bool:
        """Whether a subscription to ``subs`` (with or without custom features) receives it."""
        if self.event_type in CUSTOM_TYPES:
            if not custom:
                return False
            if self.event_type == "new_market":
                return True  # a new market is news to everyone who asked for custom features
        if not self.assets:
            return True  # an event we cannot attribute (unknown type): do not hide it
        return any(a in subs for a in self.assets)


def _element(raw: bytes) -> Element:
    try:
        head = _decode_head(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return Element("", (), raw)
    if head.asset_id:
        assets: tuple[str, ...] = (head.asset_id,)
    elif head.price_changes:
        assets = tuple(dict.fromkeys(c.asset_id for c in head.price_changes if c.asset_id))
    else:
        assets = tuple(head.assets_ids)
    return Element(head.event_type, assets, raw)


class Route:
    """A frame split into elements (one for an object, several for an array)."""

    __slots__ = ("array", "data", "elements")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.array = data[:1] == b"["
        self.elements: list[Element] | None = None
        if self.array:
            try:
                self.elements = [_element(bytes(r)) for r in _decode_raw_list(data)]
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.array = False  # not a JSON array after all: pass it on as-is
        if not self.array and data[:1] == b"{":
            self.elements = [_element(data)]

    def for_subscription(self, subs: Collection[str], custom: bool) -> bytes | None:
        """The bytes this subscription receives, or None to skip the frame."""
        if self.elements is None:
            return self.data  # not JSON: recorded as received, sent as recorded
        kept = [e for e in self.elements if e.wanted(subs, custom)]
        if not kept:
            return None
        if len(kept) == len(self.elements):
            return self.data
        return b"[" + b",".join(e.raw for e in kept) + b"]"

    def books(self) -> list[tuple[str, bytes]]:
        """``(asset_id, book bytes)`` of the ``book`` elements in this frame."""
        if self.elements is None:
            return []
        return [(e.assets[0], e.raw) for e in self.elements if e.event_type == "book" and e.assets]


def book_asset(data: bytes) -> str | None:
    """The asset of a single-object ``book`` frame, found without decoding it (hot path)."""
    if data[:1] != b"{" or _BOOK_MARK not in data:
        return None
    start = data.find(_ASSET_KEY)
    if start < 0:
        return None
    start += len(_ASSET_KEY)
    end = data.find(b'"', start)
    return data[start:end].decode(errors="replace") if end > start else None


def is_control(data: bytes) -> bool:
    """A recorded control text (PONG, INVALID OPERATION…): an answer to that client, not data."""
    return len(data) < 24 and data in CONTROL_BYTES
