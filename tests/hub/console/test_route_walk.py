"""Every console route, for every role: 401/303 without a session, 403 without the right
role or without the form token, and never a 5xx.

The routes are read from the app itself, so a page added later is walked too.  Who may
open what is checked against the role table the product promises (front desk: members,
check-ins, enrolling cards, taking a payment at the desk for a member's open invoice;
installer: gates only; manager: all but users; owner: all),
written out here by path, independently of :mod:`hub.console.permissions`; a route
outside this map, or one that does not name its permission, fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hub.console import sessions
from hub.console.permissions import can
from hub.models import Card, Entitlement, FreezeRequest, Role, User
from tests.hub.console.billing_rows import bill_a_month
from tests.hub.console.conftest import Console

ALL = frozenset(Role)
STAFF = frozenset({Role.OWNER, Role.MANAGER, Role.FRONT_DESK})
MANAGERS = frozenset({Role.OWNER, Role.MANAGER})
GATE_PEOPLE = frozenset({Role.OWNER, Role.MANAGER, Role.INSTALLER})

#: Who may use each area (longest matching prefix wins).
EXPECTED: dict[str, frozenset[Role]] = {
    "/console/dashboard": STAFF,
    "/console/members": STAFF,
    "/console/members/{member_id}/entitlements": MANAGERS,
    "/console/members/{member_id}/usage": STAFF,
    "/console/members/{member_id}/invoices": STAFF,  # paid at the desk: billing.desk
    "/console/checkins": STAFF,
    "/console/gates": GATE_PEOPLE,
    "/console/reports": MANAGERS,
    "/console/plans": MANAGERS,
    "/console/invoices": MANAGERS,
    "/console/audit": MANAGERS,
    "/console/freeze-requests": MANAGERS,
    "/console/users": frozenset({Role.OWNER}),
    "/console/dunning": MANAGERS,
    "/console/account": ALL,
    "/console/logout": ALL,
}
PUBLIC = {"/console", "/console/", "/console/login", "/console/login/totp"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def expected_roles(path: str) -> frozenset[Role]:
    matches = [p for p in EXPECTED if path == p or path.startswith(p + "/")]
    assert matches, f"{path} is in no area of the role map: classify it in EXPECTED"
    return EXPECTED[max(matches, key=len)]


def declared_perm(route: APIRoute):  # type: ignore[no-untyped-def]
    found = []

    def walk(dependant) -> None:  # type: ignore[no-untyped-def]
        for dep in dependant.dependencies:
            if hasattr(dep.call, "perm"):
                found.append(dep.call.perm)
            walk(dep)

    walk(route.dependant)
    assert len(found) == 1, f"{route.path} must take its viewer through need(perm) once"
    return found[0]


def console_routes(app) -> Iterator[tuple[str, str, APIRoute]]:  # type: ignore[no-untyped-def]
    """``(method, full path, route)`` of every console route, however routers nest."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers
        flat = [(r.path, r.methods, r) for r in app.routes]
    else:
        flat = [(c.path, c.methods, c.original_route) for c in iter_route_contexts(app.routes)]
    for path, methods, route in flat:
        if isinstance(route, APIRoute) and path and path.startswith("/console"):
            for method in sorted(methods or ()):
                yield method, path, route


@pytest.fixture
def walk(console: Console) -> Console:
    """The console with a card, an entitlement, a spare user, a plan and an invoice for
    ids to point at."""
    billed = bill_a_month(console)
    with console.session() as s:
        card = Card(member_id=console.member.id or 0, uid_hex="04a1b2c3",
                    created_at=console.clock.now())  # fmt: skip
        ent = Entitlement(
            member_id=console.member.id or 0, site_id=console.site.id or 0, zones=1,
            valid_from=console.clock.now() - timedelta(days=1), created_at=console.clock.now(),
            updated_at=console.clock.now(),
        )  # fmt: skip
        spare = User(
            email="spare@club.example", full_name="Spare", role="front_desk",
            password_hash="-", created_at=console.clock.now(),
        )  # fmt: skip
        freeze = FreezeRequest(
            member_id=console.member.id or 0, from_on=date(2027, 1, 1),
            resume_on=date(2027, 1, 15), created_at=console.clock.now(),
        )  # fmt: skip
        s.add_all([card, ent, spare, freeze])
        s.commit()
        console.ids = {  # type: ignore[attr-defined]
            "member_id": console.member.id, "card_id": card.id, "gate_id": console.gate.id,
            "user_id": spare.id, "entitlement_id": ent.id, "plan_id": billed.plan.id,
            "invoice_id": billed.failed.id, "request_id": freeze.id,
            "case_id": 999_999, "task_id": 999_999,  # none such: a 404 page for who may look
        }  # fmt: skip
    return console


