"""Billing under fault: a club of paying members, and the gateway's own count of charges.

The simulated gateway keeps a ledger of every charge it was asked for (a SQLite file
shared by every process that charges).  A double charge is an invoice with more than
one charge in that ledger -- whatever the hub's own tables say::

    club = paying_club(world, slug="club2", members=40, declining_every=5)
    ... billing runs, killed and restarted ...
    double_charges(world.gateway.ledger.charges())      # must be 0
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlmodel import func, select

from hub.billing.periods import add_months
from hub.models import ChargeAttempt, Invoice, Site, Subscription
from tests.hub.billing.world import World


def paying_club(world: World, *, slug: str, members: int, declining_every: int) -> Site:
    """A site with one monthly plan and *members* subscribed with saved cards; every
    *declining_every*-th card declines."""
    site = world.site(slug)
    plan = world.plan(site, grace_days=2)
    for n in range(members):
        card = "4000000000009995" if n % declining_every == 0 else "4242424242424242"
        world.subscribe(world.member(card_number=card), plan)
    return site


def double_charges(ledger: list[dict[str, Any]]) -> int:
    """Money taken twice: successful charges beyond the first for any invoice, plus any
    idempotency key charged more than once.  (A declined charge retried later by
    dunning is a new attempt with a key of its own, not a double charge.)"""
    paid = Counter(c["invoice_id"] for c in ledger if c["status"] == "succeeded")
    keys = Counter(c["idempotency_key"] for c in ledger)
    return sum(n - 1 for n in paid.values() if n > 1) + sum(n - 1 for n in keys.values() if n > 1)


def unsettled(world: World, site_id: int, today: date) -> int:
    """Work the billing run still owes at *today*: subscriptions due, attempts pending."""
    with world.session() as s:
        due = s.exec(
            select(func.count())
            .select_from(Subscription)
            .where(Subscription.site_id == site_id, Subscription.status == "active",
                   Subscription.due_on <= today)  # type: ignore[operator]
        ).one()  # fmt: skip
        pending = s.exec(
            select(func.count()).select_from(ChargeAttempt).where(ChargeAttempt.status == "pending")
        ).one()
    return int(due) + int(pending)


def invoices_per_period(world: World) -> int:
    """Invoices issued twice for one subscription and period (must be 0)."""
    with world.session() as s:
        rows = s.exec(select(Invoice.subscription_id, Invoice.period_start)).all()
    return len(rows) - len(set(rows))


__all__ = ["add_months", "double_charges", "invoices_per_period", "paying_club", "unsettled"]
