"""The hub's web console: server-rendered pages for owners, managers, front desk and
installers, under ``/console`` of the hub's own app (no CDN, no build step).

:func:`mount_console` adds it to an app (``hub.app.create_app`` does)::

    app = create_app(settings)           # /console is there
    # later parts plug in their own pages, words, tiles and navigation:
    mount_console(app, routers=(invoices.router,), locale_dirs=(BILLING_LOCALES,),
                  tiles=(TileSource(Perm.BILLING_VIEW, billing_tiles, 20),),
                  nav=(NavEntry("nav.invoices", "/console/invoices", Perm.BILLING_VIEW, 40),),
                  template_dirs=(BILLING_TEMPLATES,))

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

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hub.console.deps import Forbidden, LoginRequired, PageNotFound
from hub.console.i18n import LOCALES, Catalog
from hub.console.nav import NAV, NavEntry
from hub.console.routes import console_router
from hub.console.tiles import TileSource, default_tiles
from hub.console.web import STATIC, TEMPLATES, Console, console_of, make_templates, render

__all__ = ["mount_console"]


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return request.method in ("GET", "HEAD") and not path.endswith((".json", ".csv"))


def mount_console(
    app: FastAPI,
    *,
    routers: Iterable[object] = (),
    locale_dirs: Iterable[Path] = (),
    template_dirs: Iterable[Path] = (),
    tiles: Iterable[TileSource] = (),
    nav: Iterable[NavEntry] = (),
) -> Console:
    """Serve the console from *app* (pages, static files, error pages).

    :param routers: more ``APIRouter``s of console pages (mounted under ``/console``).
    :param locale_dirs: folders with more ``en.json`` / ``th.json`` messages.
    :param template_dirs: folders with more templates (searched before the console's).
    :param tiles: more dashboard tile sources.
    :param nav: more navigation entries.
    """
    if getattr(app.state, "console", None) is not None:
        raise RuntimeError("the console is already mounted on this app")
    console = Console(
        catalog=Catalog.load([LOCALES, *locale_dirs]),
        templates=make_templates([*template_dirs, TEMPLATES]),
        nav=(*NAV, *nav),
        tiles=(*default_tiles(), *tiles),
    )
    app.state.console = console
    app.include_router(console_router(tuple(routers)))  # type: ignore[arg-type]
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_page(request):
            target = "/console/login/totp" if exc.second_factor else "/console/login"
            if not exc.second_factor:
                from urllib.parse import quote

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

    return console


def _error_page(request: Request, status_code: int, kind: str) -> Response:
    if request.url.path.endswith(".json"):
        return JSONResponse({"detail": kind}, status_code=status_code)
    console = console_of(request)
    lang = request.cookies.get("gh_lang")
    t = console.catalog.translator(lang)
    response: HTMLResponse = render(request, "error.html", t=t, status_code=status_code, kind=kind)
    return response
