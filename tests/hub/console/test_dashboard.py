"""The dashboard: tiles, today's hours and the last 30 days in the site's time zone,
the live refresh, and tile providers plugged in later (billing's MRR and the like)."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.console import extend_console
from hub.console.permissions import Perm
from hub.console.tiles import DashboardContext, Tile, TileSource
from hub.models import Role
from tests.hub.console.conftest import Console

# The fixture's clock reads 2026-12-01 09:00 UTC: 16:00 in Bangkok (the site's zone).


def _utc(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _name(console: Console) -> str:
    return f"{console.member.first_name} {console.member.last_name}"


def _seed(console: Console) -> None:
    console.add_checkin(_utc(1, 2, 30), member=console.member)  # 09:30 Bangkok
    console.add_checkin(_utc(1, 8, 10), member=console.member)  # 15:10
    console.add_checkin(_utc(1, 8, 0), allowed=False)  # a refused card
    console.add_checkin(_utc(30, 16, 59, month=11), member=console.member)  # 23:59 yesterday
    console.add_checkin(_utc(1, 17, 0))  # 00:00 tomorrow (a gate clock ahead)


def test_tiles_and_charts_count_the_sites_today(console: Console) -> None:
    _seed(console)
    client = console.client(Role.MANAGER)
    page = client.get("/console/dashboard").text
    assert 'id="tile-checkins_today"' in page
    tile = page.split('id="tile-checkins_today"')[1].split("</a>")[0]
    assert '<div class="value">2</div>' in tile and "1 refused" in tile
    members = page.split('id="tile-active_members"')[1].split("</a>")[0]
    assert '<div class="value">1</div>' in members
    gates = page.split('id="tile-gates_online"')[1].split("</a>")[0]
    assert "0 / 1" in gates and "1 offline" in gates and "tile bad" in page
    hourly = page.split('id="live-hourly"')[1].split("</svg>")[0]
    assert "<title>09: 1</title>" in hourly and "<title>15: 1</title>" in hourly
    assert "<title>23: 0</title>" in hourly and "<title>00: 0</title>" in hourly
    assert "<title>30: 1</title>" in page and "<title>1: 2</title>" in page  # 30-day chart
    assert _name(console) in page.split('id="live-recent"')[1]


def test_live_refresh_sees_a_new_tap(console: Console) -> None:
    client = console.client(Role.FRONT_DESK)
    before = client.get("/console/dashboard/live.json").json()
    assert before["tiles"]["checkins_today"]["value"] == "0"
    console.add_checkin(_utc(1, 8, 59), member=console.member)
    after = client.get("/console/dashboard/live.json")
    assert after.headers["cache-control"] == "no-store"
    body = after.json()
    assert body["tiles"]["checkins_today"]["value"] == "1"
    recent = body["fragments"]["recent"]
    assert _name(console) in recent and "Admitted" in recent
    assert "<title>15: 1</title>" in body["fragments"]["hourly"]


def test_front_desk_sees_no_gate_link_and_installers_no_dashboard(console: Console) -> None:
    page = console.client(Role.FRONT_DESK).get("/console/dashboard").text
    assert 'href="/console/gates"' not in page and 'id="tile-gates_online"' in page
    assert console.client(Role.INSTALLER).get("/console/dashboard").status_code == 403


def _billing_tiles(ctx: DashboardContext) -> list[Tile]:
    return [Tile("mrr", ctx.t("tile.mrr"), "฿123,400.00", tone="good")]


def _broken_tiles(ctx: DashboardContext) -> list[Tile]:
    raise RuntimeError("the billing tables are not there")


def test_tile_providers_plug_in_by_permission_and_failures_stay_contained(console: Console) -> None:
    extend_console(
        console.app,  # type: ignore[arg-type]
        tiles=(TileSource(Perm.BILLING_VIEW, _billing_tiles, 20),
               TileSource(Perm.DASHBOARD, _broken_tiles, 90)),
    )  # fmt: skip
    manager = console.client(Role.MANAGER)
    page = manager.get("/console/dashboard").text
    assert "Monthly recurring revenue" in page and "฿123,400.00" in page
    assert page.index('id="tile-active_members"') < page.index('id="tile-mrr"')
    assert page.index('id="tile-mrr"') < page.index('id="tile-checkins_today"')
    assert "Unavailable" in page  # the broken provider, without breaking the page
    assert (
        manager.get("/console/dashboard/live.json").json()["tiles"]["mrr"]["value"] == "฿123,400.00"
    )
    front = console.client(Role.FRONT_DESK).get("/console/dashboard").text
    assert "Monthly recurring revenue" not in front
