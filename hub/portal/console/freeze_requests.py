"""``/console/freeze-requests``: members' freeze requests, oldest pending first.

Approving freezes the member's subscription for the requested days (the billing rules
check the dates again: a request made long ago may no longer fit) and records who
decided; declining records the decision only.  Both are in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, select

from hub.api.deps import SessionDep
from hub.billing.renewals import BillingRefused
from hub.billing.subscriptions import freeze_subscription
from hub.console.deps import PageNotFound, Viewer, need
from hub.console.forms import int_param
from hub.console.permissions import Perm
from hub.console.web import render
from hub.models import FreezeRequest, FreezeRequestStatus, Member, Subscription
from hub.services import audit

router = APIRouter()

BillingViewer = Annotated[Viewer, Depends(need(Perm.BILLING_VIEW))]
BillingManager = Annotated[Viewer, Depends(need(Perm.BILLING_MANAGE))]


@router.get("/freeze-requests", response_class=HTMLResponse)
def freeze_requests(request: Request, db: SessionDep, viewer: BillingViewer) -> Response:
    """Pending requests (oldest first), then the latest decided ones."""
    pending = db.exec(
        select(FreezeRequest, Member)
        .join(Member, col(Member.id) == col(FreezeRequest.member_id))
        .where(FreezeRequest.status == FreezeRequestStatus.PENDING.value)
        .order_by(col(FreezeRequest.id))
    ).all()
    decided = db.exec(
        select(FreezeRequest, Member)
        .join(Member, col(Member.id) == col(FreezeRequest.member_id))
        .where(FreezeRequest.status != FreezeRequestStatus.PENDING.value)
        .order_by(col(FreezeRequest.decided_at).desc())
        .limit(50)
    ).all()
    return render(request, "freeze_requests.html", viewer=viewer, pending=pending,
                  decided=decided, error=request.query_params.get("error", "")[:300])  # fmt: skip


def _pending(db: SessionDep, request_id: str) -> FreezeRequest:
    row = db.get(FreezeRequest, int_param(request_id))
    if row is None or row.status != FreezeRequestStatus.PENDING.value:
        raise PageNotFound()
    return row


@router.post("/freeze-requests/{request_id}/approve")
def approve(request: Request, db: SessionDep, viewer: BillingManager, request_id: str) -> Response:
    """Freeze the subscription for the requested days."""
    row = _pending(db, request_id)
    clock = request.app.state.clock
    sub = db.get(Subscription, row.subscription_id) if row.subscription_id else None
    if sub is None:
        return RedirectResponse("/console/freeze-requests?msg=freeze_no_subscription",
                                status_code=303)  # fmt: skip
    try:
        freeze_subscription(db, sub=sub, from_on=row.from_on, resume_on=row.resume_on, clock=clock)
    except BillingRefused:
        db.rollback()
        return RedirectResponse("/console/freeze-requests?msg=freeze_refused", status_code=303)
    _decide(db, row, FreezeRequestStatus.APPROVED, viewer, clock, sub.site_id)
    return RedirectResponse("/console/freeze-requests?msg=freeze_approved", status_code=303)


@router.post("/freeze-requests/{request_id}/decline")
def decline(request: Request, db: SessionDep, viewer: BillingManager, request_id: str) -> Response:
    """Decline the request (the subscription is left as it is)."""
    row = _pending(db, request_id)
    _decide(db, row, FreezeRequestStatus.DECLINED, viewer, request.app.state.clock, None)
    return RedirectResponse("/console/freeze-requests?msg=freeze_declined", status_code=303)


def _decide(db: SessionDep, row: FreezeRequest, status: FreezeRequestStatus, viewer: Viewer,
            clock: object, site_id: int | None) -> None:  # fmt: skip
    row.status = status.value
    row.decided_at = clock.now()  # type: ignore[attr-defined]
    row.decided_by = viewer.actor
    db.add(row)
    audit.record(db, clock=clock, actor=viewer.actor, action=f"freeze_request.{status.value}",  # type: ignore[arg-type]
                 entity="freezerequest", entity_id=row.id, site_id=site_id,
                 after={"from_on": str(row.from_on), "resume_on": str(row.resume_on)})  # fmt: skip
    db.commit()
