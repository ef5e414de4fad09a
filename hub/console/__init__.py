"""The hub's web console: server-rendered pages for owners, managers, front desk and
installers, under ``/console`` of the hub's own app (no CDN, no build step).

:func:`mount_console` adds it to an app (``hub.app.create_app`` does), and
:func:`extend_console` plugs in more pages, words, templates, tiles and navigation::

    app = create_app(settings)           # /console is there
    extend_console(app, routers=(invoices.router,), locale_dirs=(BILLING_LOCALES,),
                   template_dirs=(BILLING_TEMPLATES,),
                   tiles=(TileSource(Perm.BILLING_VIEW, billing_tiles, 20),),
                   nav=(NavEntry("nav.invoices", "/console/invoices", Perm.BILLING_VIEW, 40),))

=====================  ==========================================================
module                 what lives there
=====================  ==========================================================
``permissions``        roles -> permissions (the table every route checks)
``deps``               the viewer of a page, ``need(perm)``, CSRF check
``sessions``           server-side sessions behind a signed cookie
``throttle``, ``totp`` login rate limit and lockout; the optional second factor
``i18n``, ``locales/`` Thai and English catalogs
``web``                per-app parts and ``render`` (names every template gets)
``nav``, ``tiles/``    navigation entries; dashboard tile providers
``charts``, ``qr``     inline SVG charts and QR codes
``attendance``         check-ins per hour, day and member
``enroll``             enroll taps kept for the member page's polling
``routes/``            one module per area of pages
``templates/``,        Jinja2 templates (``base.html`` is the layout) and the CSS
``static/``            and script the pages use
=====================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hub.console.deps import Forbidden, LoginRequired, MemberPanel, PageNotFound
from hub.console.i18n import LOCALES, Catalog
from hub.console.nav import NAV, NavEntry
from hub.console.routes import console_router
from hub.console.tiles import TileSource, default_tiles
from hub.console.web import STATIC, TEMPLATES, Console, console_of, make_templates, render

__all__ = ["extend_console", "mount_console"]


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return request.method in ("GET", "HEAD") and not path.endswith((".json", ".csv"))


def mount_console(
    app: FastAPI,
    *,
    routers: Iterable[APIRouter] = (),
    locale_dirs: Iterable[Path] = (),
    template_dirs: Iterable[Path] = (),
    tiles: Iterable[TileSource] = (),
    nav: Iterable[NavEntry] = (),
) -> Console:
    """Serve the console from *app* (pages, static files, error pages).

    The keyword arguments are those of :func:`extend_console`.
    """
    if getattr(app.state, "console", None) is not None:
        raise RuntimeError("the console is already mounted on this app")
    console = Console(
        catalog=Catalog.load([LOCALES]),
        templates=make_templates([TEMPLATES]),
        nav=NAV,
        tiles=default_tiles(),
    )
    app.state.console = console
    app.include_router(console_router())
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    _add_error_pages(app)
    app.middleware("http")(_security_headers)
    extend_console(
        app, routers=routers, locale_dirs=locale_dirs, template_dirs=template_dirs, tiles=tiles,
        nav=nav,
    )  # fmt: skip
    return console


def extend_console(
    app: FastAPI,
    *,
    routers: Iterable[APIRouter] = (),
    locale_dirs: Iterable[Path] = (),
    template_dirs: Iterable[Path] = (),
    tiles: Iterable[TileSource] = (),
    nav: Iterable[NavEntry] = (),
    member_panels: Iterable[MemberPanel] = (),
) -> Console:
    """Add pages, words, templates, dashboard tiles and navigation to a mounted console.

    :param routers: ``APIRouter``s of pages, mounted under ``/console`` (their routes
        take the viewer through :func:`hub.console.deps.need`).
    :param locale_dirs: folders with more ``en.json`` / ``th.json`` messages.
    :param template_dirs: folders of templates (searched before the console's own, so
        they can extend ``base.html`` and use ``macros.html``).
    :param tiles: more dashboard tile sources.
    :param nav: more navigation entries.
    :param member_panels: more sections of the member page (:data:`MemberPanel`).
    """
    console = console_of_app(app)
    routers, locale_dirs, template_dirs = list(routers), list(locale_dirs), list(template_dirs)
    for router in routers:
        app.include_router(router, prefix="/console", include_in_schema=False)
    if locale_dirs:
        console.locale_dirs = (*console.locale_dirs, *locale_dirs)
        console.catalog = Catalog.load(console.locale_dirs)
    if template_dirs:
        console.template_dirs = (*template_dirs, *console.template_dirs)
        console.templates = make_templates(console.template_dirs)
    console.tiles = (*console.tiles, *tiles)
    console.nav = (*console.nav, *nav)
    console.member_panels = (*console.member_panels, *member_panels)
    return console


def console_of_app(app: FastAPI) -> Console:
    """The console mounted on *app*."""
    console = getattr(app.state, "console", None)
    if console is None:
        raise RuntimeError("mount_console(app) first")
    return console  # type: ignore[no-any-return]


#: Sent with every console answer: no framing, no foreign scripts or styles, no sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


async def _security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    if request.url.path == "/console" or request.url.path.startswith("/console/"):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/console/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
    return response


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_page(request):
            target = "/console/login/totp" if exc.second_factor else "/console/login"
            if not exc.second_factor:
                here = request.url.path
                if request.url.query:
                    here += "?" + request.url.query
                target += "?next=" + quote(here, safe="/")
            return RedirectResponse(target, status_code=303)
        return JSONResponse({"detail": "sign in first"}, status_code=401)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error_page(request, 403, "csrf" if exc.reason == "csrf" else "forbidden")

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, _exc: PageNotFound) -> Response:
        return _error_page(request, 404, "not_found")


def _error_page(request: Request, status_code: int, kind: str) -> Response:
    if request.url.path.endswith(".json"):
        return JSONResponse({"detail": kind}, status_code=status_code)
    console = console_of(request)
    lang = request.cookies.get("gh_lang")
    t = console.catalog.translator(lang)
    response: HTMLResponse = render(request, "error.html", t=t, status_code=status_code, kind=kind)
    return response
