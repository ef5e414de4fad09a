"""Small builders for hub rows in tests: ``make.site()``, ``make.member()``, ..."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlmodel import Session

from gatehouse.clock import ManualClock
from hub.access.changes import access_changed
from hub.models import Card, Door, Entitlement, Member, Schedule, Site
from hub.models.site import SiteCreate
from hub.services.sites import create_site

_n = itertools.count(1)


class Factory:
    """Adds rows through *session*; each method flushes so ids are set."""

    def __init__(self, session: Session, clock: ManualClock) -> None:
        self.session = session
        self.clock = clock

    def site(self, slug: str = "club1", timezone: str = "Asia/Bangkok") -> Site:
        return create_site(
            self.session,
            data=SiteCreate(slug=slug, name=slug.title(), timezone=timezone),
            clock=self.clock,
        )

    def door(self, site: Site, name: str = "Front door", zone: int = 0) -> Door:
        door = Door(site_id=site.id or 0, name=name, zone=zone)
        self.session.add(door)
        self.session.flush()
        return door

    def schedule(self, site: Site, number: int, windows: list[list[int]]) -> Schedule:
        row = Schedule(site_id=site.id or 0, number=number, name=f"s{number}", windows=windows)
        self.session.add(row)
        self.session.flush()
        return row

    def member(self, status: str = "active") -> Member:
        n = next(_n)
        now = self.clock.now()
        m = Member(
            first_name="Member",
            last_name=str(n),
            email=f"m{n}@example.com",
            status=status,
            created_at=now,
            updated_at=now,
        )
        self.session.add(m)
        self.session.flush()
        return m

    def card(self, member: Member, uid: str | None = None, active: bool = True) -> Card:
        uid = uid or f"04{next(_n):012x}"
        card = Card(
            member_id=member.id or 0, uid_hex=uid, active=active, created_at=self.clock.now()
        )
        self.session.add(card)
        self.session.flush()
        return card

    def entitlement(
        self,
        member: Member,
        site: Site,
        *,
        zones: int = 1,
        days: float | None = 30,
        start: datetime | None = None,
        schedule: Schedule | None = None,
        flags: int = 0,
        source: str = "manual",
    ) -> Entitlement:
        now = self.clock.now()
        begin = start or now - timedelta(days=1)
        ent = Entitlement(
            member_id=member.id or 0,
            site_id=site.id or 0,
            zones=zones,
            schedule_id=schedule.id if schedule else None,
            valid_from=begin,
            valid_until=None if days is None else now + timedelta(days=days),
            source=source,
            flags=flags,
            created_at=now,
            updated_at=now,
        )
        self.session.add(ent)
        self.session.flush()
        return ent

    def changed(self, site: Site, **kwargs: object) -> int:
        version = access_changed(
            self.session,
            site_id=site.id or 0,
            reason="test",
            clock=self.clock,
            **kwargs,  # type: ignore[arg-type]
        )
        self.session.commit()
        return version
