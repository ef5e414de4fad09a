"""Payment plans and partial payments, in exact integer minor units.

A member in difficulty can split a balance into instalments. The split is exact: the
amounts differ by at most one minor unit, the larger ones come first, and they always sum
to the balance::

    plan = make_plan(plan_id="pp-1", balance_minor=100_000, currency="THB", count=3,
                     first_due=date(2026, 12, 15))
    [i.amount_minor for i in plan.instalments]   # [33334, 33333, 33333]
    [i.due_on for i in plan.instalments]         # 15 Dec, 15 Jan, 15 Feb

Payments, whole or partial, fill the earliest instalments first::

    plan, change = apply_payment(plan, 40_000)
    plan.paid_minor, plan.outstanding_minor, change   # 40000, 60000, 0
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta


class PlanError(ValueError):
    """A plan or payment that cannot be right."""


def split_balance(balance_minor: int, count: int) -> list[int]:
    """*balance_minor* in *count* parts differing by at most 1, larger parts first."""
    if not isinstance(balance_minor, int) or balance_minor <= 0:
        raise PlanError(f"the balance must be a positive number of minor units ({balance_minor!r})")
    if not isinstance(count, int) or not 1 <= count <= balance_minor:
        raise PlanError(f"instalments must number 1 to {balance_minor} (got {count!r})")
    base, remainder = divmod(balance_minor, count)
    return [base + 1] * remainder + [base] * (count - remainder)


def add_months(start: date, months: int) -> date:
    """*start* moved *months* calendar months on; the day is clamped to the month's end
    (31 January + 1 month = 28 or 29 February)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


@dataclass(frozen=True)
class Instalment:
    """One instalment: its number (from 1), due date, amount and what is paid of it."""

    number: int
    due_on: date
    amount_minor: int
    paid_minor: int = 0

    @property
    def outstanding_minor(self) -> int:
        return self.amount_minor - self.paid_minor

    @property
    def is_paid(self) -> bool:
        return self.paid_minor >= self.amount_minor


@dataclass(frozen=True)
class PaymentPlan:
    """A balance split into instalments.

    :param plan_id: stable id.
    :param currency: ISO currency of every amount.
    :param instalments: in due order.
    """

    plan_id: str
    currency: str
    instalments: tuple[Instalment, ...]

    @property
    def total_minor(self) -> int:
        return sum(i.amount_minor for i in self.instalments)

    @property
    def paid_minor(self) -> int:
        return sum(i.paid_minor for i in self.instalments)

    @property
    def outstanding_minor(self) -> int:
        return self.total_minor - self.paid_minor

    @property
    def is_complete(self) -> bool:
        return all(i.is_paid for i in self.instalments)

    def next_due(self) -> Instalment | None:
        """The earliest instalment not fully paid."""
        return next((i for i in self.instalments if not i.is_paid), None)

    def overdue(self, today: date) -> list[Instalment]:
        """Instalments due before *today* and not fully paid."""
        return [i for i in self.instalments if i.due_on < today and not i.is_paid]


def make_plan(
    *,
    plan_id: str,
    balance_minor: int,
    currency: str,
    count: int,
    first_due: date,
    every_days: int | None = None,
) -> PaymentPlan:
    """Split *balance_minor* into *count* instalments from *first_due*.

    :param every_days: days between instalments; ``None`` means monthly on the same day.
    """
    if every_days is not None and every_days < 1:
        raise PlanError("instalments must be at least a day apart")
    amounts = split_balance(balance_minor, count)
    dues = [
        add_months(first_due, n) if every_days is None else first_due + timedelta(every_days * n)
        for n in range(count)
    ]
    instalments = tuple(
        Instalment(number=n + 1, due_on=due, amount_minor=amount)
        for n, (due, amount) in enumerate(zip(dues, amounts, strict=True))
    )
    return PaymentPlan(plan_id=plan_id, currency=currency, instalments=instalments)


def apply_payment(plan: PaymentPlan, amount_minor: int) -> tuple[PaymentPlan, int]:
    """Fill the earliest unpaid instalments with *amount_minor*.

    :returns: the updated plan and the change (what exceeded the outstanding balance).
    """
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise PlanError(f"a payment is a positive number of minor units ({amount_minor!r})")
    left = amount_minor
    updated = []
    for instalment in plan.instalments:
        take = min(left, instalment.outstanding_minor)
        left -= take
        updated.append(replace(instalment, paid_minor=instalment.paid_minor + take))
    return replace(plan, instalments=tuple(updated)), left


def remaining_balance(balance_minor: int, payments: Iterable[int]) -> int:
    """What is left of *balance_minor* after partial *payments* (never below zero).

    :raises PlanError: on a payment that is not a positive integer.
    """
    remaining = balance_minor
    for payment in payments:
        if not isinstance(payment, int) or payment <= 0:
            raise PlanError(f"a payment is a positive number of minor units ({payment!r})")
        remaining = max(0, remaining - payment)
    return remaining
