"""The member portal: members look after their own billing, under ``/portal`` of the
hub's own app (server-rendered pages, Thai and English, every asset from the hub).

:func:`mount_portal` adds it to an app (``hub.app.create_app`` does)::

    app = create_app(settings)     # /console and /portal are there

Members sign in with a link emailed to them (no password); a pay link from a dunning
email (``/portal/pay/<token>``) lets them pay one invoice, or update their card,
without signing in.

=====================  ==========================================================
module                 what lives there
=====================  ==========================================================
``links``, ``mail``    sign-in links (signed, expiring, single use) and their email
``throttle``           how many links an email or an address may ask for
``sessions``           member sessions behind a signed cookie; pre-sign-in form tokens
``deps``               the member looking at a page, CSRF check, not-found
``web``                the portal's catalog and templates; ``render``
``account``            what the pages show: membership, invoices, payments, methods
``cards``              the test-card form (simulated gateway) and Stripe SetupIntents
``payments``           paying an open invoice through the billing's settlement path
``freeze``             members' freeze requests, validated, for staff to decide
``paylinks``           the hub's pay links (:class:`hub.dunning.paylink.PayLinks`)
``routes/``            one module per area of pages
``console/``           the staff side in the console: freeze requests to decide
=====================  ==========================================================
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hub.console import SECURITY_HEADERS
from hub.portal.console import extend_with_portal
from hub.portal.deps import PortalForbidden, PortalNotFound, SignInRequired, error_page
from hub.portal.routes import portal_router
from hub.portal.web import STATIC, Portal

__all__ = ["mount_portal"]


def mount_portal(app: FastAPI) -> Portal:
    """Serve the member portal from *app* (pages, static files, error pages)."""
    if getattr(app.state, "portal", None) is not None:
        raise RuntimeError("the portal is already mounted on this app")
    portal = Portal.build()
    app.state.portal = portal
    app.include_router(portal_router(), include_in_schema=False)
    app.mount("/portal/static", StaticFiles(directory=STATIC), name="portal-static")
    _add_error_pages(app)
    app.middleware("http")(_security_headers)
    if getattr(app.state, "console", None) is not None:
        extend_with_portal(app)  # staff decide freeze requests in the console
    return portal


async def _security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    path = request.url.path
    if path == "/portal" or path.startswith("/portal/"):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not path.startswith("/portal/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
    return response


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        return RedirectResponse("/portal/login", status_code=303)

    @app.exception_handler(PortalForbidden)
    async def _forbidden(request: Request, _exc: PortalForbidden) -> Response:
        return error_page(request, 403, "csrf")

    @app.exception_handler(PortalNotFound)
    async def _not_found(request: Request, _exc: PortalNotFound) -> Response:
        return error_page(request, 404, "not_found")
