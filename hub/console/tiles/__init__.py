"""Dashboard tiles: small numbers with a label, each from a provider function.

A provider takes the :class:`DashboardContext` and returns tiles; a
:class:`TileSource` pairs it with the permission a viewer needs to see them.  The
dashboard shows the tiles of every source the viewer may see, in order, and refreshes
their values every few seconds (``/console/dashboard/live.json``)::

    def billing_tiles(ctx: DashboardContext) -> list[Tile]:
        mrr = monthly_recurring_revenue(ctx.db, at=ctx.now)
        return [Tile("mrr", ctx.t("tile.mrr"), format_amount(mrr, "THB", ctx.t.language))]

    TileSource(Perm.BILLING_VIEW, billing_tiles, order=20)

Pass extra sources to :func:`hub.console.mount_console` (``tiles=``) or add them to
:data:`DEFAULT_TILES`.  A provider that fails shows its tile as unavailable rather
than breaking the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlmodel import Session

from hub.console.i18n import Translator
from hub.console.permissions import Perm
from hub.models import Site

Tone = Literal["neutral", "good", "warn", "bad"]


@dataclass(frozen=True)
class Tile:
    """One number on the dashboard.

    :param key: stable id (also the element id the live refresh updates).
    :param label: translated label.
    :param value: the number, formatted.
    :param detail: a smaller line under it.
    :param href: where a click goes (a console page), or ``None``.
    :param tone: ``neutral``, ``good``, ``warn`` or ``bad``.
    """

    key: str
    label: str
    value: str
    detail: str = ""
    href: str | None = None
    tone: Tone = "neutral"


@dataclass(frozen=True)
class DashboardContext:
    """What a tile provider may use.

    :param db: a database session (read only).
    :param now: the hub clock's time.
    :param site: the site the dashboard shows (``None``: all, or none exist yet).
    :param timezone: the site's time zone (or UTC).
    :param day_start: where today starts there, as UTC; ``day_end`` where it ends.
    :param t: translator in the viewer's language.
    :param viewer: the signed-in user (``viewer.can(perm)``).
    """

    db: Session
    now: datetime
    site: Site | None
    timezone: str
    day_start: datetime
    day_end: datetime
    t: Translator
    viewer: Any


TileProvider = Callable[[DashboardContext], list[Tile]]


@dataclass(frozen=True)
class TileSource:
    """A tile provider and the permission needed to see its tiles."""

    perm: Perm
    provide: TileProvider
    order: int = 50


def _default_tiles() -> tuple[TileSource, ...]:
    from hub.console.tiles import core

    return (
        TileSource(Perm.MEMBERS_VIEW, core.member_tiles, 10),
        TileSource(Perm.CHECKINS_VIEW, core.checkin_tiles, 30),
        TileSource(Perm.DASHBOARD, core.gate_tiles, 40),
    )


def default_tiles() -> tuple[TileSource, ...]:
    """The tiles of the hub core: members, check-ins today, gates online."""
    return _default_tiles()


def collect(sources: tuple[TileSource, ...], ctx: DashboardContext) -> list[Tile]:
    """The tiles *ctx.viewer* may see, in order; a failing provider gives one
    "unavailable" tile instead of an error page."""
    tiles: list[Tile] = []
    for source in sorted(sources, key=lambda s: s.order):
        if not ctx.viewer.can(source.perm):
            continue
        try:
            tiles.extend(source.provide(ctx))
        except Exception:  # a tile must not take the dashboard down
            import logging

            logging.getLogger(__name__).exception("dashboard tile provider failed")
            name = getattr(source.provide, "__name__", "tiles")
            tiles.append(Tile(name, ctx.t("tile.unavailable"), "—", tone="warn"))
    return tiles
