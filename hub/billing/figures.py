"""Billing figures for people: recurring revenue, failed payments, what was recovered,
revenue per month and how long invoices take to be paid.

Each function reads the database and returns plain numbers (minor units per currency);
months are calendar months in the site's time zone, so a payment at 00:30 on the 1st in
Bangkok counts for that month, not the one before::

    monthly_recurring_revenue(session)             # {"THB": 2_140_000}
    open_failures(session)                         # Failures(count=3, amounts={"THB": 321000})
    recovered_between(session, start, end)         # Recovery(count=1, amounts={"THB": 107000})
    months = month_starts(date(2026, 12, 1), 12)   # Jan .. Dec 2026
    revenue_by_month(session, months, "Asia/Bangkok")

*Recovered* money is money received for an invoice whose charge had failed (it has a
dunning case), after the failure; *time to collect* runs from an invoice's issue day to
the local day its payment arrived.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, case, cast, literal_column
from sqlmodel import Session, col, func, select

from hub.models import DocumentKind, DunningCase, Invoice, Payment, Plan, Refund, Subscription

#: Subscription states that bring in money every period.
BILLING_STATES = ("active", "past_due")
#: Months per unit of a plan's interval (a day is 12/365 of a month).
_MONTHS_PER_UNIT = {
    "day": Fraction(12, 365),
    "month": Fraction(1),
    "quarter": Fraction(3),
    "year": Fraction(12),
}
#: Time-to-collect buckets: (upper bound in days, inclusive; label).
COLLECT_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (0, "0"),
    (3, "1-3"),
    (7, "4-7"),
    (14, "8-14"),
    (30, "15-30"),
    (None, "31+"),
)


def monthly_recurring_revenue(session: Session, *, site_id: int | None = None) -> dict[str, int]:
    """What the subscriptions that bill (active, past due) bring in per month, per currency.

    A quarterly plan at 3,000 counts 1,000; a yearly one at 12,000 counts 1,000; a plan
    every 28 days at 1,000 counts 1,000 x 365 / 12 / 28.
    """
    q = (
        select(
            Plan.currency, Plan.price_minor, Plan.interval_unit, Plan.interval_count, func.count()
        )  # fmt: skip
        .join(Subscription, col(Subscription.plan_id) == Plan.id)
        .where(col(Subscription.status).in_(BILLING_STATES))
        .group_by(Plan.currency, Plan.price_minor, Plan.interval_unit, Plan.interval_count)
    )
    if site_id is not None:
        q = q.where(Subscription.site_id == site_id)
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for currency, price, unit, count, n in session.exec(q):
        months = _MONTHS_PER_UNIT.get(unit, Fraction(1)) * max(1, count)
        totals[currency] += Fraction(price * n) / months
    return {c: round(v) for c, v in sorted(totals.items())}


@dataclass
class Amounts:
    """A count of things and their money per currency."""

    count: int = 0
    amounts: dict[str, int] = field(default_factory=dict)

    def add(self, currency: str, amount: int, n: int = 1) -> None:
        self.count += n
        self.amounts[currency] = self.amounts.get(currency, 0) + amount


def open_failures(session: Session, *, site_id: int | None = None) -> Amounts:
    """Open dunning cases (failed payments not yet recovered) and what they are owed."""
    q = (
        select(DunningCase.currency, func.count(),
               func.coalesce(func.sum(DunningCase.amount_minor), 0))
        .where(DunningCase.status == "open")
        .group_by(DunningCase.currency)
    )  # fmt: skip
    if site_id is not None:
        q = q.join(Invoice, col(Invoice.id) == DunningCase.invoice_id).where(
            Invoice.site_id == site_id
        )
    found = Amounts()
    for currency, n, amount in session.exec(q):
        found.add(currency, int(amount), int(n))
    return found


def _recovered_query(start: datetime, end: datetime, site_id: int | None):  # type: ignore[no-untyped-def]
    q = (
        select(Payment.currency, Payment.amount, Payment.paid_at, Payment.invoice_id)
        .join(DunningCase, col(DunningCase.invoice_id) == Payment.invoice_id)
        .where(
            col(Payment.paid_at) >= start,
            col(Payment.paid_at) < end,
            col(Payment.paid_at) >= DunningCase.failed_at,
        )
    )
    if site_id is not None:
        q = q.where(Payment.site_id == site_id)
    return q


def recovered_between(
    session: Session, start: datetime, end: datetime, *, site_id: int | None = None
) -> Amounts:
    """Money received in ``[start, end)`` for invoices whose charge had failed before;
    ``count`` is the number of such invoices."""
    found = Amounts()
    seen: set[int] = set()
    for currency, amount, _at, invoice_id in session.exec(_recovered_query(start, end, site_id)):
        found.add(currency, int(amount), 0 if invoice_id in seen else 1)
        seen.add(invoice_id)
    return found


# -- months -------------------------------------------------------------------------------


def month_start(day: date) -> date:
    """The first day of *day*'s month."""
    return day.replace(day=1)


