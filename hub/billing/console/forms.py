"""Reading billing forms as staff type them: prices in baht (not satang), VAT in percent,
and one translated message per field.

The plan form is checked by the same rules as the API
(:class:`~hub.billing.plans.PlanBase`): a negative price, an unknown currency or a
billing interval of zero units is refused, each with a message beside its field::

    values = form_fields(form, PLAN_FIELDS)
    plan, errors = read_plan_form(values, t)
    errors   # {"price": "A price cannot be negative", "interval_count": "..."}
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from hub.billing.console.helpers import money
from hub.billing.money import Money, UnknownCurrency, normalize_currency
from hub.billing.plans import IntervalUnit
from hub.console.forms import bad_characters, message_for
from hub.console.i18n import Translator
from hub.models.billing import PlanCreate

#: Fields of the plan form, as typed.
PLAN_FIELDS = (
    "name",
    "site_id",
    "price",
    "currency",
    "interval_unit",
    "interval_count",
    "setup_fee",
    "tax_rate",
    "tax_inclusive",
    "grace_days",
    "commitment_periods",
    "trial_days",
)
#: Form field -> model field where they differ.
_MODEL_FIELD = {
    "price": "price_minor",
    "setup_fee": "setup_fee_minor",
    "tax_rate": "tax_rate_bp",
}
_FORM_FIELD = {v: k for k, v in _MODEL_FIELD.items()}
#: Words in the plan rules' messages, and the message ids shown for them.
_PLAN_MESSAGES = {
    "must not be negative": "billing.error.negative",
    "implausibly large": "billing.error.too_large",
    "ISO 4217": "billing.error.currency",
    "at least 1 unit": "billing.error.interval_zero",
    "too long an interval": "billing.error.interval_long",
    "basis points": "billing.error.tax_rate",
    "needs a name": "form.required",
    "grace_days": "form.out_of_range",
    "trial_days": "form.out_of_range",
    "commitment_periods": "form.out_of_range",
}
MAX_TEXT = 32


def parse_amount(text: str | None, currency: str) -> int | None:
    """Major units typed by a person (``"1,070.50"``) as minor units; ``None`` if it is
    not an amount in *currency* (or the currency is unknown)."""
    if text is None or len(text) > MAX_TEXT:
        return None
    try:
        return Money.parse(text, currency).amount
    except (ValueError, UnknownCurrency):
        return None


def parse_percent(text: str) -> int | None:
    """``"7"`` or ``"7.5"`` percent as basis points (700, 750); ``None`` if not a number
    with at most two decimals."""
    if len(text) > MAX_TEXT:
        return None
    cleaned = text.strip().removesuffix("%").strip()
    try:
        return Money.parse(cleaned, "USD").amount  # two decimals: percent -> basis points
    except ValueError:
        return None


def _whole(text: str) -> int | None:
    cleaned = text.strip()
    if (
        not cleaned
        or len(cleaned) > 9
        or not cleaned.lstrip("-").isdigit()
        or not cleaned.isascii()
    ):
        return None
    return int(cleaned)


def plan_message(error: dict[str, Any], t: Translator) -> str:
    """A translated message for one error of the plan rules."""
    text = str(error.get("msg", ""))
    if error.get("type") == "value_error":
        for needle, key in _PLAN_MESSAGES.items():
            if needle in text:
                return t(key)
    if error.get("type") == "enum":
        return t("form.invalid_choice")
    return message_for(error, t)


def read_plan_form(
    values: dict[str, str | None], t: Translator, *, sites: set[int]
) -> tuple[PlanCreate | None, dict[str, str]]:
    """The plan typed into *values* (``None`` with errors), and a message per field."""
    errors = bad_characters(values, t)
    data: dict[str, Any] = {"name": values.get("name") or ""}
    currency_text = (values.get("currency") or "").strip()
    try:
        currency = normalize_currency(currency_text) if len(currency_text) <= 8 else ""
    except UnknownCurrency:
        currency = ""
    data["currency"] = currency or currency_text[:8]
    for name in ("price", "setup_fee"):
        text = values.get(name)
        if text is None:
            if name == "price":
                errors.setdefault(name, t("form.required"))
            continue
        amount = parse_amount(text, currency or "THB")
        if amount is None:
            errors.setdefault(name, t("billing.error.amount"))
        else:
            data[_MODEL_FIELD[name]] = amount
    tax = values.get("tax_rate")
    if tax is not None:
        bp = parse_percent(tax)
        if bp is None:
            errors.setdefault("tax_rate", t("form.invalid_number"))
        else:
            data["tax_rate_bp"] = bp
    data["tax_inclusive"] = values.get("tax_inclusive") is not None
    unit = values.get("interval_unit") or IntervalUnit.MONTH.value
    data["interval_unit"] = unit
    for name in ("interval_count", "grace_days", "commitment_periods", "trial_days"):
        text = values.get(name)
        if text is None:
            if name == "interval_count":
                errors.setdefault(name, t("form.required"))
            continue
        number = _whole(text)
        if number is None:
            errors.setdefault(name, t("form.invalid_number"))
        else:
            data[name] = number
    site = _whole(values.get("site_id") or "")
    if site is None or site not in sites:
        errors.setdefault("site_id", t("form.invalid_choice"))
    data["site_id"] = site or 0
    plan = None
    try:
        plan = PlanCreate.model_validate(data)
    except ValidationError as err:
        for e in err.errors():
            loc = e.get("loc") or ("",)
            field = _FORM_FIELD.get(str(loc[0]), str(loc[0]))
            errors.setdefault(field, plan_message(dict(e), t))
    return (None if errors else plan), errors


def plan_values(plan: Any) -> dict[str, str | None]:
    """A plan's terms as the form shows them (prices in major units, VAT in percent)."""
    from hub.billing.money import format_minor

    return {
        "name": plan.name,
        "site_id": str(plan.site_id),
        "price": format_minor(plan.price_minor, plan.currency),
        "currency": plan.currency,
        "interval_unit": plan.interval_unit,
        "interval_count": str(plan.interval_count),
        "setup_fee": format_minor(plan.setup_fee_minor, plan.currency),
        "tax_rate": format_minor(plan.tax_rate_bp, "USD"),
        "tax_inclusive": "on" if plan.tax_inclusive else None,
        "grace_days": str(plan.grace_days),
        "commitment_periods": str(plan.commitment_periods),
        "trial_days": str(plan.trial_days),
    }


