"""The run summary: one engine run's headline numbers, as a typed record.

:meth:`polyarb.engine.Engine.summary` builds it; run.json holds it under ``summary``
(:mod:`polyarb.runs.runjson`); goldens in ``tests/acceptance/golden`` compare it. The
field order is the key order of the JSON (docs/runs.md §run.json explains each).
"""

from __future__ import annotations

from typing import Any

import msgspec

from polyarb.errors import PolyarbError


class RunFileError(ValueError, PolyarbError):
    """A run.json (or summary) that is not valid JSON or does not have the declared shape."""


class Keyed:
    """Dict-style reads (``s["fills"]``, ``s.get("fills")``) of a struct's fields.

    Code and notebooks written against the JSON keep working against the typed record;
    an unknown key raises :class:`KeyError` as a dict would.
    """

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        if key not in self.__struct_fields__:  # type: ignore[attr-defined]
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.__struct_fields__ and getattr(self, str(key)) is not None  # type: ignore[attr-defined]

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None) if key in self.__struct_fields__ else None  # type: ignore[attr-defined]
        return default if value is None else value

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: builtins only, keys in field order, unset optional fields left out."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


class RunSummary(Keyed, msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What one run did, counted by the engine (money in micro units)."""

    frames: int
    """Session rows seen (every kind)."""
    rows_by_kind: dict[str, int]
    events_by_type: dict[str, int]
    """Parsed market events by class name (``RejectedFrame`` counts what the parser refused)."""
    book: dict[str, int]
    """Book-state counters: boundaries, hash checks and mismatches, unknown assets…"""
    opportunities: dict[str, int]
    """By ``<detector>/<variant>``."""
    opportunities_total: int
    suppressed: dict[str, dict[str, int]]
    """Per detector: priced-in baskets a guard stopped, by reason."""
    verdicts: dict[str, int]
    """``accept`` and ``reject`` counts."""
    rejects_by_reason: dict[str, int]
    decisions: int
    orders: int
    orders_by_status: dict[str, int]
    order_rejects_by_reason: dict[str, int]
    fills: int
    fees: int
    gas: int
    merges: int
    """Merges and conversions done after a basket filled."""
    settlements: int
    cash: int
    realised_pnl: int
    marked_pnl: int
    total_pnl: int
    alerts_fired: int
    halts: int
    halted_at_end: bool


def summary_from_dict(data: Any, source: str = "summary") -> RunSummary:
    """A :class:`RunSummary` from its JSON form; :class:`RunFileError` naming ``source`` if not."""
    try:
        return msgspec.convert(data, RunSummary, strict=True)
    except msgspec.ValidationError as exc:
        raise RunFileError(f"{source}: not a run summary: {exc}") from exc
