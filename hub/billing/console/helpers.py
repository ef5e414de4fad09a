"""Names the billing templates use besides the console's own: money, VAT rates, months.

::

    money(107000, "THB")     # 'THB 1,070.00'
    percent(750)             # '7.5'
    month(date(2026, 12, 1)) # '2026-12', or 'ธ.ค. 2569' for a Thai reader
    last_day(date(2027, 1, 1))  # date(2026, 12, 31): a period's stored end is exclusive
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hub.billing.money import UnknownCurrency, format_minor
from hub.console.formatting import _TH_MONTHS_SHORT
from hub.dunning.formatting import BUDDHIST_ERA_OFFSET


def money(amount: int, currency: str) -> str:
    """Minor units as people read them, with the currency code."""
    try:
        return format_minor(amount, currency, grouping=True, with_code=True)
    except UnknownCurrency:
        return f"{currency} {amount}"


def percent(basis_points: int) -> str:
    """Basis points as a percentage without trailing zeros (700 -> '7', 750 -> '7.5')."""
    whole, rest = divmod(basis_points, 100)
    return str(whole) if not rest else f"{whole}.{rest:02d}".rstrip("0")


def month_label(language: str) -> Callable[[date], str]:
    """How a month is named in *language*."""

    def label(day: date) -> str:
        if language == "th":
            return f"{_TH_MONTHS_SHORT[day.month - 1]} {day.year + BUDDHIST_ERA_OFFSET}"
        return f"{day:%Y-%m}"

    return label


def last_day(period_end: date) -> date:
    """The last day of a period whose end is stored exclusive (the next period's start),
    as invoices print it."""
    return period_end - timedelta(days=1)


def helpers(language: str) -> dict[str, Any]:
    """The names above, for a page in *language*."""
    return {
        "money": money,
        "percent": percent,
        "month": month_label(language),
        "last_day": last_day,
    }
