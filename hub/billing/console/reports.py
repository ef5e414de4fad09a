"""Money reports: revenue by month, failed payments and how many were recovered, and
the time invoices take to be paid -- each with its chart and a ``.csv`` twin.

All take ``months`` (1-36, default 12: the months up to this one, site time) and
``site`` (a site's slug; default the first site).  Attendance reports live beside them
(:mod:`hub.console.routes.reports`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from hub.api.billing import prefixes
from hub.api.deps import SessionDep
from hub.billing import figures
from hub.billing.console.helpers import helpers
from hub.billing.console.plans import BillingViewer
from hub.billing.money import format_minor
from hub.billing.numbering import invoice_label
from hub.console.attendance import local_day
from hub.console.charts import bar_chart
from hub.console.deps import pick_site, sites
from hub.console.forms import int_param
from hub.console.routes.reports import _csv as csv_file
from hub.console.web import render
from hub.models import Site

router = APIRouter(prefix="/reports")

MAX_MONTHS = 36


@dataclass(frozen=True)
class Months:
    """The months a money report covers, in a site's time zone."""

    site: Site | None
    timezone: str
    starts: list[date]

    @property
    def site_id(self) -> int | None:
        return self.site.id if self.site else None

    def query(self) -> str:
        q = f"months={len(self.starts)}"
        return q + (f"&site={self.site.slug}" if self.site else "")

    def span(self) -> str:
        return f"{self.starts[0]:%Y-%m}-{self.starts[-1]:%Y-%m}"


def months_of(request: Request, db: Session, months: str, site: str) -> Months:
    """The months asked for (default: the 12 up to this one)."""
    chosen = pick_site(db, site[:32] or None)
    timezone = chosen.timezone if chosen else "UTC"
    today = local_day(request.app.state.clock.now(), timezone)
    count = int_param(months[:4], 12, 1, MAX_MONTHS)
    return Months(chosen, timezone, figures.month_starts(today, count))


def _major(amount: int, currency: str) -> int:
    """Whole major units (for a chart's bar heights), never negative."""
    return max(0, int(format_minor(amount, currency).split(".")[0]))


@router.get("/billing", response_class=HTMLResponse)
def billing_reports(
    request: Request, db: SessionDep, viewer: BillingViewer, months: str = "", site: str = ""
) -> HTMLResponse:
    """Revenue by month, failed payments and recovery rate, time to collect."""
    m = months_of(request, db, months, site)
    t = viewer.t
    revenue = figures.revenue_by_month(db, m.starts, m.timezone, site_id=m.site_id)
    # the chart shows the currency most money came in (a club bills in one, as a rule)
    main = max(revenue, key=lambda c: sum(r.received for r in revenue[c]), default=None)
    labels = [f"{s:%m/%y}" for s in m.starts]
    revenue_chart = None
    if main is not None:
        revenue_chart = bar_chart(
            [_major(r.net, main) for r in revenue[main]], labels,
            title=t("reports.revenue_chart", currency=main),
        )  # fmt: skip
    recovery = figures.recovery_by_month(db, m.starts, m.timezone, site_id=m.site_id)
    recovery_chart = bar_chart(
        [r.rate_percent or 0 for r in recovery], labels, title=t("reports.recovery_chart")
    )
    collect = figures.time_to_collect(db, m.starts, m.timezone, site_id=m.site_id)
    collect_chart = bar_chart(
        list(collect.buckets.values()),
        [t("reports.days_n", n=label) for label in collect.buckets],
        title=t("reports.collect_chart"),
    )
    return render(
        request, "billing/reports.html", viewer=viewer,
        **helpers(viewer.t.language), timezone=m.timezone, period=m,
        sites=sites(db), revenue=revenue, main=main, revenue_chart=revenue_chart,
        recovery=recovery, recovery_chart=recovery_chart, collect=collect,
        collect_chart=collect_chart, month_choices=(3, 6, 12, 24, 36),
    )  # fmt: skip


@router.get("/revenue-by-month.csv")
def revenue_csv(
    request: Request, db: SessionDep, viewer: BillingViewer, months: str = "", site: str = ""
) -> Response:
    """Per month and currency: invoiced, received, refunded, net (major units)."""
    m = months_of(request, db, months, site)
    revenue = figures.revenue_by_month(db, m.starts, m.timezone, site_id=m.site_id)
    rows: list[list[object]] = [
        [f"{r.month:%Y-%m}", cur, format_minor(r.invoiced, cur), format_minor(r.received, cur),
         format_minor(r.refunded, cur), format_minor(r.net, cur), r.payments]
        for cur, per in revenue.items()
        for r in per
    ]  # fmt: skip
    header = ["month", "currency", "invoiced", "received", "refunded", "net", "payments"]
    return csv_file(f"revenue-by-month-{m.span()}.csv", header, rows)


@router.get("/failed-payments.csv")
def failed_csv(
    request: Request, db: SessionDep, viewer: BillingViewer, months: str = "", site: str = ""
) -> Response:
    """Per month of failure: failed, recovered, written off, still open, recovery rate."""
    m = months_of(request, db, months, site)
    rows: list[list[object]] = []
    for r in figures.recovery_by_month(db, m.starts, m.timezone, site_id=m.site_id):
        currencies = sorted(r.failed_amount) or [""]
        for cur in currencies:
            rows.append([
                f"{r.month:%Y-%m}", r.failed, r.recovered, r.written_off, r.still_open,
                "" if r.rate_percent is None else r.rate_percent, cur,
                format_minor(r.failed_amount.get(cur, 0), cur) if cur else "",
                format_minor(r.recovered_amount.get(cur, 0), cur) if cur else "",
            ])  # fmt: skip
    header = ["month", "failed", "recovered", "written_off", "still_open", "recovery_rate_percent",
              "currency", "failed_amount", "recovered_amount"]  # fmt: skip
    return csv_file(f"failed-payments-{m.span()}.csv", header, rows)


@router.get("/time-to-collect.csv")
def collect_csv(
    request: Request, db: SessionDep, viewer: BillingViewer, months: str = "", site: str = ""
) -> Response:
    """Each invoice issued in the months and paid: issued, paid, days it took."""
    m = months_of(request, db, months, site)
    collect = figures.collected_invoices(db, m.starts, m.timezone, site_id=m.site_id)
    prefix = prefixes(db)
    rows: list[list[object]] = [
        [invoice_label(prefix.get(c.site_id), c.number), c.member_id, c.issued_on.isoformat(),
         c.paid_on.isoformat(), c.days, figures.bucket_of(c.days), "yes" if c.recovered else "no"]
        for c in collect
    ]  # fmt: skip
    header = ["invoice", "member_id", "issued_on", "paid_on", "days", "bucket", "after_failure"]
    return csv_file(f"time-to-collect-{m.span()}.csv", header, rows)
