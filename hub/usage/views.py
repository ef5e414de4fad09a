"""What a member used: for the console's member page and the member portal.

:func:`member_usage` is the one read both pages call::

    usage = member_usage(session, member_id=7)
    usage.used, usage.remaining          # 4, 0   (remaining None: not counted down)
    for v in usage.visits:               # newest first
        print(v.at, v.door, v.overuse, v.charged_minor)

It reads only; times are aware UTC datetimes (format them in the site's time zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from hub.models import Door, Gate, UsagePass, UsagePlan, UsageRecord
from hub.usage.plans import UsageKind


@dataclass(frozen=True)
class PassUsage:
    """One pass: its plan, what it holds and what is used."""

    pass_id: int
    plan: str
    kind: str
    site_id: int
    visits: int
    used: int
    remaining: int | None
    starts_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class VisitRow:
    """One visit: when, at which door (gate), and what it cost."""

    at: datetime
    door: str
    gate: str
    site_id: int
    plan: str
    overuse: bool
    amount_minor: int
    charged_minor: int | None
    currency: str
    invoice_id: int | None


@dataclass(frozen=True)
class MemberUsage:
    """A member's passes and visits (newest first)."""

    passes: list[PassUsage] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)

    @property
    def used(self) -> int:
        """Visits made (overuse included)."""
        return len(self.visits)

    @property
    def remaining(self) -> int | None:
        """Visits left on counted passes (``None`` when none counts down)."""
        counted = [p.remaining for p in self.passes if p.remaining is not None]
        return sum(counted) if counted else None

    @property
    def overuse(self) -> int:
        return sum(1 for v in self.visits if v.overuse)


def member_usage(session: Session, member_id: int, limit: int = 200) -> MemberUsage:
    """The member's usage passes and their latest *limit* visits."""
    rows = session.exec(
        select(UsagePass, UsagePlan.name)
        .join(UsagePlan, col(UsagePlan.id) == UsagePass.plan_id)
        .where(UsagePass.member_id == member_id)
        .order_by(col(UsagePass.starts_at).desc())
    ).all()
    passes = []
    names = {}
    for p, name in rows:
        names[p.id] = name
        counted = p.kind in (UsageKind.VISIT_PACK.value, UsageKind.DAY_PASS.value)
        passes.append(
            PassUsage(
                pass_id=p.id or 0,
                plan=name,
                kind=p.kind,
                site_id=p.site_id,
                visits=p.visits,
                used=p.used,
                remaining=max(0, p.visits - p.used) if counted else None,
                starts_at=p.starts_at,
                expires_at=p.expires_at,
            )  # fmt: skip
        )
    visits = []
    q = (
        select(UsageRecord, Door.name, Gate.slug)
        .join(Gate, col(Gate.id) == UsageRecord.gate_id)
        .join(Door, col(Door.id) == UsageRecord.door_id, isouter=True)
        .where(UsageRecord.member_id == member_id)
        .order_by(col(UsageRecord.ts).desc(), col(UsageRecord.id).desc())
        .limit(limit)
    )
    for r, door, gate in session.exec(q).all():
        visits.append(
            VisitRow(
                at=r.ts,
                door=door or gate,
                gate=gate,
                site_id=r.site_id,
                plan=names.get(r.pass_id, ""),
                overuse=r.overuse,
                amount_minor=r.amount_minor,
                charged_minor=r.charged_minor,
                currency=r.currency,
                invoice_id=r.invoice_id,
            )  # fmt: skip
        )
    return MemberUsage(passes, visits)
