"""Taker fees: ``shares × rate × (p·(1−p))^exponent``, floored to 0.00001 pUSD.

Exact integer arithmetic: the numerator and denominator are built as Python
ints and divided once, so no intermediate rounding can drift from what the
exchange charges. Flooring (not banker's rounding) is what reproduces all 21
on-chain ``OrderFilled`` fees (docs/protocol.md §Fees).
"""

from __future__ import annotations

from polyarb.units import FEE_QUANTUM, SCALE


def taker_fee(size: int, price: int, rate: int, exponent: int) -> int:
    """Fee in micro pUSD for a taker fill of ``size`` shares at ``price`` (all micro units).

    ``rate`` is the market's fee rate in micro units (0.05 → 50_000) and
    ``exponent`` its integer exponent. Makers pay nothing; callers only call
    this for taker fills.
    """
    if exponent < 0:
        raise ValueError(f"fee exponent must be >= 0, got {exponent}")
    if not 0 <= price <= SCALE:
        raise ValueError(f"fee price must be within [0, 1], got {price} micro")
    if size <= 0 or rate <= 0:
        return 0
    numerator = size * rate * (price * (SCALE - price)) ** exponent
    # size·rate·(p(1−p))^e in micro units carries SCALE^(1+2e) too many factors of SCALE.
    denominator = SCALE ** (1 + 2 * exponent) * FEE_QUANTUM
    return numerator // denominator * FEE_QUANTUM


def fee_exact(size: int, price: int, rate: int, exponent: int) -> tuple[int, int]:
    """The real-valued fee in micro units as an exact fraction ``(numerator, denominator)``.

    For tests and audits: :func:`taker_fee` never exceeds it and is within
    one fee quantum below it.
    """
    numerator = max(size, 0) * max(rate, 0) * (price * (SCALE - price)) ** exponent
    return numerator, SCALE ** (1 + 2 * exponent)
