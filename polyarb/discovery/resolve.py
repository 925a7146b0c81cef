"""Targets → market metadata and the asset ids to subscribe (docs/protocol.md §Markets and metadata).

A target is a token id (decimal digits), a condition id (``0x`` + 64 hex), a
Gamma market id (short digits), a market slug, or ``event:<slug or id>``.
Every market found is recorded whole: all of its tokens are subscribed.
Gamma hides closed markets unless asked (``closed=true``), so a lookup that
finds nothing is retried with it and the result noted as closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from polyarb.discovery.http import JsonHttp
from polyarb.errors import PolyarbError
from polyarb.protocol.markets import (
    MarketMeta,
    MetadataError,
    from_clob_market,
    from_gamma_event,
    from_gamma_market,
)

GAMMA_URL = "https://gamma-api.polymarket.com"
CLOB_URL = "https://clob.polymarket.com"
BATCH = 40
"""Ids per Gamma query: 77-digit token ids × 40 keeps URLs under the ~8 KB limit (HTTP 414)."""

_CONDITION = re.compile(r"0x[0-9a-fA-F]{64}")
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class ResolveError(ValueError, PolyarbError):
    """A target that cannot be parsed or found (names it)."""


@dataclass(frozen=True)
class Target:
    kind: str  # token | condition | market_id | slug | event
    value: str


def parse_target(text: str) -> Target:
    """Classify one command-line target."""
    value = text.strip()
    if value.startswith("event:"):
        rest = value[6:].strip()
        if not rest:
            raise ResolveError("event: needs a slug or id, e.g. event:democratic-nominee-2028")
        return Target("event", rest)
    if _CONDITION.fullmatch(value):
        return Target("condition", value.lower())
    if value.isdigit():
        return Target("token" if len(value) >= 30 else "market_id", value)
    if _SLUG.fullmatch(value):
        return Target("slug", value)
    raise ResolveError(
        f"cannot tell what {text!r} is: expected a token id (digits), a condition id "
        "(0x + 64 hex), a market slug, or event:<slug or id>"
    )


@dataclass
class Resolution:
    """What to record: markets in target order and their tokens."""

    markets: list[MarketMeta] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def assets(self) -> list[str]:
        return list(dict.fromkeys(t for m in self.markets for t in m.token_ids))

    def add(self, metas: Iterable[MarketMeta]) -> None:
        known = {m.condition_id for m in self.markets}
        for meta in metas:
            if meta.condition_id not in known:
                known.add(meta.condition_id)
                self.markets.append(meta)


def _as_list(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    if isinstance(data, dict):
        inner = data.get("data")
        return _as_list(inner) if isinstance(inner, list) else [data]
    return []


def _markets(
    records: list[dict[str, Any]], parse: Callable[[dict[str, Any]], MarketMeta]
) -> list[MarketMeta]:
    out = []
    for record in records:
        try:
            out.append(parse(record))
        except MetadataError as exc:
            ident = record.get("slug") or record.get("conditionId") or record.get("condition_id")
            raise ResolveError(f"market {ident}: {exc}") from None
    return out


class _Resolver:
    def __init__(self, gamma: JsonHttp, clob: JsonHttp, resolution: Resolution) -> None:
        self.gamma = gamma
        self.clob = clob
        self.out = resolution

    def gamma_list(self, path: str, params: dict[str, str], what: str) -> list[dict[str, Any]]:
        found = _as_list(self.gamma.get(path, params))
        if not found:
            found = _as_list(self.gamma.get(path, {**params, "closed": "true"}))
            if found:
                self.out.notes.append(f"{what} is closed (found with closed=true)")
        return found

    def markets_by(self, param: str, values: list[str], kind: str) -> None:
        for start in range(0, len(values), BATCH):
            chunk = values[start : start + BATCH]
            metas = _markets(
                self.gamma_list("markets", {param: ",".join(chunk)}, f"{kind} batch"),
                from_gamma_market,
            )
            found = {m.condition_id for m in metas} | {t for m in metas for t in m.token_ids}
            self.out.add(metas)
            for value in chunk:
                if value in found:
                    continue
                if kind == "condition id":
                    self.clob_market(value)
                else:
                    raise ResolveError(f"{kind} {value} not found on Gamma ({self.gamma.base_url})")

    def clob_market(self, condition_id: str) -> None:
        record = self.clob.get(f"markets/{condition_id}")
        if not isinstance(record, dict) or not record.get("tokens"):
            raise ResolveError(
                f"condition id {condition_id} not found on Gamma or CLOB ({self.clob.base_url})"
            )
        self.out.add(_markets([record], from_clob_market))
        self.out.notes.append(f"{condition_id}: metadata from CLOB (no fee schedule there)")

    def slug(self, slug: str) -> None:
        found = self.gamma_list("markets", {"slug": slug}, f"market {slug}")
        if not found:
            raise ResolveError(f"no market with slug {slug!r} on Gamma ({self.gamma.base_url})")
        self.out.add(_markets(found, from_gamma_market))

    def market_id(self, ident: str) -> None:
        found = self.gamma_list("markets", {"id": ident}, f"market {ident}")
        if not found:
            raise ResolveError(f"no market with id {ident} on Gamma ({self.gamma.base_url})")
        self.out.add(_markets(found, from_gamma_market))

    def event(self, ident: str) -> None:
        if ident.isdigit():
            events = _as_list(self.gamma.get(f"events/{ident}"))
        else:
            events = self.gamma_list("events", {"slug": ident}, f"event {ident}")
        if not events:
            raise ResolveError(f"no event {ident!r} on Gamma ({self.gamma.base_url})")
        for event in events:
            try:
                metas = from_gamma_event(event)
            except MetadataError as exc:
                raise ResolveError(f"event {ident}: {exc}") from None
            if not metas:
                raise ResolveError(f"event {ident!r} has no markets")
            self.out.add(metas)


def resolve(
    targets: Iterable[str | Target],
    *,
    gamma: JsonHttp | None = None,
    clob: JsonHttp | None = None,
) -> Resolution:
    """Look every target up; raises :class:`ResolveError` naming the first that fails."""
    parsed = [t if isinstance(t, Target) else parse_target(t) for t in targets]
    if not parsed:
        raise ResolveError("nothing to record: give token ids, slugs, condition ids or an event")
    out = Resolution()
    r = _Resolver(gamma or JsonHttp(GAMMA_URL), clob or JsonHttp(CLOB_URL), out)
    tokens = [t.value for t in parsed if t.kind == "token"]
    conditions = [t.value for t in parsed if t.kind == "condition"]
    if tokens:
        r.markets_by("clob_token_ids", list(dict.fromkeys(tokens)), "token id")
    if conditions:
        r.markets_by("condition_ids", list(dict.fromkeys(conditions)), "condition id")
    for target in parsed:
        if target.kind == "slug":
            r.slug(target.value)
        elif target.kind == "market_id":
            r.market_id(target.value)
        elif target.kind == "event":
            r.event(target.value)
    return out
