"""The demo club: one site, two doors, three plans, a manager and about fifty members.

Every member joined last month with a saved test card, so renewals fall due in the
first days of the story.  A few members paid their first month with a good card and
then replaced it with one of the simulated gateway's decline test cards: their renewal
fails, and dunning has no other card to retry with.
One of them, the *hero*, is the member the story follows through dunning::

    club = seed_club(hub, gateway=gateway, members=50, joined=JOINED)
    club.hero.name, club.hero.uid, club.manager_email, club.manager_password

Names, cards and plans come from a fixed random seed: every run seeds the same club.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.billing.methods import attach_payment_method, detach_payment_method
from hub.billing.run import run_billing
from hub.billing.subscriptions import subscribe
from hub.models import Door, Member, PaymentMethod, Plan, Role
from hub.models.member import MemberCreate
from hub.models.site import SiteCreate
from hub.models.user import UserCreate
from hub.services.gates import provision_gate
from hub.services.members import add_card, create_member
from hub.services.sites import create_site
from hub.services.users import create_user

SITE = "riverside"
MANAGER_EMAIL = "manager@riverside.example"
MANAGER_PASSWORD = "riverside-demo"  # noqa: S105 - printed for the demo's visitor

#: (name, price in satang, grace days): a week's grace matches the policy's day-7 suspension.
PLANS = [("Gold", 159000, 7), ("Silver", 99000, 7), ("Off-peak", 69000, 7)]
GOOD_CARDS = ["4242424242424242", "5555555555554444", "378282246310005", "3566002020360505"]
#: Cards that decline at renewal: insufficient funds, then a card the issuer refuses.
DECLINING_CARDS = ["4000000000009995", "4000000000009938"]
FIRST = ["Ploy", "Somchai", "Ana", "Ben", "Nok", "Lek", "Mali", "Arthit", "Kanya", "Tom",
         "Pim", "Chai", "Dao", "Joe", "Fah", "Kai", "Noi", "Sam", "Wan", "Yui"]  # fmt: skip
LAST = ["Srisuk", "Wong", "Lima", "Carter", "Chaiyo", "Boonmee", "Tan", "Suwan", "Kaew", "Lee"]


@dataclass
class ClubMember:
    """One seeded member: who, which card UID (hex), which plan, whether renewal declines."""

    id: int
    name: str
    email: str
    uid: str
    plan: str
    declines: bool
    subscription_id: int = 0


@dataclass
class Club:
    """What :func:`seed_club` made; ``claims`` maps gate slug to its one-time claim token."""

    site_id: int
    members: list[ClubMember]
    hero: ClubMember
    claims: dict[str, str] = field(default_factory=dict)
    gate_ids: dict[str, int] = field(default_factory=dict)
    manager_email: str = MANAGER_EMAIL
    manager_password: str = MANAGER_PASSWORD

    def by_uid(self, uid: str) -> ClubMember | None:
        return next((m for m in self.members if m.uid == uid), None)


def _open_session(hub: Any) -> Session:
    session = Session(hub.engine, expire_on_commit=False)
    session.info["settings"] = hub.settings
    return session


def seed_club(
    hub: Any, *, gateway: Any, clock: Clock, members: int = 50, gates: dict[str, str]
) -> Club:
    """Fill a fresh hub database with the demo club (commits; returns a :class:`Club`).

    :param gates: ``{slug: kind}`` of the gates to provision (``pi`` or ``micropython``).
    """
    rng = random.Random(7)
    now = clock.now()
    with _open_session(hub) as s:
        site = create_site(
            s,
            data=SiteCreate(slug=SITE, name="Riverside Fitness", timezone="Asia/Bangkok"),
            clock=clock,
        )
        create_user(
            s,
            data=UserCreate(email=MANAGER_EMAIL, full_name="Mai Manager", role=Role.MANAGER,
                            password=MANAGER_PASSWORD),
            clock=clock,
        )  # fmt: skip
        plans = []
        for name, price, grace in PLANS:
            plan = Plan(site_id=site.id or 0, name=name, price_minor=price, currency="THB",
                        tax_rate_bp=700, tax_inclusive=True, grace_days=grace,
                        created_at=now)  # fmt: skip
            s.add(plan)
            plans.append(plan)
        doors = {}
        for slug in gates:
            door = Door(site_id=site.id or 0, name=slug.replace("-", " ").title(), zone=0)
            s.add(door)
            doors[slug] = door
        s.flush()
        club = Club(site_id=site.id or 0, members=[], hero=None)  # type: ignore[arg-type]
        for slug, kind in gates.items():
            gate, _claim, token = provision_gate(s, site=site, door=doors[slug], slug=slug,
                                                 kind=kind, clock=clock,
                                                 settings=hub.settings)  # fmt: skip
            club.claims[slug] = token
            club.gate_ids[slug] = gate.id or 0
        s.commit()
        switch: list[tuple[Member, str]] = []
        for i in range(members):
            first, last = FIRST[i % len(FIRST)], LAST[(i * 3 + i // len(FIRST)) % len(LAST)]
            declines = i == 0 or i % 9 == 4
            plan = plans[0] if i == 0 else rng.choice(plans)
            row = create_member(
                s,
                data=MemberCreate(first_name=first, last_name=last,
                                  email=f"{first.lower()}.{last.lower()}{i}@riverside.example"),
                clock=clock, actor="demo",
            )  # fmt: skip
            uid = f"04{0xA1B2C300 + i:08x}{rng.randrange(1 << 16):04x}"
            add_card(s, member=row, uid_hex=uid, label=None, clock=clock, actor="demo")
            card = rng.choice(GOOD_CARDS)
            attach_payment_method(s, member=row, gateway=gateway, source=card, clock=clock)
            start_on = (now + timedelta(days=0 if declines else i % 4)).date()
            sub = subscribe(s, member=row, plan=plan, clock=clock, start_on=start_on)
            s.commit()
            m = ClubMember(row.id or 0, f"{first} {last}", row.email, uid, plan.name, declines,
                           sub.id or 0)  # fmt: skip
            club.members.append(m)
            if declines:
                switch.append((row, rng.choice(DECLINING_CARDS)))
        club.hero = club.members[0]
        run_billing(engine=hub.engine, settings=hub.settings, clock=clock, gateway=gateway)
        for row, card in switch:  # the first month is paid; the card on file now declines
            old = s.exec(select(PaymentMethod).where(PaymentMethod.member_id == row.id)).all()
            attach_payment_method(s, member=row, gateway=gateway, source=card, clock=clock,
                                  make_default=True)  # fmt: skip
            for method in old:  # replaced, so dunning has no other card to fall back on
                detach_payment_method(s, method=method, gateway=gateway, clock=clock)
        s.commit()
    return club


def member_name(session: Session, member_id: int) -> str:
    """A member's full name (for the live view)."""
    m = session.get(Member, member_id)
    return f"{m.first_name} {m.last_name}" if m else f"member {member_id}"
