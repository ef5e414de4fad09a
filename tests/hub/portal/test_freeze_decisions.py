"""Staff decide members' freeze requests in the console: approving freezes the
subscription for those days, declining leaves it; front desk may not decide."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import select

from hub.models import AuditLog, FreezeRequest, Role, Subscription, User
from tests.hub.console.conftest import email_of, login, password_hash
from tests.hub.portal.conftest import Club

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _staff(club: Club, role: Role) -> tuple[TestClient, str]:
    with club.session() as s:
        s.add(User(email=email_of(role), full_name=f"{role.value} user", role=role.value,
                   password_hash=password_hash(), created_at=club.clock.now()))  # fmt: skip
        s.commit()
    c = club.client()
    assert login(c, email_of(role)).status_code == 303
    page = c.get("/console/account")
    found = _CSRF.search(page.text)
    assert found
    return c, found.group(1)


def _ask(club: Club, start: str, resume: str) -> None:
    member = club.sign_in()
    data = {"csrf_token": club.csrf(member), "from_on": start, "resume_on": resume}
    answer = member.post("/portal/freeze", data=data)
    assert answer.status_code == 303


def test_a_manager_approves_a_request_and_the_membership_is_frozen(club: Club) -> None:
    _ask(club, "2026-12-20", "2027-01-10")
    manager, token = _staff(club, Role.MANAGER)
    page = manager.get("/console/freeze-requests")
    assert page.status_code == 200 and "Ana Costa" in page.text and "Freeze requests" in page.text
    with club.session() as s:
        row = s.exec(select(FreezeRequest)).one()
    answer = manager.post(f"/console/freeze-requests/{row.id}/approve", data={"csrf_token": token})
    assert answer.status_code == 303 and "freeze_approved" in answer.headers["location"]
    with club.session() as s:
        decided = s.get(FreezeRequest, row.id)
        assert decided is not None
        sub = s.get(Subscription, decided.subscription_id)
        audit = s.exec(select(AuditLog).where(AuditLog.action == "freeze_request.approved")).one()
    assert decided.status == "approved" and decided.decided_by == audit.actor
    assert sub is not None and (str(sub.freeze_from), str(sub.resume_on)) == (
        "2026-12-20", "2027-01-10")  # fmt: skip
    again = manager.post(f"/console/freeze-requests/{row.id}/approve", data={"csrf_token": token})
    assert again.status_code == 404  # decided once
    member = club.sign_in()
    assert "Approved" in member.get("/portal/freeze").text


def test_declining_leaves_the_membership_and_front_desk_may_not_decide(club: Club) -> None:
    _ask(club, "2026-12-20", "2027-01-10")
    with club.session() as s:
        row = s.exec(select(FreezeRequest)).one()
    desk, desk_token = _staff(club, Role.FRONT_DESK)
    assert desk.get("/console/freeze-requests").status_code == 403
    refused = desk.post(
        f"/console/freeze-requests/{row.id}/decline", data={"csrf_token": desk_token}
    )
    assert refused.status_code == 403
    owner, token = _staff(club, Role.OWNER)
    assert owner.post(f"/console/freeze-requests/{row.id}/decline", data={}).status_code == 403
    answer = owner.post(f"/console/freeze-requests/{row.id}/decline", data={"csrf_token": token})
    assert answer.status_code == 303 and "freeze_declined" in answer.headers["location"]
    with club.session() as s:
        assert s.get(FreezeRequest, row.id).status == "declined"  # type: ignore[union-attr]
        sub = s.get(Subscription, row.subscription_id)
    assert sub is not None and sub.freeze_from is None
