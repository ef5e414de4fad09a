"""The hub core's dashboard tiles: members, check-ins today, gates online."""

from __future__ import annotations

from sqlmodel import col, func, select

from hub.console.attendance import count_checkins
from hub.console.permissions import Perm
from hub.console.tiles import DashboardContext, Tile
from hub.models import Gate, Member, MemberStatus


def member_tiles(ctx: DashboardContext) -> list[Tile]:
    """Active members (and how many are suspended)."""
    counts = dict(
        ctx.db.exec(select(Member.status, func.count()).group_by(Member.status)).all()  # type: ignore[arg-type]
    )
    active = counts.get(MemberStatus.ACTIVE.value, 0)
    suspended = counts.get(MemberStatus.SUSPENDED.value, 0)
    return [
        Tile(
            "active_members",
            ctx.t("tile.active_members"),
            f"{active:,}",
            ctx.t("tile.suspended_n", n=suspended) if suspended else "",
            "/console/members?status=active",
        )
    ]


def checkin_tiles(ctx: DashboardContext) -> list[Tile]:
    """Visits today (doors opened) and refusals today."""
    site_id = ctx.site.id if ctx.site else None
    start, end = ctx.day_start, ctx.day_end
    allowed = count_checkins(ctx.db, start=start, end=end, site_id=site_id, allowed=True)
    denied = count_checkins(ctx.db, start=start, end=end, site_id=site_id, allowed=False)
    return [
        Tile(
            "checkins_today",
            ctx.t("tile.checkins_today"),
            f"{allowed:,}",
            ctx.t("tile.denied_n", n=denied) if denied else "",
            "/console/checkins",
            "good" if allowed else "neutral",
        )
    ]


def gate_tiles(ctx: DashboardContext) -> list[Tile]:
    """Gates online out of all (offline ones make the tile a warning)."""
    q = select(Gate.online, func.count()).group_by(col(Gate.online))
    if ctx.site is not None:
        q = q.where(Gate.site_id == ctx.site.id)
    counts = dict(ctx.db.exec(q).all())  # type: ignore[arg-type]
    online, offline = counts.get(True, 0), counts.get(False, 0)
    return [
        Tile(
            "gates_online",
            ctx.t("tile.gates_online"),
            f"{online} / {online + offline}",
            ctx.t("tile.offline_n", n=offline) if offline else ctx.t("tile.all_online"),
            "/console/gates" if ctx.viewer.can(Perm.GATES_VIEW) else None,
            "bad" if offline else ("good" if online else "neutral"),
        )
    ]
