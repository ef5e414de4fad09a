"""The portal's pages, one module per area; :func:`portal_router` mounts them all under
``/portal`` (kept out of the OpenAPI document).

Every signed-in page takes its member through :data:`hub.portal.deps.MemberDep`
(session cookie, CSRF on POST); the sign-in pages and pay links check a form token of
their own.
"""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hub.portal.routes import auth, freeze, invoices, methods, pages, paylink

ROUTE_MODULES = (auth, pages, invoices, methods, freeze, paylink)


def portal_router() -> APIRouter:
    """Every portal page under ``/portal``."""
    router = APIRouter(prefix="/portal", include_in_schema=False)
    router.add_api_route("", auth.portal_home, methods=["GET"], response_class=HTMLResponse)
    for module in ROUTE_MODULES:
        router.include_router(module.router)
    return router
