"""A Bangkok club on the hub's database for dunning tests: members whose renewal fails,
the billing run and the due hooks on a manual clock, mail through a given mailer."""

from __future__ import annotations

import email
import itertools
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from gatehouse.clock import ManualClock
from hub.billing.methods import attach_payment_method, detach_payment_method
from hub.billing.services import BillingServices
from hub.clock.advance import Span, Step, advance_clock
from hub.clock.hooks import DueHook
from hub.core.config import Settings
from hub.dunning.mailer import Mailer
from hub.models import BillingProfile, Member, PaymentMethod, Subscription
from tests.hub.billing.world import World

_members = itertools.count(1)

DECLINES = "4000000000009995"  # insufficient funds, every time
PAYS = "4242424242424242"
PAYS_TOO = "5555555555554444"


class Club(World):
    """A :class:`World` with a billing profile, members who subscribe with a good card
    and then swap it for one that declines, and the clock with all due hooks."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: ManualClock,
        tmp: Path,
        mailer: Mailer,
        language: str = "th",
        **plan_terms: Any,
    ) -> None:
        super().__init__(engine, settings, clock, tmp)
        self.mailer = mailer
        self.services = BillingServices(gateway=self.gateway, mailer=mailer)
        self.club = self.site("lumpini")
        with self.session() as s:
            s.add(BillingProfile(site_id=self.club.id or 0, language=language,
                                 legal_name="Lumpini Gym"))  # fmt: skip
            s.commit()
        self.gold = self.plan(self.club, **plan_terms)

    def failing_member(self, *, phone: str | None = None) -> tuple[Member, Subscription]:
        """A member who paid the first month with a good card, then replaced it by one
        that declines (so the renewal a month later fails)."""
        member = self.member(PAYS, email=f"member{next(_members)}@club.example")
        if phone:
            with self.session() as s:
                row = s.get(Member, member.id)
                assert row is not None
                row.phone = phone
                s.add(row)
                s.commit()
        sub = self.subscribe(member, self.gold)
        assert self.run(subscription_ids=[sub.id or 0]).paid == 1
        with self.session() as s:
            good = s.exec(select(PaymentMethod).where(PaymentMethod.member_id == member.id)).one()
            row = s.get(Member, member.id)
            assert row is not None
            attach_payment_method(s, member=row, gateway=self.gateway, source=DECLINES,
                                  clock=self.clock, make_default=True)  # fmt: skip
            detach_payment_method(s, method=good, gateway=self.gateway, clock=self.clock)
            s.commit()
        return member, sub

    def add_card(self, member: Member, number: str, *, default: bool = False) -> PaymentMethod:
        with self.session() as s:
            row = s.get(Member, member.id)
            assert row is not None
            method = attach_payment_method(s, member=row, gateway=self.gateway, source=number,
                                           clock=self.clock, make_default=default)  # fmt: skip
            s.commit()
            return method

    def advance(
        self,
        step: timedelta = timedelta(days=1),
        hooks: Sequence[DueHook] | None = None,
        **span: Any,
    ) -> list[Step]:
        """Move the clock by *span* (``days=``, ``hours=``) in *step*s, running the due
        *hooks* (default: all -- billing, invoice emails, dunning, card expiry,
        entitlements)."""
        return advance_clock(engine=self.engine, settings=self.settings, clock=self.clock,
                             by=Span(timedelta(**span)), step=step, hooks=hooks,
                             services=self.services)  # fmt: skip


def parse_eml(path: Path) -> EmailMessage:
    """An ``.eml`` file written by the folder mailer, parsed."""
    from email.policy import default

    return email.message_from_bytes(path.read_bytes(), policy=default)  # type: ignore[return-value]


def dunning_mail(messages: list[EmailMessage]) -> list[EmailMessage]:
    """The dunning messages among *messages* (invoice emails left out)."""
    return [m for m in messages if str(m.get("X-Gatehouse-Key", "")).startswith("dunning:")]


def body_text(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]
