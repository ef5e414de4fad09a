"""Plans sold by use, beside the time-based memberships of :mod:`hub.billing.plans`.

Four kinds:

* **visit pack** — *visits* entries for *price_minor*, to use within *valid_days*;
* **pay per visit** — *visit_price_minor* per admitted entry, billed after the day,
  optionally capped per local day (*daily_cap_minor*) and per calendar month
  (*monthly_cap_minor*), as one invoice line per visit or one aggregated line listing
  the visit dates (*lines*);
* **day pass** — one local calendar day from the first entry, to use within
  *valid_days*;
* **trial pass** — free entry for *valid_days* days, once per member and site.

Visits beyond a pack's balance (made while gates were offline) follow *overuse*:
``"charge"`` bills each at *visit_price_minor* on the next usage invoice, ``"record"``
only records them for staff::

    pack = UsagePlanBase(name="10 visits", kind="visit_pack", currency="THB",
                         price_minor=150000, visits=10, valid_days=90,
                         overuse="charge", visit_price_minor=20000)
    UsagePlanBase(name="x", kind="visit_pack", currency="THB", visits=0)
    # ValidationError: visits: a visit pack needs at least one visit
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlmodel import Field, SQLModel

from hub.billing.money import UnknownCurrency, normalize_currency
from hub.billing.plans import MAX_AMOUNT_MINOR
from hub.billing.tax import MAX_TAX_RATE_BP


class UsageKind(StrEnum):
    VISIT_PACK = "visit_pack"
    PAY_PER_VISIT = "pay_per_visit"
    DAY_PASS = "day_pass"
    TRIAL_PASS = "trial_pass"


class LineMode(StrEnum):
    """How pay-per-visit usage appears on an invoice."""

    PER_VISIT = "per_visit"
    AGGREGATED = "aggregated"


class OveruseRule(StrEnum):
    """What happens to visits beyond a pack's balance."""

    CHARGE = "charge"
    RECORD = "record"


#: Longest re-entry window a site may set (a visit cannot outlast a day).
MAX_REENTRY_S = 86400


def _amount(value: int | None, what: str) -> int | None:
    if value is None:
        return None
    if value < 0:
        raise ValueError(f"{what} must not be negative (got {value})")
    if value > MAX_AMOUNT_MINOR:
        raise ValueError(f"{what} is implausibly large ({value} minor units)")
    return value


class UsagePlanBase(SQLModel):
    """A usage plan's terms; bad input is refused with one message per field.

    :param name: shown on invoices and in the console.
    :param kind: a :class:`UsageKind`.
    :param currency: ISO 4217 code.
    :param price_minor: what the pack or pass costs when sold (0 for pay-per-visit).
    :param visit_price_minor: pay-per-visit price, and the overuse price of a pack.
    :param visits: visits in a pack (1-10000; other kinds: ignored).
    :param valid_days: days a pack or day pass may be used after sale; a trial's length.
    :param daily_cap_minor: most billed per local day (pay per visit), or ``None``.
    :param monthly_cap_minor: most billed per calendar month (pay per visit), or ``None``.
    :param lines: ``per_visit`` or ``aggregated`` invoice lines.
    :param overuse: ``charge`` or ``record`` (visits beyond a pack's balance).
    :param zones: zone mask the plan opens.
    :param tax_rate_bp: VAT in basis points; prices include it when *tax_inclusive*.
    """

    name: str = Field(min_length=1, max_length=120)
    kind: UsageKind
    currency: str = Field(default="THB", max_length=3)
    price_minor: int = 0
    visit_price_minor: int = 0
    visits: int = 0
    valid_days: int = 0
    daily_cap_minor: int | None = None
    monthly_cap_minor: int | None = None
    lines: LineMode = LineMode.PER_VISIT
    overuse: OveruseRule = OveruseRule.CHARGE
    zones: int = Field(default=1, ge=1, le=0xFFFF)
    tax_rate_bp: int = Field(default=0, ge=0, le=MAX_TAX_RATE_BP)
    tax_inclusive: bool = True

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        try:
            return normalize_currency(value)
        except UnknownCurrency as err:
            raise ValueError(str(err)) from None

    @field_validator("price_minor")
    @classmethod
    def _price(cls, value: int) -> int:
        return _amount(value, "price_minor") or 0

    @field_validator("visit_price_minor")
    @classmethod
    def _visit_price(cls, value: int) -> int:
        return _amount(value, "visit_price_minor") or 0

    @field_validator("daily_cap_minor")
    @classmethod
    def _daily(cls, value: int | None) -> int | None:
        return _amount(value, "daily_cap_minor")

    @field_validator("monthly_cap_minor")
    @classmethod
    def _monthly(cls, value: int | None) -> int | None:
        return _amount(value, "monthly_cap_minor")

    @model_validator(mode="after")
    def _by_kind(self):  # type: ignore[no-untyped-def]
        kind = self.kind
        if kind is UsageKind.VISIT_PACK and not 1 <= self.visits <= 10000:
            raise ValueError(
                f"visits: a visit pack needs at least one visit (1-10000, got {self.visits})"
            )
        if kind is not UsageKind.PAY_PER_VISIT and not 1 <= self.valid_days <= 3660:
            raise ValueError(f"valid_days: {kind.value} needs 1-3660 days (got {self.valid_days})")
        if kind is UsageKind.PAY_PER_VISIT and self.visit_price_minor == 0:
            raise ValueError("visit_price_minor: pay per visit needs a price per visit")
        return self


class UsagePlanCreate(UsagePlanBase):
    site_id: int


class UsageSiteUpdate(SQLModel):
    """A site's re-entry window: a tap within it of a visit's first entry is no new visit."""

    reentry_s: int

    @field_validator("reentry_s")
    @classmethod
    def _window(cls, value: int) -> int:
        if not 0 <= value <= MAX_REENTRY_S:
            raise ValueError(
                f"reentry_s: a re-entry window is 0 to 86400 seconds (one day), not {value}"
            )
        return value
