"""Members asking to freeze their membership: checked dates, recorded for staff.

A request names the first frozen day and the day membership resumes (not frozen).
It is only a request: staff approve it (and freeze the subscription with
:func:`hub.billing.subscriptions.freeze_subscription`) or decline it::

    form = FreezeForm.read(from_on="2026-12-10", resume_on="2027-01-10", reason="travel",
                           today=date(2026, 12, 1))
    form.errors               # {} or {"resume_on": "portal.freeze.resume_after_start", ...}
    row = record_request(db, member_id=7, subscription_id=3, form=form, clock=clock)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.models import FreezeRequest, FreezeRequestStatus

#: The longest freeze a member may ask for, and how far ahead it may start.
MAX_FREEZE = timedelta(days=90)
MAX_LEAD = timedelta(days=180)
MAX_REASON = 500


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@dataclass
class FreezeForm:
    """The freeze form, checked.  ``errors`` maps a field to a message id."""

    from_on: date | None
    resume_on: date | None
    reason: str | None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, *, from_on: str, resume_on: str, reason: str, today: date) -> FreezeForm:
        """Check the typed dates (ISO ``YYYY-MM-DD``, as date inputs send them)."""
        errors: dict[str, str] = {}
        start, resume = _day(from_on), _day(resume_on)
        if not from_on.strip():
            errors["from_on"] = "form.required"
        elif start is None:
            errors["from_on"] = "form.invalid_date"
        elif start < today:
            errors["from_on"] = "portal.freeze.in_past"
        elif start > today + MAX_LEAD:
            errors["from_on"] = "portal.freeze.too_far"
        if not resume_on.strip():
            errors["resume_on"] = "form.required"
        elif resume is None:
            errors["resume_on"] = "form.invalid_date"
        elif start is not None and resume <= start:
            errors["resume_on"] = "portal.freeze.resume_after_start"
        elif start is not None and resume - start > MAX_FREEZE:
            errors["resume_on"] = "portal.freeze.too_long"
        text = reason.strip()
        if len(text) > MAX_REASON:
            errors["reason"] = "portal.freeze.reason_too_long"
        elif any(ord(ch) < 32 and ch not in "\t\r\n" for ch in text):
            errors["reason"] = "form.invalid_characters"
        return cls(start, resume, text or None, errors)


def pending_requests(db: Session, member_id: int) -> list[FreezeRequest]:
    """The member's requests, newest first."""
    return list(
        db.exec(
            select(FreezeRequest)
            .where(FreezeRequest.member_id == member_id)
            .order_by(col(FreezeRequest.id).desc())
        ).all()
    )


def overlaps_pending(db: Session, member_id: int, start: date, resume: date) -> bool:
    """True if a pending request of the member overlaps ``[start, resume)``."""
    return (
        db.exec(
            select(FreezeRequest.id).where(
                FreezeRequest.member_id == member_id,
                FreezeRequest.status == FreezeRequestStatus.PENDING.value,
                col(FreezeRequest.from_on) < resume,
                col(FreezeRequest.resume_on) > start,
            )
        ).first()
        is not None
    )


def record_request(
    db: Session, *, member_id: int, subscription_id: int | None, form: FreezeForm, clock: Clock
) -> FreezeRequest:
    """Store a checked request for staff (flushed; caller commits)."""
    assert form.from_on is not None and form.resume_on is not None and not form.errors
    row = FreezeRequest(
        member_id=member_id,
        subscription_id=subscription_id,
        from_on=form.from_on,
        resume_on=form.resume_on,
        reason=form.reason,
        created_at=clock.now(),
    )
    db.add(row)
    db.flush()
    return row
