"""Market metadata from Gamma and CLOB REST records: what replay needs and the feed lacks.

Gamma encodes ``clobTokenIds``/``outcomes`` as JSON strings and numbers as
JSON numbers; CLOB uses snake_case and ``tokens[]`` (docs/protocol.md §Markets and metadata).
Both become one :class:`MarketMeta` with exact integer units.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec

from polyarb.errors import PolyarbError
from polyarb.units import SCALE, FixedPointError, parse_fixed


class MetadataError(ValueError, PolyarbError):
    """A market record that lacks what the engine needs (names the field)."""


class MarketMeta(msgspec.Struct, frozen=True):
    """One condition (binary market). Units: micro (see :mod:`polyarb.units`)."""

    condition_id: str
    question: str
    slug: str
    token_ids: tuple[str, ...]
    outcomes: tuple[str, ...]
    tick_size: int
    min_order_size: int
    neg_risk: bool = False
    neg_risk_augmented: bool = False
    neg_risk_market_id: str = ""
    neg_risk_other: bool = False
    """A placeholder outcome ("Other") in an augmented neg-risk event."""
    event_id: str = ""
    event_slug: str = ""
    group_item_title: str = ""
    fee_rate: int = 0
    fee_exponent: int = 1
    fee_taker_only: bool = True
    end_date_ms: int | None = None
    closed: bool = False
    winning_token_id: str | None = None
    """Set once resolved: that token pays 1, the others 0."""

    def outcome_of(self, token_id: str) -> str:
        """The outcome label of ``token_id`` (``Yes``, ``Up``, a team name…)."""
        return self.outcomes[self.token_ids.index(token_id)]


def _fixed(value: Any, field: str, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise MetadataError(f"missing field {field!r}")
        return default
    if isinstance(value, bool):
        raise MetadataError(f"field {field!r} must be a number, got a boolean")
    if isinstance(value, int):
        return value * SCALE
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        return parse_fixed(text)
    except FixedPointError as exc:
        raise MetadataError(f"field {field!r}: {exc}") from None


def _json_list(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise MetadataError(f"field {field!r} is not a JSON list: {value[:60]!r}") from None
    if not isinstance(value, list):
        raise MetadataError(f"field {field!r} must be a list")
    return tuple(str(v) for v in value)


def _date_ms(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00").replace(" ", "T")
    if text.endswith("+00"):
        text += ":00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def _truthy(value: Any) -> bool:
    return value is True or value == "true"


def from_gamma_market(m: dict[str, Any], event: dict[str, Any] | None = None) -> MarketMeta:
    """A Gamma ``/markets`` record (optionally with its parent ``/events`` record)."""
    if event is None and isinstance(m.get("events"), list) and m["events"]:
        event = m["events"][0]
    event = event or {}
    version = m.get("version")
    token_field = "positionIds" if version == "v2" else "clobTokenIds"
    tokens = _json_list(m.get(token_field), token_field)
    outcomes = _json_list(m.get("outcomes"), "outcomes")
    if len(tokens) != len(outcomes):
        raise MetadataError(f"{len(tokens)} token ids but {len(outcomes)} outcomes")
    fees = m.get("feeSchedule") if isinstance(m.get("feeSchedule"), dict) else None
    fees_on = fees is not None and m.get("feesEnabled", True) is not False
    winner = None
    prices = m.get("outcomePrices")
    if m.get("closed") and m.get("umaResolutionStatus") == "resolved" and prices:
        decoded = _json_list(prices, "outcomePrices")
        winners = [t for t, p in zip(tokens, decoded, strict=False) if p in ("1", "1.0")]
        winner = winners[0] if len(winners) == 1 else None
    return MarketMeta(
        condition_id=str(m.get("conditionId") or _missing("conditionId")),
        question=str(m.get("question") or ""),
        slug=str(m.get("slug") or ""),
        token_ids=tokens,
        outcomes=outcomes,
        tick_size=_fixed(m.get("orderPriceMinTickSize"), "orderPriceMinTickSize", 10_000),
        min_order_size=_fixed(m.get("orderMinSize"), "orderMinSize", 5 * SCALE),
        neg_risk=_truthy(m.get("negRisk")),
        # An event flag; a bare /markets record may carry it itself.
        neg_risk_augmented=_truthy(event.get("negRiskAugmented"))
        or _truthy(m.get("negRiskAugmented")),
        neg_risk_market_id=str(m.get("negRiskMarketID") or event.get("negRiskMarketID") or ""),
        neg_risk_other=_truthy(m.get("negRiskOther")),
        event_id=str(event.get("id") or ""),
        event_slug=str(event.get("slug") or ""),
        group_item_title=str(m.get("groupItemTitle") or ""),
        fee_rate=_fixed(fees.get("rate"), "feeSchedule.rate", 0) if fees_on and fees else 0,
        fee_exponent=int(fees.get("exponent", 1)) if fees else 1,
        fee_taker_only=bool(fees.get("takerOnly", True)) if fees else True,
        end_date_ms=_date_ms(m.get("endDate")),
        closed=_truthy(m.get("closed")),
        winning_token_id=winner,
    )


def from_gamma_event(event: dict[str, Any]) -> list[MarketMeta]:
    """Every market of a Gamma ``/events`` record, carrying the event's neg-risk flags."""
    markets = event.get("markets")
    if not isinstance(markets, list):
        raise MetadataError("event has no 'markets' list")
    return [from_gamma_market(m, event) for m in markets]


def from_clob_market(m: dict[str, Any]) -> MarketMeta:
    """A CLOB ``/markets/{condition_id}`` record."""
    tokens = m.get("tokens")
    if not isinstance(tokens, list) or not tokens:
        raise MetadataError("missing field 'tokens'")
    winners = [str(t["token_id"]) for t in tokens if t.get("winner") is True]
    closed = _truthy(m.get("closed"))
    return MarketMeta(
        condition_id=str(m.get("condition_id") or _missing("condition_id")),
        question=str(m.get("question") or ""),
        slug=str(m.get("market_slug") or ""),
        token_ids=tuple(str(t["token_id"]) for t in tokens),
        outcomes=tuple(str(t.get("outcome", "")) for t in tokens),
        tick_size=_fixed(m.get("minimum_tick_size"), "minimum_tick_size", 10_000),
        min_order_size=_fixed(m.get("minimum_order_size"), "minimum_order_size", 5 * SCALE),
        neg_risk=_truthy(m.get("neg_risk")),
        neg_risk_market_id=str(m.get("neg_risk_market_id") or ""),
        end_date_ms=_date_ms(m.get("end_date_iso")),
        closed=closed,
        winning_token_id=winners[0] if closed and len(winners) == 1 else None,
    )


def _missing(field: str) -> str:
    raise MetadataError(f"missing field {field!r}")
