"""Amounts and dates the way a member reads them, in Thai or English.

Money is integer minor units plus an ISO currency; dates are shown in the member's own
timezone, and Thai dates in the Buddhist era, as Thai readers expect::

    format_amount(150050, "THB", "en")   # '฿1,500.50'
    format_amount(150050, "THB", "th")   # '1,500.50 บาท'
    format_amount(1999, "USD", "en")     # '$19.99'
    format_date(datetime(2026, 12, 8, 1, 0, tzinfo=UTC), "Asia/Bangkok", "th")
    # '8 ธันวาคม 2569'
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

#: Digits after the decimal point, per currency (ISO 4217).
MINOR_DIGITS: dict[str, int] = {
    "THB": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "MYR": 2,
    "JPY": 0,
    "KRW": 0,
}

_EN_SYMBOL = {"THB": "฿", "USD": "$", "EUR": "€", "GBP": "£"}
_TH_SUFFIX = {"THB": "บาท", "USD": "ดอลลาร์สหรัฐ", "EUR": "ยูโร", "JPY": "เยน"}

_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_TH_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip

#: Years in the Thai Buddhist era run 543 ahead of the Gregorian calendar.
BUDDHIST_ERA_OFFSET = 543


class UnknownCurrency(ValueError):
    """A currency whose minor units are not known here."""


def minor_digits(currency: str) -> int:
    """How many decimal digits *currency*'s minor unit has (2 for THB and USD)."""
    try:
        return MINOR_DIGITS[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency {currency!r}") from None


def format_number(amount_minor: int, currency: str) -> str:
    """``150050, "THB"`` → ``'1,500.50'``: grouped, exact, no floating point."""
    digits = minor_digits(currency)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**digits)
    text = f"{major:,}"
    if digits:
        text += f".{minor:0{digits}d}"
    return sign + text


def format_amount(amount_minor: int, currency: str, language: str) -> str:
    """An amount with its currency, written as a *language* reader expects."""
    number = format_number(amount_minor, currency)
    sign, bare = ("-", number[1:]) if number.startswith("-") else ("", number)
    if language == "th":
        suffix = _TH_SUFFIX.get(currency, currency)
        return f"{number} {suffix}"
    symbol = _EN_SYMBOL.get(currency)
    if symbol:
        return f"{sign}{symbol}{bare}"
    return f"{sign}{currency} {bare}"


def format_date(at: datetime, timezone: str, language: str) -> str:
    """The calendar date of *at* in *timezone*: ``'8 December 2026'`` / ``'8 ธันวาคม 2569'``."""
    local = at.astimezone(ZoneInfo(timezone))
    if language == "th":
        year = local.year + BUDDHIST_ERA_OFFSET
        return f"{local.day} {_TH_MONTHS[local.month - 1]} {year}"
    return f"{local.day} {_EN_MONTHS[local.month - 1]} {local.year}"
