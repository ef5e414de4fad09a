"""Money in integer minor units with ISO 4217 currencies."""

from __future__ import annotations

import pytest

from hub.billing.money import (
    CurrencyMismatch,
    Money,
    UnknownCurrency,
    currency_exponent,
    format_minor,
    normalize_currency,
    round_half_up,
)


def test_exponents_follow_iso_4217() -> None:
    assert currency_exponent("THB") == 2
    assert currency_exponent("usd") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("KWD") == 3
    assert currency_exponent("CLF") == 4


def test_unknown_currency_is_refused_with_the_code_in_the_message() -> None:
    with pytest.raises(UnknownCurrency, match="'BAHT' is not an ISO 4217 currency code"):
        normalize_currency("BAHT")
    with pytest.raises(UnknownCurrency):
        Money(100, "XYZ")


def test_amounts_are_integers_never_floats() -> None:
    with pytest.raises(TypeError):
        Money(10.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")  # type: ignore[arg-type]


def test_arithmetic_keeps_the_currency_and_refuses_mixing() -> None:
    total = Money(107000, "thb") + Money(500, "THB")
    assert total == Money(107500, "THB")
    assert Money(1999, "USD") * 3 == Money(5997, "USD")
    assert -Money(5, "USD") == Money(-5, "USD")
    with pytest.raises(CurrencyMismatch, match="THB with USD"):
        Money(1, "THB") + Money(1, "USD")


def test_parse_reads_major_units_exactly() -> None:
    assert Money.parse("1,070.00", "THB") == Money(107000, "THB")
    assert Money.parse("19.99", "usd") == Money(1999, "USD")
    assert Money.parse("1000", "JPY") == Money(1000, "JPY")
    assert Money.parse("0.1", "USD") == Money(10, "USD")
    with pytest.raises(ValueError, match="more than 0 decimal places"):
        Money.parse("10.5", "JPY")
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        Money.parse("1.005", "USD")
    with pytest.raises(ValueError, match="not an amount"):
        Money.parse("1e3", "USD")


def test_format() -> None:
    assert Money(107000, "THB").format() == "THB 1,070.00"
    assert Money(-5, "USD").decimal() == "-0.05"
    assert Money(1234567, "JPY").format() == "JPY 1,234,567"
    assert format_minor(1500, "KWD") == "1.500"


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [(5, 2, 3), (-5, 2, -3), (7, 3, 2), (-7, 3, -2), (4, 2, 2), (1, 3, 0), (3, 2, 2), (0, 9, 0)],
)
def test_round_half_up_rounds_halves_away_from_zero(num: int, den: int, expected: int) -> None:
    assert round_half_up(num, den) == expected