def add_months(day: date, n: int) -> date:
    """The first of the month *n* months after *day*'s (negative: before)."""
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_starts(last: date, count: int) -> list[date]:
    """The first days of the *count* months ending with *last*'s, oldest first."""
    return [add_months(last, -i) for i in range(count - 1, -1, -1)]


def local_midnight(day: date, timezone: str) -> datetime:
    """Where local *day* begins, in UTC."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


@dataclass
class MonthRevenue:
    """One month's money, minor units of one currency.

    :param received: payments in; ``refunded``: money given back; ``net`` the difference.
    :param invoiced: totals of invoices issued that month (not void).
    """

    month: date
    currency: str
    received: int = 0
    refunded: int = 0
    invoiced: int = 0
    payments: int = 0

    @property
    def net(self) -> int:
        return self.received - self.refunded


def _bounds(months: Sequence[date], timezone: str) -> tuple[datetime, datetime]:
    return local_midnight(months[0], timezone), local_midnight(add_months(months[-1], 1), timezone)


def _month_bucket(column: Any, ends: Sequence[datetime | date]) -> Any:
    """The index of the month a value falls in, given each month's (exclusive) end."""
    return case(
        *[(column < bound, literal_column(str(i))) for i, bound in enumerate(ends)],
        else_=literal_column(str(len(ends))),
    )


def _grouped(session: Session, inner: Any, *keys: str) -> list[Any]:
    """``SUM(amount)`` and ``COUNT(*)`` of *inner* (a select with a ``bucket``, the
    *keys* and an ``amount``) per bucket and key; grouped outside the select, so the
    bucket's ``CASE`` is written once whatever the dialect."""
    sub = inner.subquery()
    columns = [sub.c.bucket, *(sub.c[k] for k in keys)]
    q = select(*columns, func.sum(sub.c.amount), func.count()).group_by(*columns)
    return list(session.exec(q))  # type: ignore[call-overload]


def revenue_by_month(
    session: Session, months: Sequence[date], timezone: str, *, site_id: int | None = None
) -> dict[str, list[MonthRevenue]]:
    """Received, refunded and invoiced per month of *months*, per currency (summed by
    the database: a year of a big club is a million payments)."""
    start, end = _bounds(months, timezone)
    ends = [local_midnight(add_months(m, 1), timezone) for m in months]
    day_ends = [add_months(m, 1) for m in months]
    table: dict[str, list[MonthRevenue]] = {}

    def row(currency: str, bucket: int) -> MonthRevenue | None:
        if not 0 <= bucket < len(months):
            return None
        per = table.setdefault(currency, [MonthRevenue(m, currency) for m in months])
        return per[bucket]

    pays = select(
        _month_bucket(col(Payment.paid_at), ends).label("bucket"),
        col(Payment.currency).label("currency"), col(Payment.amount).label("amount"),
    ).where(col(Payment.paid_at) >= start, col(Payment.paid_at) < end)  # fmt: skip
    refunds = select(
        _month_bucket(col(Refund.created_at), ends).label("bucket"),
        col(Refund.currency).label("currency"), col(Refund.amount).label("amount"),
    ).where(col(Refund.created_at) >= start, col(Refund.created_at) < end)  # fmt: skip
    issued = select(
        _month_bucket(col(Invoice.issued_on), day_ends).label("bucket"),
        col(Invoice.currency).label("currency"), col(Invoice.total).label("amount"),
    ).where(
        Invoice.issued_on >= months[0],
        Invoice.issued_on < day_ends[-1],
        Invoice.kind == DocumentKind.INVOICE.value,
        Invoice.status != "void",
    )  # fmt: skip
    if site_id is not None:
        pays = pays.where(Payment.site_id == site_id)
        refunds = refunds.where(Refund.site_id == site_id)
        issued = issued.where(Invoice.site_id == site_id)
    for bucket, currency, amount, n in _grouped(session, pays, "currency"):
        if (r := row(currency, int(bucket))) is not None:
            r.received += int(amount)
            r.payments += int(n)
    for bucket, currency, amount, _n in _grouped(session, refunds, "currency"):
        if (r := row(currency, int(bucket))) is not None:
            r.refunded += int(amount)
    for bucket, currency, amount, _n in _grouped(session, issued, "currency"):
        if (r := row(currency, int(bucket))) is not None:
            r.invoiced += int(amount)
    return dict(sorted(table.items()))


