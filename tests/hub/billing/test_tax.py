"""VAT per line, inclusive and exclusive, rounded half up in minor units."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.billing.tax import TaxSplit, format_rate, split_tax


def test_thai_vat_included_in_the_price() -> None:
    # 1,070.00 baht including 7 % VAT is 1,000.00 net + 70.00 VAT.
    assert split_tax(107000, 700, inclusive=True) == TaxSplit(100000, 7000, 107000)
    # 500.00 baht incl. VAT: 50000 x 7/107 = 3271.03 -> 3271 satang of VAT.
    assert split_tax(50000, 700, inclusive=True) == TaxSplit(46729, 3271, 50000)


def test_vat_added_on_top() -> None:
    assert split_tax(100000, 700, inclusive=False) == TaxSplit(100000, 7000, 107000)
    # 150.50 x 7 % = 10.535 baht: exactly half a satang, rounded up to 10.54.
    assert split_tax(15050, 700, inclusive=False) == TaxSplit(15050, 1054, 16104)


def test_credits_round_like_the_matching_charge() -> None:
    assert split_tax(-15050, 700, inclusive=False) == TaxSplit(-15050, -1054, -16104)
    assert split_tax(-50000, 700, inclusive=True) == TaxSplit(-46729, -3271, -50000)


def test_no_tax() -> None:
    assert split_tax(1999, 0, inclusive=False) == TaxSplit(1999, 0, 1999)
    assert split_tax(1999, 0, inclusive=True) == TaxSplit(1999, 0, 1999)


@pytest.mark.parametrize("rate", [-1, 10001, 7.0, True])
def test_bad_rates_are_refused(rate: object) -> None:
    with pytest.raises(ValueError, match="basis points"):
        split_tax(100, rate, inclusive=False)  # type: ignore[arg-type]


def test_format_rate() -> None:
    assert format_rate(700) == "7%"
    assert format_rate(810) == "8.1%"
    assert format_rate(1) == "0.01%"


@given(
    amount=st.integers(min_value=-(10**10), max_value=10**10),
    rate=st.integers(min_value=0, max_value=10000),
    inclusive=st.booleans(),
)
def test_split_is_consistent_and_within_half_a_unit(
    amount: int, rate: int, inclusive: bool
) -> None:
    split = split_tax(amount, rate, inclusive=inclusive)
    assert split.net + split.tax == split.gross
    exact = Fraction(amount * rate, 10000 + rate) if inclusive else Fraction(amount * rate, 10000)
    assert abs(split.tax - exact) <= Fraction(1, 2)
    # Half up means an exact half goes away from zero.
    if abs(split.tax - exact) == Fraction(1, 2):
        assert abs(split.tax) > abs(exact)
