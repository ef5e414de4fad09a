"""Billing in the web console: plans and prices, invoices (void, refund, paid at the
desk, written off, printable), money reports, dashboard tiles and the member page's
billing section.

:func:`install` plugs them into an app whose console is mounted (``hub.app`` does)::

    app = create_app(settings)    # mounts the console, then install(app)

=================  ==============================================================
module             what lives there
=================  ==============================================================
``forms``          prices in major units, VAT in percent, plan form messages
``plans``          ``/console/plans``: list, new, edit, archive
``invoices``       ``/console/invoices``: list, detail, actions, print
``reports``        ``/console/reports/billing`` and its CSV files
``tiles``          MRR, failed payments open, recovered this month
``panel``          the member page's invoices and payments
``desk_pay``       cash or a transfer taken at the front desk (all or part)
``locales/``,      Thai and English words; the pages' templates
``templates/``
=================  ==============================================================
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hub.billing.console import desk_pay, invoices, plans, reports
from hub.billing.console.panel import member_billing
from hub.billing.console.tiles import billing_tiles
from hub.console import extend_console
from hub.console.nav import NavEntry
from hub.console.permissions import Perm
from hub.console.tiles import TileSource

HERE = Path(__file__).resolve().parent
LOCALES = HERE / "locales"
TEMPLATES = HERE / "templates"

NAV = (
    NavEntry("nav.invoices", "/console/invoices", Perm.BILLING_VIEW, 40),
    NavEntry("nav.plans", "/console/plans", Perm.BILLING_VIEW, 45),
)


def install(app: FastAPI) -> None:
    """Add the billing pages, words, templates, tiles, navigation and member section."""
    extend_console(
        app,
        routers=(plans.router, invoices.router, reports.router, desk_pay.router),
        locale_dirs=(LOCALES,),
        template_dirs=(TEMPLATES,),
        tiles=(TileSource(Perm.BILLING_VIEW, billing_tiles, 20),),
        nav=NAV,
        member_panels=(member_billing,),
    )
