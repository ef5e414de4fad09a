"""Plan definitions validate at entry, with one message per field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hub.billing.plans import IntervalUnit, PlanBase

OFF_PEAK: dict[str, Any] = {
    "name": "Off-peak monthly",
    "price_minor": 107000,
    "currency": "thb",
    "tax_rate_bp": 700,
    "tax_inclusive": True,
    "interval_unit": "month",
    "setup_fee_minor": 50000,
    "zones": 0b0001,
    "schedule_id": 2,
    "site_id": 1,
    "grace_days": 3,
    "commitment_periods": 12,
    "trial_days": 7,
}


def errors_of(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        PlanBase(**{**OFF_PEAK, **changes})
    return {".".join(map(str, e["loc"])): e["msg"] for e in info.value.errors()}


def test_a_full_plan_is_accepted_and_normalized() -> None:
    plan = PlanBase(**OFF_PEAK)
    assert plan.currency == "THB"
    assert plan.interval_unit is IntervalUnit.MONTH
    assert plan.describe() == "Off-peak monthly: THB 1,070.00 every month (incl. 7% VAT)"


def test_usd_without_tax_on_28_day_cycles() -> None:
    plan = PlanBase(
        name="Four-weekly",
        price_minor=4999,
        currency="USD",
        interval_unit="day",
        interval_count=28,
    )
    assert plan.tax_rate_bp == 0
    assert plan.describe() == "Four-weekly: USD 49.99 every 28 days"


def test_negative_prices_and_fees_are_refused() -> None:
    assert errors_of(price_minor=-1) == {
        "price_minor": "Value error, price_minor must not be negative (got -1)"
    }
    assert "setup_fee_minor" in errors_of(setup_fee_minor=-500)


def test_fractional_minor_units_are_refused() -> None:
    assert "price_minor" in errors_of(price_minor=10.5)


def test_unknown_currency_is_refused() -> None:
    message = errors_of(currency="XBT")["currency"]
    assert "'XBT' is not an ISO 4217 currency code" in message


def test_zero_length_and_absurd_intervals_are_refused() -> None:
    assert errors_of(interval_count=0) == {
        "interval_count": "Value error, a billing interval must last at least 1 unit, not 0"
    }
    assert "too long" in errors_of(interval_unit="day", interval_count=5000)["interval_count"]
    assert "interval_unit" in errors_of(interval_unit="fortnight")


def test_entitlement_and_term_bounds() -> None:
    assert "zones" in errors_of(zones=0)
    assert "zones" in errors_of(zones=0x10000)
    assert "schedule_id" in errors_of(schedule_id=256)
    assert "tax_rate_bp" in errors_of(tax_rate_bp=10001)
    assert "grace_days" in errors_of(grace_days=-1)
    assert "trial_days" in errors_of(trial_days=400)
    assert "commitment_periods" in errors_of(commitment_periods=-2)
    assert "name" in errors_of(name="   ")


def test_every_bad_field_is_reported_at_once() -> None:
    errors = errors_of(price_minor=-1, currency="ABC", interval_count=0)
    assert set(errors) == {"price_minor", "currency", "interval_count"}
