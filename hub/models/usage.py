"""Usage billing: plans sold by the visit, the passes members hold, the visits they made.

=============  ==============================================================
table          what it holds
=============  ==============================================================
usageplan      a plan sold by use: visit pack, pay-per-visit, day pass, trial
               pass (:class:`hub.usage.plans.UsagePlanBase` has the rules)
usagepass      one plan sold to one member at one site: visits bought, when it
               starts and expires, the entitlement that opens the doors
usagerecord    one counted visit (or overuse) per admitted check-in, unique on
               the check-in; its charge and the invoice that billed it
usagesite      per site: the re-entry window gates apply (seconds)
=============  ==============================================================
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import BigId, UTCDateTime


class UsagePlan(SQLModel, table=True):
    """A plan sold by use.  Columns mirror :class:`hub.usage.plans.UsagePlanBase`."""

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    price_minor: int = Field(default=0, sa_type=BigInteger)
    visit_price_minor: int = Field(default=0, sa_type=BigInteger)
    visits: int = 0
    valid_days: int = 0
    daily_cap_minor: int | None = Field(default=None, sa_type=BigInteger)
    monthly_cap_minor: int | None = Field(default=None, sa_type=BigInteger)
    lines: str = Field(default="per_visit", max_length=16)
    overuse: str = Field(default="charge", max_length=16)
    zones: int = 1
    tax_rate_bp: int = 0
    tax_inclusive: bool = True
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)


class UsagePass(SQLModel, table=True):
    """A usage plan held by a member at a site.

    :param visits: visits bought (packs: N, day pass: 1; 0 for pay-per-visit and
        trials, which do not count down).
    :param used: visits counted against it so far (kept by reconciliation).
    :param day_ends_at: a day pass's end, set at its first entry (next local midnight).
    """

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    plan_id: int = Field(foreign_key="usageplan.id")
    kind: str = Field(max_length=16)
    visits: int = 0
    used: int = 0
    starts_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    day_ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    entitlement_id: int | None = Field(default=None, foreign_key="entitlement.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


class UsageRecord(SQLModel, table=True):
    """One visit, made by one admitted check-in (unique: a check-in counts once).

    :param overuse: a visit beyond the pass's balance.
    :param amount_minor: its price (0: covered by the pass, or overuse only recorded
        for staff).
    :param charged_minor: what the invoice charged after the plan's caps.
    :param invoice_id: the invoice that billed it, once billed.
    """

    __table_args__ = (UniqueConstraint("checkin_id"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    checkin_id: int = Field(sa_type=BigInteger)
    pass_id: int = Field(foreign_key="usagepass.id", index=True)
    member_id: int = Field(index=True)
    site_id: int
    gate_id: int
    door_id: int | None = None
    ts: datetime = Field(sa_type=UTCDateTime)
    overuse: bool = False
    amount_minor: int = Field(default=0, sa_type=BigInteger)
    charged_minor: int | None = Field(default=None, sa_type=BigInteger)
    currency: str = Field(max_length=3)
    invoice_id: int | None = Field(default=None, sa_type=BigInteger, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class UsageSite(SQLModel, table=True):
    """A site's usage settings: the re-entry window gates apply to metered cards."""

    site_id: int = Field(foreign_key="site.id", primary_key=True)
    reentry_s: int = 3 * 3600
