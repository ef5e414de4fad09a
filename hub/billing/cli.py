"""``gatehouse hub billing``: run billing and export the books.

::

    gatehouse hub billing run                      # issue and charge what is due now
    gatehouse hub billing export --from 2026-01-01 --to 2026-01-31 --out exports/2026-01

Settings come from ``GATEHOUSE_*`` variables (database, gateway, clock, mail).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Run billing and export the books.", no_args_is_help=True)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


@app.command("run")
def run_command(
    batch_size: int = typer.Option(1000, min=1, max=10000, help="subscriptions per transaction"),
    emails: bool = typer.Option(True, help="email the invoices issued"),
) -> None:
    """Issue every invoice that is due by the hub's clock and charge it."""
    from hub.billing.mail import send_invoice_emails
    from hub.billing.run import run_billing
    from hub.billing.services import BillingServices
    from hub.clock.manual import clock_for
    from hub.core.config import get_settings
    from hub.core.db import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    clock = clock_for(settings, engine)
    services = BillingServices.from_settings(settings, clock=clock)
    try:
        report = run_billing(engine=engine, settings=settings, clock=clock,
                             gateway=services.gateway, batch_size=batch_size)  # fmt: skip
        typer.echo(
            f"issued {report.invoices_issued}, charged {report.charges_sent}: "
            f"{report.paid} paid, {report.failed} failed, {report.unknown} to retry, "
            f"{report.cases_opened} dunning cases opened"
        )
        if emails:
            sent = send_invoice_emails(engine=engine, settings=settings,
                                       mailer=services.mailer, clock=clock)  # fmt: skip
            typer.echo(f"emailed {sent} invoices")
    finally:
        services.close()
        engine.dispose()


@app.command("export")
def export_command(
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last day (included), YYYY-MM-DD")],
    out: Annotated[Path, typer.Option("--out", help="folder for the CSV files")],
) -> None:
    """Write invoices, invoice lines and payments issued in a period as CSV."""
    from hub.billing.export import export_accounting
    from hub.billing.money import format_minor
    from hub.billing.run import open_session
    from hub.core.config import get_settings
    from hub.core.db import make_engine

    first, last = _day(start), _day(end)
    if last < first:
        raise typer.BadParameter(f"--to {last} is before --from {first}")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with open_session(engine, settings) as session:
            summary = export_accounting(session, start=first, end=last, out=out)
    finally:
        engine.dispose()
    typer.echo(f"{summary.invoices} invoices, {summary.payments} payments -> {out}")
    for currency, totals in summary.reconciliation.totals.items():
        typer.echo(
            f"{currency}: invoiced {format_minor(totals.invoiced, currency)}, "
            f"VAT {format_minor(totals.tax, currency)}, "
            f"collected {format_minor(totals.collected, currency)}, "
            f"outstanding {format_minor(totals.outstanding, currency)}"
        )
    if summary.reconciliation.balanced:
        typer.echo("reconciled: every payment matches its invoice")
    else:
        typer.echo("does not reconcile within the period:")
        for line in summary.reconciliation.mismatches:
            typer.echo(f"  {line}")
