"""Membership plans: what a member pays, how often, and which doors it opens.

A plan is validated data (a SQLModel without a table, so the same class serves as the
base of the ``plan`` table and as the API's input schema; bad input becomes a 422 with
one message per field)::

    off_peak = PlanBase(
        name="Off-peak monthly",
        price_minor=107000, currency="THB",          # 1,070.00 baht, VAT included
        tax_rate_bp=700, tax_inclusive=True,
        interval_unit="month", interval_count=1,
        setup_fee_minor=50000,                       # 500.00 baht joining fee
        zones=0b0001, schedule_id=2,                 # main floor, schedule 2 (e.g.
                                                     # weekdays 06:00-16:00)
        grace_days=3, commitment_periods=12, trial_days=7,
    )
    PlanBase(name="x", price_minor=-1, currency="THB")   # ValidationError: price_minor ...

Entitlements are the plan's side of the access list record: a 16-bit *zones* mask, a
*schedule_id* (0 = any time; 1-255 name a site's weekly windows, see
:mod:`protocol.schedule`) and optionally the *site_id* the plan is sold at (``None`` =
every site of the club). Access stays valid for *grace_days* after ``paid_through``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ValidationInfo, field_validator
from sqlmodel import Field, SQLModel

from hub.billing.money import UnknownCurrency, format_minor, normalize_currency
from hub.billing.tax import MAX_TAX_RATE_BP, format_rate

#: Largest amount accepted for a price or fee, in minor units (a sanity bound, ~10^12).
MAX_AMOUNT_MINOR = 10**12


class IntervalUnit(StrEnum):
    """The calendar unit a plan renews on; a quarter is 3 months, a year 12."""

    DAY = "day"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


#: Largest *interval_count* per unit (ten years of periods).
MAX_INTERVAL_COUNT = {
    IntervalUnit.DAY: 3660,
    IntervalUnit.MONTH: 120,
    IntervalUnit.QUARTER: 40,
    IntervalUnit.YEAR: 10,
}


def _check_amount(value: int, what: str) -> int:
    if value < 0:
        raise ValueError(f"{what} must not be negative (got {value})")
    if value > MAX_AMOUNT_MINOR:
        raise ValueError(f"{what} is implausibly large ({value} minor units)")
    return value


class PlanBase(SQLModel):
    """A membership plan's terms.

    :param name: shown on invoices and in the console.
    :param price_minor: price per interval in minor units of *currency*.
    :param currency: ISO 4217 code (THB, USD, ...); unknown codes are refused.
    :param interval_unit: ``day``, ``month``, ``quarter`` or ``year``.
    :param interval_count: how many units one period lasts (``day`` x 28 = every 28 days).
    :param setup_fee_minor: one-off joining fee on the first invoice (default 0).
    :param tax_rate_bp: VAT in basis points (700 = 7 %; default 0 = no tax).
    :param tax_inclusive: ``True`` if the price already includes the VAT.
    :param zones: zone bit mask the plan opens (bit 0 = zone 0); at least one bit.
    :param schedule_id: 0 = any time, 1-255 = one of the site's weekly schedules.
    :param site_id: the site the plan is sold at; ``None`` = all sites.
    :param grace_days: days access stays valid after ``paid_through`` (0-90).
    :param commitment_periods: minimum number of paid periods before a cancellation
        takes effect (0 = cancel any time, effective at the period end).
    :param trial_days: free days before the first paid period (0-365).
    """

    name: str = Field(min_length=1, max_length=120)
    price_minor: int
    currency: str = Field(min_length=3, max_length=3)
    interval_unit: IntervalUnit = IntervalUnit.MONTH
    interval_count: int = 1
    setup_fee_minor: int = 0
    tax_rate_bp: int = 0
    tax_inclusive: bool = False
    zones: int = 0xFFFF
    schedule_id: int = 0
    site_id: int | None = None
    grace_days: int = 0
    commitment_periods: int = 0
    trial_days: int = 0

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a plan needs a name")
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _known_currency(cls, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"a currency is a 3-letter ISO 4217 code, not {value!r}")
        try:
            return normalize_currency(value)
        except UnknownCurrency as err:
            raise ValueError(str(err)) from None

    @field_validator("price_minor", "setup_fee_minor")
    @classmethod
    def _amount(cls, value: int, info: ValidationInfo) -> int:
        return _check_amount(value, info.field_name or "amount")

    @field_validator("tax_rate_bp")
    @classmethod
    def _tax_rate(cls, value: int) -> int:
        if not 0 <= value <= MAX_TAX_RATE_BP:
            raise ValueError(f"tax_rate_bp is 0-10000 basis points (700 = 7 %), not {value}")
        return value

    @field_validator("zones")
    @classmethod
    def _zones(cls, value: int) -> int:
        if not 0 < value <= 0xFFFF:
            raise ValueError("zones is a 16-bit mask with at least one zone bit set")
        return value

    @field_validator("schedule_id")
    @classmethod
    def _schedule(cls, value: int) -> int:
        if not 0 <= value <= 255:
            raise ValueError("schedule_id is 0 (any time) or a site schedule 1-255")
        return value

    @field_validator("grace_days")
    @classmethod
    def _grace(cls, value: int) -> int:
        if not 0 <= value <= 90:
            raise ValueError("grace_days must be between 0 and 90")
        return value

    @field_validator("trial_days")
    @classmethod
    def _trial(cls, value: int) -> int:
        if not 0 <= value <= 365:
            raise ValueError("trial_days must be between 0 and 365")
        return value

    @field_validator("commitment_periods")
    @classmethod
    def _commitment(cls, value: int) -> int:
        if not 0 <= value <= 120:
            raise ValueError("commitment_periods must be between 0 and 120")
        return value

    @field_validator("interval_count")
    @classmethod
    def _interval_length(cls, value: int, info: ValidationInfo) -> int:
        if value < 1:
            raise ValueError(f"a billing interval must last at least 1 unit, not {value}")
        unit = info.data.get("interval_unit")
        if unit is not None:
            limit = MAX_INTERVAL_COUNT[IntervalUnit(unit)]
            if value > limit:
                raise ValueError(f"{value} {unit}s is too long an interval (at most {limit})")
        return value

    def describe_interval(self) -> str:
        """``'every month'``, ``'every 3 months'``, ``'every 28 days'``."""
        unit = IntervalUnit(self.interval_unit).value
        if self.interval_count == 1:
            return f"every {unit}"
        return f"every {self.interval_count} {unit}s"

    def describe(self) -> str:
        """One line for people: ``'Gold: THB 1,070.00 every month (incl. 7% VAT)'``."""
        price = format_minor(self.price_minor, self.currency, grouping=True, with_code=True)
        text = f"{self.name}: {price} {self.describe_interval()}"
        if self.tax_rate_bp:
            word = "incl." if self.tax_inclusive else "plus"
            text += f" ({word} {format_rate(self.tax_rate_bp)} VAT)"
        return text