#: Fields of the desk payment form, as typed.
DESK_FIELDS = ("method", "reference", "amount", "form_key")
_FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_form_key() -> str:
    """A fresh one-time key for a desk payment form (see :func:`read_desk_payment`)."""
    return secrets.token_urlsafe(24)


@dataclass
class DeskPayment:
    """A desk payment as typed: how, the receipt or transfer reference, how much (minor
    units) and the form's one-time key."""

    method: str
    reference: str | None
    amount: int
    form_key: str | None


def read_desk_payment(
    values: dict[str, str | None],
    t: Translator,
    *,
    due: int,
    currency: str,
    methods: tuple[str, ...],
    need_key: bool = True,
) -> tuple[DeskPayment | None, dict[str, str]]:
    """The payment typed into the desk form (``None`` with errors) and a message per field.

    An empty amount means the whole balance *due*; zero, a negative amount, more than is
    due or something that is not an amount is refused beside the field::

        read_desk_payment({"method": "cash", "amount": "500"}, t, due=107000,
                          currency="THB", methods=("cash", "transfer"), need_key=False)
        # (DeskPayment(method='cash', reference=None, amount=50000, form_key=None), {})
    """
    errors = bad_characters(values, t)
    method = values.get("method") or ""
    if method not in methods:
        errors.setdefault("method", t("form.invalid_choice"))
    reference = values.get("reference")
    if reference is not None and len(reference) > 120:
        errors.setdefault("reference", t("form.too_long", max_length=120))
    text = (values.get("amount") or "").strip()
    amount = due
    if text:
        negative = text.startswith("-") or text.startswith("−")
        parsed = None if negative else parse_amount(text, currency)
        if negative:
            errors.setdefault("amount", t("billing.desk.amount_positive"))
        elif parsed is None:
            errors.setdefault("amount", t("billing.error.amount"))
        elif parsed <= 0:
            errors.setdefault("amount", t("billing.desk.amount_positive"))
        elif parsed > due:
            errors.setdefault(
                "amount", t("billing.desk.amount_too_much", amount=money(due, currency))
            )
        else:
            amount = parsed
    key = values.get("form_key")
    if key is not None and not _FORM_KEY.match(key):
        errors.setdefault("form", t("billing.desk.form_expired"))
        key = None
    elif key is None and need_key:
        errors.setdefault("form", t("billing.desk.form_expired"))
    if errors:
        return None, errors
    return DeskPayment(method, reference, amount, key), errors