@dataclass
class MonthRecovery:
    """Failed payments of one month (by the failure's month) and how many were recovered.

    :param failed: cases opened; ``recovered``: of those, paid since;
        ``written_off``: voided or written off; ``still_open``: neither yet.
    """

    month: date
    failed: int = 0
    recovered: int = 0
    written_off: int = 0
    still_open: int = 0
    failed_amount: dict[str, int] = field(default_factory=dict)
    recovered_amount: dict[str, int] = field(default_factory=dict)

    @property
    def rate_percent(self) -> int | None:
        """Recovered out of failed, whole percent (``None`` with no failures)."""
        return None if not self.failed else round(100 * self.recovered / self.failed)


def recovery_by_month(
    session: Session, months: Sequence[date], timezone: str, *, site_id: int | None = None
) -> list[MonthRecovery]:
    """Per month of *months*: payments that failed then, and what became of them."""
    start, end = _bounds(months, timezone)
    ends = [local_midnight(add_months(m, 1), timezone) for m in months]
    per = [MonthRecovery(m) for m in months]
    cases = select(
        _month_bucket(col(DunningCase.failed_at), ends).label("bucket"),
        col(DunningCase.status).label("status"),
        func.coalesce(DunningCase.closed_reason, "").label("closed_reason"),
        col(DunningCase.currency).label("currency"),
        col(DunningCase.amount_minor).label("amount"),
    ).where(col(DunningCase.failed_at) >= start, col(DunningCase.failed_at) < end)
    if site_id is not None:
        cases = cases.join(Invoice, col(Invoice.id) == DunningCase.invoice_id).where(
            Invoice.site_id == site_id
        )
    for bucket, status, closed, cur, amount, n in _grouped(
        session, cases, "status", "closed_reason", "currency"
    ):
        if not 0 <= int(bucket) < len(months):
            continue
        row, n, amount = per[int(bucket)], int(n), int(amount)
        row.failed += n
        row.failed_amount[cur] = row.failed_amount.get(cur, 0) + amount
        if status == "open":
            row.still_open += n
        elif closed == "paid":
            row.recovered += n
            row.recovered_amount[cur] = row.recovered_amount.get(cur, 0) + amount
        else:
            row.written_off += n
    return per


@dataclass
class Collected:
    """One paid invoice and the days it took (issue day to the local day of payment)."""

    invoice_id: int
    number: int | None
    site_id: int
    member_id: int
    issued_on: date
    paid_on: date
    days: int
    recovered: bool


@dataclass
class TimeToCollect:
    """How long the paid invoices of a period took to be paid.

    :param by_days: paid invoices per number of days from issue to payment.
    """

    by_days: dict[int, int]

    @property
    def count(self) -> int:
        return sum(self.by_days.values())

    @property
    def buckets(self) -> dict[str, int]:
        """Counts per :data:`COLLECT_BUCKETS` label."""
        counts = dict.fromkeys((label for _, label in COLLECT_BUCKETS), 0)
        for days, n in self.by_days.items():
            counts[bucket_of(days)] += n
        return counts

    @property
    def median_days(self) -> float | None:
        n = self.count
        if not n:
            return None

        def nth(k: int) -> int:  # the k-th smallest (0-based)
            for days in sorted(self.by_days):
                k -= self.by_days[days]
                if k < 0:
                    return days
            raise AssertionError  # pragma: no cover

        mid = n // 2
        return float(nth(mid)) if n % 2 else (nth(mid - 1) + nth(mid)) / 2

    @property
    def average_days(self) -> float | None:
        n = self.count
        return None if not n else sum(d * k for d, k in self.by_days.items()) / n

    @property
    def same_day_percent(self) -> int | None:
        n = self.count
        return None if not n else round(100 * self.by_days.get(0, 0) / n)


