from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyarb.units import SCALE, FixedPointError, format_fixed, mul, mul_ceil, parse_fixed, to_fixed


@pytest.mark.parametrize(
    ("text", "micro"),
    [
        ("0.48", 480_000),
        (".48", 480_000),
        ("1", SCALE),
        ("0", 0),
        ("3149725.72", 3_149_725_720_000),
        ("0.001", 1_000),
        ("0.0025", 2_500),
        ("7.575758", 7_575_758),
        ("0.920", 920_000),
        ("5.0000000", 5 * SCALE),
    ],
)
def test_parse_fixed_exact(text: str, micro: int) -> None:
    assert parse_fixed(text) == micro


@pytest.mark.parametrize(
    "text", ["", ".", "abc", "-1", "1e5", "0.1234567", "1,5", " 1", "NaN", "١"]
)
def test_parse_fixed_rejects(text: str) -> None:
    with pytest.raises(FixedPointError):
        parse_fixed(text)


@given(st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False, allow_infinity=False))
def test_format_parse_round_trip(value: Decimal) -> None:
    micro = int(value * SCALE)
    assert parse_fixed(format_fixed(micro)) == micro
    assert Decimal(format_fixed(micro)) == value


def test_format_is_canonical_like_the_wire() -> None:
    assert format_fixed(480_000) == "0.48"
    assert format_fixed(70_281_200_000) == "70281.2"
    assert format_fixed(800 * SCALE) == "800"
    assert format_fixed(-1_500_000) == "-1.5"


@given(st.integers(1, 999_999), st.integers(0, 10**12))
def test_mul_floor_and_ceil_bracket_the_exact_product(price: int, size: int) -> None:
    exact = Decimal(price) * Decimal(size) / SCALE
    assert mul(price, size) <= exact <= mul_ceil(price, size)
    assert mul_ceil(price, size) - mul(price, size) <= 1


def test_to_fixed_for_config_values() -> None:
    assert to_fixed(2) == 2 * SCALE
    assert to_fixed("0.005") == 5_000
    assert to_fixed("-3.5") == -3_500_000
    with pytest.raises(FixedPointError):
        to_fixed(True)  # type: ignore[arg-type]
