"""Selling a usage plan: the plan row, the member's pass and the entitlement behind it.

::

    plan = create_plan(session, UsagePlanCreate(site_id=1, name="3 visits",
                       kind="visit_pack", currency="THB", price_minor=45000,
                       visits=3, valid_days=30), clock=clock)
    p = sell_pass(session, member_id=7, plan_id=plan.id, clock=clock)
    session.commit()     # the gates get the member's record with 3 visits

A pass with a price is invoiced at once (one line, open for the desk or a collect).
Its entitlement (``source = usage:<pass id>``) opens the plan's zones until the pass
expires (a pay-per-visit pass never does); a trial is refused for a member who had
one at the site before.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.access.changes import access_changed
from hub.billing.invoices import ChargeItem, LineKind, charges_invoice
from hub.billing.issuing import ToIssue, issue_invoices
from hub.billing.sitetime import site_today
from hub.models import Entitlement, Member, Site, UsagePass, UsagePlan
from hub.usage.metering import SOURCE_PREFIX
from hub.usage.plans import UsageKind, UsagePlanCreate


class UsageRefused(ValueError):
    """A sale the rules do not allow (unknown plan, a second trial, ...)."""


def create_plan(session: Session, body: UsagePlanCreate, *, clock: Clock) -> UsagePlan:
    """Store a validated usage plan (not committed)."""
    if session.get(Site, body.site_id) is None:
        raise UsageRefused(f"site_id: no site {body.site_id}")
    plan = UsagePlan(**body.model_dump(mode="json"), created_at=clock.now())
    session.add(plan)
    session.flush()
    return plan


def sell_pass(session: Session, *, member_id: int, plan_id: int, clock: Clock) -> UsagePass:
    """Give *member_id* a pass of *plan_id* from now (not committed)."""
    plan = session.get(UsagePlan, plan_id)
    if plan is None or not plan.active:
        raise UsageRefused(f"plan_id: no active usage plan {plan_id}")
    if session.get(Member, member_id) is None:
        raise UsageRefused(f"member_id: no member {member_id}")
    kind = UsageKind(plan.kind)
    if kind is UsageKind.TRIAL_PASS:
        had = session.exec(
            select(UsagePass.id).where(
                UsagePass.member_id == member_id,
                UsagePass.site_id == plan.site_id,
                UsagePass.kind == kind.value,
            )
        ).first()
        if had is not None:
            raise UsageRefused("member already had a trial pass at this site")
    now = clock.now()
    expires = None if kind is UsageKind.PAY_PER_VISIT else now + timedelta(days=plan.valid_days)
    visits = {UsageKind.VISIT_PACK: plan.visits, UsageKind.DAY_PASS: 1}.get(kind, 0)
    p = UsagePass(member_id=member_id, site_id=plan.site_id, plan_id=plan_id, kind=kind.value,
                  visits=visits, starts_at=now, expires_at=expires, created_at=now)  # fmt: skip
    session.add(p)
    session.flush()
    ent = Entitlement(member_id=member_id, site_id=plan.site_id, zones=plan.zones,
                      valid_from=now, valid_until=expires, source=f"{SOURCE_PREFIX}{p.id}",
                      flags=0, created_at=now, updated_at=now)  # fmt: skip
    session.add(ent)
    session.flush()
    p.entitlement_id = ent.id
    session.add(p)
    if plan.price_minor > 0:
        site = session.get(Site, plan.site_id)
        assert site is not None
        line_kind = LineKind.CLASS_PACK if kind is UsageKind.VISIT_PACK else LineKind.ITEM
        item = ChargeItem(
            name=plan.name,
            unit_price=plan.price_minor,
            currency=plan.currency,
            kind=line_kind,
            tax_rate_bp=plan.tax_rate_bp,
            tax_inclusive=plan.tax_inclusive,
        )
        draft = charges_invoice([item], issued_on=site_today(now, site.timezone))
        issue_invoices(session, [ToIssue(draft, site_id=plan.site_id, member_id=member_id)],
                       now=now)  # fmt: skip
    access_changed(session, site_id=plan.site_id, reason=f"usage pass {p.id} sold",
                   clock=clock, member_ids=[member_id])  # fmt: skip
    return p
