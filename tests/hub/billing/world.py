"""A small club for billing tests: a site, plans, members with cards and saved methods,
the simulated gateway, and the billing run wired to them."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from gatehouse.clock import ManualClock
from hub.billing.methods import attach_payment_method
from hub.billing.run import RunReport, open_session, run_billing
from hub.billing.simulated_gateway import SimulatedGateway
from hub.billing.sitetime import site_today
from hub.billing.subscriptions import subscribe
from hub.core.config import Settings
from hub.models import Card, Member, Plan, Site, Subscription
from hub.models.site import SiteCreate
from hub.services.sites import create_site

_n = itertools.count(1)


class World:
    """Rows and services of one test club; every helper commits."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: ManualClock,
        tmp: Path,
        gateway: SimulatedGateway | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.gateway = gateway or SimulatedGateway(tmp / "gateway.sqlite3", clock=clock)

    def session(self) -> Session:
        return open_session(self.engine, self.settings)

    def site(self, slug: str = "club1", timezone: str = "Asia/Bangkok") -> Site:
        with self.session() as s:
            site = create_site(
                s,
                data=SiteCreate(slug=slug, name=slug.title(), timezone=timezone),
                clock=self.clock,
            )
            s.commit()
            return site

    def plan(self, site: Site, **terms: Any) -> Plan:
        values: dict[str, Any] = {
            "name": "Gold",
            "price_minor": 107000,
            "currency": "THB",
            "tax_rate_bp": 700,
            "tax_inclusive": True,
        }
        values.update(terms)
        with self.session() as s:
            plan = Plan(site_id=site.id or 0, created_at=self.clock.now(), **values)
            s.add(plan)
            s.commit()
            return plan

    def member(
        self, card_number: str | None = "4242424242424242", email: str | None = None
    ) -> Member:
        n = next(_n)
        now = self.clock.now()
        with self.session() as s:
            m = Member(
                first_name="Member",
                last_name=str(n),
                email=email or f"m{n}@example.com",
                created_at=now,
                updated_at=now,
            )
            s.add(m)
            s.flush()
            s.add(Card(member_id=m.id or 0, uid_hex=f"04{n:012x}", created_at=now))
            if card_number:
                attach_payment_method(
                    s, member=m, gateway=self.gateway, source=card_number, clock=self.clock
                )
            s.commit()
            return m

    def today(self, site: Site) -> date:
        return site_today(self.clock.now(), site.timezone)

    def subscribe(self, member: Member, plan: Plan, start_on: date | None = None) -> Subscription:
        with self.session() as s:
            site = s.get(Site, plan.site_id)
            assert site is not None
            sub = subscribe(
                s, member=member, plan=plan, clock=self.clock, start_on=start_on or self.today(site)
            )
            s.commit()
            return sub

    def run(self, **kwargs: Any) -> RunReport:
        return run_billing(
            engine=self.engine,
            settings=self.settings,
            clock=self.clock,
            gateway=self.gateway,
            **kwargs,
        )

    def all(self, model: type, *where: Any) -> list[Any]:
        with self.session() as s:
            return list(s.exec(select(model).where(*where)))

    def get(self, model: type, ident: int) -> Any:
        with self.session() as s:
            return s.get(model, ident)
