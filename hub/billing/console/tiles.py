"""The dashboard's money tiles: recurring revenue, failed payments still open, and what
was recovered this month (payments for invoices whose charge had failed)."""

from __future__ import annotations

from hub.billing import figures
from hub.billing.money import format_minor
from hub.console.tiles import DashboardContext, Tile


def _money(amounts: dict[str, int]) -> str:
    """``'THB 21,400.00'``; several currencies joined, ``'0'`` for none."""
    if not amounts:
        return "0"
    return " · ".join(
        format_minor(v, c, grouping=True, with_code=True) for c, v in sorted(amounts.items())
    )


def billing_tiles(ctx: DashboardContext) -> list[Tile]:
    """MRR, failed payments open, recovered this month (site time)."""
    site_id = ctx.site.id if ctx.site else None
    mrr = figures.monthly_recurring_revenue(ctx.db, site_id=site_id)
    failures = figures.open_failures(ctx.db, site_id=site_id)
    today = ctx.day_start.astimezone(figures.ZoneInfo(ctx.timezone)).date()
    month = figures.month_start(today)
    start = figures.local_midnight(month, ctx.timezone)
    end = figures.local_midnight(figures.add_months(month, 1), ctx.timezone)
    recovered = figures.recovered_between(ctx.db, start, end, site_id=site_id)
    return [
        Tile("mrr", ctx.t("tile.mrr"), _money(mrr), ctx.t("tile.mrr_detail"),
             "/console/reports/billing"),
        Tile("failed_open", ctx.t("tile.failed_open"), f"{failures.count:,}",
             _money(failures.amounts) if failures.count else ctx.t("tile.none_failed"),
             "/console/invoices?status=open", "bad" if failures.count else "good"),
        Tile("recovered_month", ctx.t("tile.recovered_month"), _money(recovered.amounts),
             ctx.t("tile.recovered_n", n=recovered.count), "/console/reports/billing",
             "good" if recovered.count else "neutral"),
    ]  # fmt: skip
