"""The staff side of the portal, plugged into the console with
:func:`hub.console.extend_console`: the members' freeze requests, to approve (the
subscription is frozen with :func:`hub.billing.subscriptions.freeze_subscription`) or
decline.  Owners and managers see it (``billing.view``; deciding needs
``billing.manage``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hub.console import extend_console
from hub.console.nav import NavEntry
from hub.console.permissions import Perm

HERE = Path(__file__).resolve().parent


def extend_with_portal(app: FastAPI) -> None:
    """Add the freeze-request pages to the console mounted on *app*."""
    from hub.portal.console.freeze_requests import router

    extend_console(
        app,
        routers=(router,),
        locale_dirs=(HERE / "locales",),
        template_dirs=(HERE / "templates",),
        nav=(NavEntry("nav.freeze_requests", "/console/freeze-requests", Perm.BILLING_VIEW, 75),),
    )