def bucket_of(days: int) -> str:
    """The :data:`COLLECT_BUCKETS` label for *days*."""
    for bound, label in COLLECT_BUCKETS:
        if bound is None or days <= bound:
            return label
    return COLLECT_BUCKETS[-1][1]  # pragma: no cover


_QUARTER_HOUR = 900


def _epoch(session: Session, column: Any) -> Any:
    """Unix seconds of a timestamp column, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _first_payments(months: Sequence[date], site_id: int | None) -> Any:
    """Invoices issued in *months* and paid, with the time their first payment came."""
    q = (
        select(
            col(Invoice.id).label("invoice_id"),
            col(Invoice.issued_on).label("issued_on"),
            func.min(Payment.paid_at).label("paid_at"),
        )
        .join(Payment, col(Payment.invoice_id) == Invoice.id)
        .where(
            Invoice.issued_on >= months[0],
            Invoice.issued_on < add_months(months[-1], 1),
            Invoice.kind == DocumentKind.INVOICE.value,
            Invoice.status == "paid",
        )
        .group_by(col(Invoice.id), col(Invoice.issued_on))
    )
    return q if site_id is None else q.where(Invoice.site_id == site_id)


def time_to_collect(
    session: Session, months: Sequence[date], timezone: str, *, site_id: int | None = None
) -> TimeToCollect:
    """Invoices issued in *months* and paid since: how many took how many days.

    The database counts them per issue day and quarter hour of payment (every time zone
    is a whole number of quarter hours from UTC), so only those few rows come back to
    be turned into local days here.
    """
    sub = _first_payments(months, site_id).subquery()
    slot = (_epoch(session, sub.c.paid_at) // _QUARTER_HOUR).label("slot")
    inner = select(sub.c.issued_on, slot).subquery()
    q = select(inner.c.issued_on, inner.c.slot, func.count()).group_by(
        inner.c.issued_on, inner.c.slot
    )
    tz = ZoneInfo(timezone)
    by_days: Counter[int] = Counter()
    for issued, quarter, n in session.exec(q):  # type: ignore[call-overload]
        at = datetime.fromtimestamp(int(quarter) * _QUARTER_HOUR, UTC)
        by_days[max(0, (at.astimezone(tz).date() - issued).days)] += int(n)
    return TimeToCollect(dict(sorted(by_days.items())))


def collected_invoices(
    session: Session, months: Sequence[date], timezone: str, *, site_id: int | None = None
) -> list[Collected]:
    """Each invoice issued in *months* and paid, with the days it took (for a CSV file)."""
    sub = _first_payments(months, site_id).subquery()
    q = (
        select(
            Invoice.id,
            Invoice.number,
            Invoice.site_id,
            Invoice.member_id,
            Invoice.issued_on,
            sub.c.paid_at,
        )  # fmt: skip
        .join(sub, sub.c.invoice_id == Invoice.id)
        .order_by(col(Invoice.issued_on), col(Invoice.id))
    )
    failed = select(DunningCase.invoice_id).where(
        col(DunningCase.invoice_id).in_(select(sub.c.invoice_id))
    )
    after_failure = set(session.exec(failed).all())
    tz = ZoneInfo(timezone)
    rows = []
    for iid, number, site, member, issued, paid_at in session.exec(q):
        if isinstance(paid_at, str):  # SQLite's min() hands the stored text back
            paid_at = datetime.fromisoformat(paid_at)
        if paid_at.tzinfo is None:
            paid_at = paid_at.replace(tzinfo=UTC)
        paid_on = paid_at.astimezone(tz).date()
        days = max(0, (paid_on - issued).days)
        rows.append(
            Collected(iid, number, site, member, issued, paid_on, days, iid in after_failure)
        )
    return rows
