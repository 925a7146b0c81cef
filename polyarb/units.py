"""Exact fixed-point numbers: every price, size, cash and fee is an int in micro units.

One scale for all (10**6) because Polymarket's on-chain amounts are 6-decimal
mantissas (pUSD and outcome shares), so a fill's cash is price × size / 10**6
with no rounding for every tick size in use (docs/protocol.md §Tick sizes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyarb.errors import PolyarbError

if TYPE_CHECKING:
    from decimal import Decimal

SCALE = 10**6
"""Units per 1.0 (one share, one pUSD, a price of 1)."""

ONE = SCALE
FEE_QUANTUM = 10
"""Fees are floored to 0.00001 pUSD = 10 micro units (docs/protocol.md §Fees, checked on chain)."""

_DECIMALS = 6
_cache: dict[str, int] = {}
_CACHE_MAX = 1 << 17


class FixedPointError(ValueError, PolyarbError):
    """A decimal string that is not an exact non-negative number with ≤ 6 decimals."""


def _parse(text: str) -> int:
    whole, dot, frac = text.partition(".")
    if not whole and not frac:
        raise FixedPointError(f"not a number: {text!r}")
    # isascii on the whole text: str.isdigit also accepts "²" and "٣", which int() mishandles
    if (whole and not whole.isdigit()) or (frac and not frac.isdigit()) or not text.isascii():
        raise FixedPointError(f"not a decimal number: {text!r}")
    if dot and not frac and not whole:
        raise FixedPointError(f"not a number: {text!r}")
    if len(frac) > _DECIMALS:
        extra = frac[_DECIMALS:]
        if extra.strip("0"):
            raise FixedPointError(f"more than {_DECIMALS} decimals: {text!r}")
        frac = frac[:_DECIMALS]
    if len(whole) > 12:
        raise FixedPointError(f"number too large: {text!r}")
    return int(whole or "0") * SCALE + int(frac.ljust(_DECIMALS, "0") or "0")


def parse_fixed(text: str) -> int:
    """Parse a decimal string such as ``"0.48"`` or ``".48"`` into micro units.

    Raises :class:`FixedPointError` for anything that is not exact; the
    parser turns that into a rejected frame. Results are memoised because
    price and size strings repeat heavily on the wire.
    """
    value = _cache.get(text)
    if value is None:
        if not isinstance(text, str):
            raise FixedPointError(f"expected a decimal string, got {type(text).__name__}")
        value = _parse(text)
        if len(_cache) < _CACHE_MAX:
            _cache[text] = value
    return value


def format_fixed(value: int) -> str:
    """Format micro units canonically, as Polymarket prints them: ``480000`` → ``"0.48"``."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), SCALE)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:06d}".rstrip("0")


def to_fixed(value: str | int) -> int:
    """Convert a config value (decimal string or int count of whole units) to micro units."""
    if isinstance(value, bool):
        raise FixedPointError("a boolean is not a number")
    if isinstance(value, int):
        return value * SCALE
    text = value.strip()
    if text.startswith("-"):
        return -parse_fixed(text[1:])
    return parse_fixed(text)


def mul(price: int, size: int) -> int:
    """Cash for ``size`` shares at ``price``, floored to a micro unit."""
    return price * size // SCALE


def mul_ceil(price: int, size: int) -> int:
    """Cash for ``size`` shares at ``price``, rounded up (what a buyer must hold)."""
    return -((-price * size) // SCALE)


def micro(value: Decimal) -> int:
    """Decimal → micro units, exactly (profiles allow at most 6 decimals)."""
    scaled = value * SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than 6 decimals")
    return int(scaled)
