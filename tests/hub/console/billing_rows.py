"""A month of billing for console tests: a plan, three members who subscribe -- one
whose card pays, one whose card is declined, one with no card -- and the billing run
that invoices and charges them, through the app's own simulated gateway."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from hub.billing.methods import attach_payment_method
from hub.billing.run import run_billing
from hub.billing.services import billing_services
from hub.billing.sitetime import site_today
from hub.billing.subscriptions import subscribe
from hub.models import Invoice, Member, Plan

VISA = "4242424242424242"
DECLINED = "4000000000000002"


@dataclass
class Billed:
    """The rows made: ``paid``, ``failed`` (card declined) and ``unpaid`` (no card)
    invoices, and their plan."""

    plan: Plan
    paid: Invoice
    failed: Invoice
    unpaid: Invoice


def _member(s: Session, first: str, clock, card: str | None, gateway) -> Member:  # type: ignore[no-untyped-def]
    now = clock.now()
    m = Member(first_name=first, last_name="Billing", email=f"{first.lower()}@bill.example",
               created_at=now, updated_at=now)  # fmt: skip
    s.add(m)
    s.flush()
    if card:
        attach_payment_method(s, member=m, gateway=gateway, source=card, clock=clock)
    return m


def bill_a_month(console) -> Billed:  # type: ignore[no-untyped-def]
    """Subscribe three members to a 1,070 baht plan and run billing (see module docs)."""
    app = console.app
    gateway = billing_services(app.state).gateway
    clock = console.clock
    with console.session() as s:
        plan = Plan(site_id=console.site.id or 0, name="Gold monthly", price_minor=107000,
                    currency="THB", tax_rate_bp=700, tax_inclusive=True,
                    created_at=clock.now())  # fmt: skip
        s.add(plan)
        s.flush()
        today = site_today(clock.now(), console.site.timezone)
        members = [
            _member(s, "Paula", clock, VISA, gateway),
            _member(s, "Dan", clock, DECLINED, gateway),
            _member(s, "Nok", clock, None, gateway),
        ]
        for m in members:
            subscribe(s, member=m, plan=plan, clock=clock, start_on=today)
        s.commit()
        ids = [m.id for m in members]
    run_billing(engine=console.engine, settings=console.settings, clock=clock, gateway=gateway)
    with console.session() as s:
        found = {i.member_id: i for i in s.exec(select(Invoice))}
        return Billed(plan, *(found[i] for i in ids))


def bill_one(console, first: str) -> Invoice:  # type: ignore[no-untyped-def]
    """One more member (*first* ``Billing``, no card) on a 1,070 baht plan of their own,
    billed now: their invoice, open."""
    app = console.app
    gateway = billing_services(app.state).gateway
    clock = console.clock
    with console.session() as s:
        plan = Plan(site_id=console.site.id or 0, name=f"{first} monthly", price_minor=107000,
                    currency="THB", tax_rate_bp=700, tax_inclusive=True,
                    created_at=clock.now())  # fmt: skip
        s.add(plan)
        s.flush()
        member = _member(s, first, clock, None, gateway)
        subscribe(s, member=member, plan=plan, clock=clock,
                  start_on=site_today(clock.now(), console.site.timezone))  # fmt: skip
        s.commit()
        member_id = member.id
    run_billing(engine=console.engine, settings=console.settings, clock=clock, gateway=gateway)
    with console.session() as s:
        return s.exec(select(Invoice).where(Invoice.member_id == member_id)).one()