def fill(path: str, ids: dict[str, int]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, f"no id to fill into {path}"
    return path + "?gate_id=" + str(ids["gate_id"])


def session_client(console: Console, role: Role) -> tuple[TestClient, str]:
    """A client with a brand-new session of *role*'s user (no password hashing)."""
    with console.session() as s:
        user = s.get(User, console.users[role].id)
        assert user is not None
        row, token = sessions.start_session(
            s, user=user, clock=console.clock, settings=console.settings
        )
        s.commit()
        csrf = row.csrf_token
    client = console.anonymous()
    client.cookies.set(
        sessions.SESSION_COOKIE, sessions.sign(token, console.settings), path="/console"
    )
    return client, csrf


def test_every_route_is_classified_and_names_its_permission(console: Console) -> None:
    routes = list(console_routes(console.app))
    assert len(routes) >= 30
    for _method, path, route in routes:
        if path in PUBLIC:
            continue
        perm = declared_perm(route)
        allowed = {role for role in Role if can(role, perm)}
        assert allowed == expected_roles(path), f"{path}: {perm} gives {sorted(allowed)}"


def test_without_a_session_pages_redirect_to_login_and_the_rest_is_401(walk: Console) -> None:
    client = walk.anonymous()
    for method, path, _route in console_routes(walk.app):
        if path in PUBLIC:
            continue
        url = fill(path, walk.ids)  # type: ignore[attr-defined]
        answer = client.request(method, url, data={"csrf_token": "x"} if method in UNSAFE else None)
        if method == "GET" and not path.endswith((".json", ".csv")):
            assert answer.status_code == 303, (method, path, answer.status_code)
            assert answer.headers["location"].startswith("/console/login?next=")
        else:
            assert answer.status_code == 401, (method, path, answer.status_code)


def test_each_role_gets_exactly_its_routes(walk: Console) -> None:
    for role in Role:
        for method, path, _route in console_routes(walk.app):
            if path in PUBLIC:
                continue
            client, csrf = session_client(walk, role)
            url = fill(path, walk.ids)  # type: ignore[attr-defined]
            data = {"csrf_token": csrf} if method in UNSAFE else None
            answer = client.request(method, url, data=data)
            assert answer.status_code < 500, (role, method, path, answer.text[:300])
            if role in expected_roles(path):
                assert answer.status_code not in (401, 403), (role, method, path)
            else:
                assert answer.status_code == 403, (role, method, path, answer.status_code)


def test_unsafe_routes_refuse_a_missing_or_wrong_form_token(walk: Console) -> None:
    client, csrf = session_client(walk, Role.OWNER)
    for method, path, _route in console_routes(walk.app):
        if method not in UNSAFE or path in PUBLIC:
            continue
        url = fill(path, walk.ids)  # type: ignore[attr-defined]
        assert client.request(method, url).status_code == 403, path
        wrong = client.request(method, url, data={"csrf_token": csrf[:-2] + "xx"})
        assert wrong.status_code == 403, path
        assert "form expired" in wrong.text or "expired" in wrong.text
    assert client.get("/console/dashboard").status_code == 200  # still signed in


def test_the_header_token_works_for_scripts(walk: Console) -> None:
    client, csrf = session_client(walk, Role.OWNER)
    member = walk.ids["member_id"]  # type: ignore[attr-defined]
    answer = client.post(
        f"/console/members/{member}/status", data={"action": "suspend"},
        headers={"X-CSRF-Token": csrf},
    )  # fmt: skip
    assert answer.status_code == 303 and "status_suspend" in answer.headers["location"]
