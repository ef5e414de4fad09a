"""The console's per-app parts (catalog, templates, navigation, tiles, enroll taps)
and :func:`render`, which every page goes through.

``render`` gives each template the same names::

    t           translator in the viewer's language: {{ t("nav.members") }}
    lang        "en" or "th"
    viewer      the signed-in user (:class:`~hub.console.deps.Viewer`), or None
    nav         the navigation entries the viewer may open
    csrf_token  the session's form token: {{ csrf() }} writes the hidden field
    tz          the time zone pages show times in
    fmt         helpers: fmt.dt(at), fmt.date(at), fmt.ago(at), fmt.num(n), fmt.zones(mask)
    flash       a translated message after a redirect (``?msg=member_saved``)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from hub.console import formatting
from hub.console.enroll import TapLog
from hub.console.i18n import LANGUAGES, Catalog, Translator
from hub.console.nav import NavEntry
from hub.console.tiles import TileSource

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


@dataclass
class Console:
    """What one hub app's console is made of (``app.state.console``)."""

    catalog: Catalog
    templates: Jinja2Templates
    nav: tuple[NavEntry, ...]
    tiles: tuple[TileSource, ...]
    taps: TapLog = field(default_factory=TapLog)
    member_panels: tuple[Any, ...] = ()
    locale_dirs: tuple[Path, ...] = (HERE / "locales",)
    template_dirs: tuple[Path, ...] = (HERE / "templates",)


def make_templates(folders: Sequence[Path]) -> Jinja2Templates:
    """Templates from *folders* (earlier ones win), HTML-escaped by default."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=select_autoescape(["html", "xml", "svg"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def console_of(request: Request) -> Console:
    """The console of the app serving *request*."""
    return request.app.state.console  # type: ignore[no-any-return]


class Formats:
    """Formatting helpers bound to a time zone, a language and the current time."""

    def __init__(self, timezone: str, t: Translator, now: datetime) -> None:
        self.timezone = timezone
        self.t = t
        self.now = now

    def dt(self, at: datetime | None) -> str:
        return formatting.short_datetime(at, self.timezone, self.t.language)

    def date(self, at: Any) -> str:
        return formatting.short_date(at, self.timezone, self.t.language)

    def time(self, at: datetime | None) -> str:
        return formatting.clock_time(at, self.timezone)

    def when(self, at: datetime | None) -> str:
        """The time alone for today (site time), else date and time."""
        if at is None:
            return ""
        same_day = (
            formatting.local(at, self.timezone).date()
            == formatting.local(self.now, self.timezone).date()
        )
        return self.time(at) if same_day else self.dt(at)

    def ago(self, at: datetime | None) -> str:
        return formatting.ago(at, self.now, self.t)

    def num(self, value: int) -> str:
        return formatting.number(value)

    def zones(self, mask: int) -> str:
        """``0b101`` → ``'0, 2'``."""
        return ", ".join(str(z) for z in range(16) if mask & (1 << z))


def render(
    request: Request,
    template: str,
    *,
    viewer: Any = None,
    t: Translator | None = None,
    timezone: str = "UTC",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a console page with the names every template uses (module docs)."""
    console = console_of(request)
    if t is None:
        t = viewer.t if viewer is not None else console.catalog.translator("en")
    nav = []
    if viewer is not None:
        nav = sorted((e for e in console.nav if viewer.can(e.perm)), key=lambda e: e.order)
    csrf_token = viewer.csrf_token if viewer is not None else context.pop("csrf_token", "")
    msg = request.query_params.get("msg", "")
    flash = t(f"flash.{msg}") if msg and t.has(f"flash.{msg}") else ""

    def csrf() -> Markup:
        return Markup(f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">')

    now = request.app.state.clock.now()
    base = {
        "t": t,
        "lang": t.language,
        "languages": LANGUAGES,
        "viewer": viewer,
        "nav": nav,
        "path": request.url.path,
        "csrf_token": csrf_token,
        "csrf": csrf,
        "tz": timezone,
        "fmt": Formats(timezone, t, now),
        "now": now,
        "flash": flash,
    }
    base.update(context)
    return console.templates.TemplateResponse(request, template, base, status_code=status_code)
