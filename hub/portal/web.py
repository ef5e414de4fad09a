"""The portal's per-app parts (catalog, templates) and :func:`render`, which every
portal page goes through.

``render`` gives each template the same names::

    t           translator in the member's language: {{ t("portal.home.title") }}
    lang        "en" or "th"
    languages   {"en": "English", "th": "ไทย"}
    member      the signed-in member, or None
    csrf()      writes the hidden form-token field
    fmt         fmt.date(day), fmt.dt(at), fmt.num(n) in the club's time zone
    money       money(amount, currency) -> "THB 1,070.00"
    flash       a translated message after a redirect (``?msg=card_saved``)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from hub.billing.money import format_minor
from hub.console.i18n import LANGUAGES, LOCALES, Catalog, Translator
from hub.console.web import Formats, make_templates

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PORTAL_LOCALES = HERE / "locales"


@dataclass
class Portal:
    """What one hub app's portal is made of (``app.state.portal``)."""

    catalog: Catalog
    templates: Jinja2Templates

    @classmethod
    def build(cls) -> Portal:
        """The portal's words (the console's common ones, then its own) and templates."""
        return cls(Catalog.load([LOCALES, PORTAL_LOCALES]), make_templates([TEMPLATES]))


def portal_of(request: Request) -> Portal:
    """The portal of the app serving *request*."""
    return request.app.state.portal  # type: ignore[no-any-return]


def money(amount: int, currency: str) -> str:
    """``money(107000, "THB") == "THB 1,070.00"``."""
    return format_minor(amount, currency, grouping=True, with_code=True)


def render(
    request: Request,
    template: str,
    *,
    t: Translator,
    member: Any = None,
    csrf_token: str = "",
    timezone: str = "UTC",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a portal page with the names every template uses (module docs)."""
    portal = portal_of(request)
    msg = request.query_params.get("msg", "")
    flash = t(f"portal.flash.{msg}") if msg and t.has(f"portal.flash.{msg}") else ""

    def csrf() -> Markup:
        return Markup(f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">')

    now = request.app.state.clock.now()
    base = {
        "t": t,
        "lang": t.language,
        "languages": LANGUAGES,
        "member": member,
        "path": request.url.path,
        "csrf_token": csrf_token,
        "csrf": csrf,
        "fmt": Formats(timezone, t, now),
        "money": money,
        "now": now,
        "flash": flash,
    }
    base.update(context)
    return portal.templates.TemplateResponse(request, template, base, status_code=status_code)
