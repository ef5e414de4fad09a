"""The console's pages, one module per area; :data:`console_router` mounts them all under
``/console`` (kept out of the OpenAPI document).

A new area (invoices, plans, dunning) adds its module to :data:`ROUTE_MODULES`, or
passes its router to :func:`hub.console.extend_console` (``routers=``).  Every route must
take its viewer through :func:`hub.console.deps.need` — the route-walking test fails for
a route that does not.
"""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.console.routes import (
    account,
    audit,
    auth,
    checkins,
    dashboard,
    gates,
    member_cards,
    members,
    reports,
    users,
)

ROUTE_MODULES = (
    auth,
    account,
    dashboard,
    members,
    member_cards,
    checkins,
    gates,
    reports,
    audit,
    users,
)


def console_router() -> APIRouter:
    """Every console page under ``/console``."""
    router = APIRouter(prefix="/console", include_in_schema=False)
    router.add_api_route("", auth.console_home, methods=["GET"], response_class=HTMLResponse)
    for module in ROUTE_MODULES:
        router.include_router(module.router)
    return router
