"""Hostile HTTP: oversized and malformed bodies, forged webhooks, injection in the console.

Every refusal is a 4xx with a reason (never a 5xx), nothing is applied, and the hub
counts what it refused (``GET /api/v1/security/rejections``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import Session, func, select

from hub.billing.simulated_gateway import SimulatedGateway
from hub.core.limits import MAX_BODY
from hub.models import Invoice, Member, Role
from hub.models.invoice import WebhookEventRow
from tests.hub.billing.test_api_billing import _member, _plan, _site
from tests.hub.console.conftest import build_console

API = "/api/v1"


def _rejections(api: TestClient) -> dict[str, int]:
    r = api.get(f"{API}/security/rejections")
    assert r.status_code == 200, r.text
    return r.json()["http"]  # type: ignore[no-any-return]


def test_bodies_over_a_mebibyte_are_refused_before_they_are_read(api: TestClient) -> None:
    big = b'{"first_name": "' + b"a" * (MAX_BODY + 10) + b'"}'
    r = api.post(f"{API}/members", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413

    def stream() -> Iterator[bytes]:  # no Content-Length: cut off while streaming
        for _ in range(20):
            yield b" " * 65536
        yield b"{}"

    r = api.post(f"{API}/members", content=stream(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = api.post(f"{API}/members", content=b"{}", headers={"Content-Length": "nope"})
    assert r.status_code in (400, 413)
    assert _rejections(api)["too_large"] >= 2
    assert api.get(f"{API}/members").status_code == 200  # the hub carries on


MALFORMED = [
    b"",
    b"{",
    b'{"first_name": }',
    b"[" * 100_000 + b"]" * 100_000,  # nested deeper than any parser's stack
    b'{"first_name": "' + "ก".encode()[:2] + b'"}',  # cut inside a UTF-8 character
    b"\xff\xfe\x00{",
    b"null",
    b"[]",
    b'"a string"',
    b'{"first_name": 1e999999, "last_name": [], "email": {}}',
    b'{"first_name": "A", "last_name": "B", "email": "a@b.co", "date_of_birth": "2026-02-30"}',
]


def test_malformed_bodies_get_a_4xx_on_every_writing_route(api: TestClient) -> None:
    paths = ["members", "cards", "sites", "doors", "gates", "plans", "entitlements",
             "subscriptions", "provision/claim", "auth/login"]  # fmt: skip
    for path in paths:
        for body in MALFORMED:
            for ctype in ("application/json", "text/plain", "application/x-www-form-urlencoded"):
                r = api.post(f"{API}/{path}", content=body, headers={"Content-Type": ctype})
                assert 400 <= r.status_code < 500, (path, body[:40], ctype, r.status_code, r.text)
    with Session(api.app.state.engine) as s:  # type: ignore[attr-defined]
        assert s.exec(select(func.count()).select_from(Member)).one() == 0


def test_a_webhook_with_a_bad_signature_is_refused_counted_and_not_applied(
    api: TestClient,
) -> None:
    gateway: SimulatedGateway = api.app.state.billing.gateway  # type: ignore[attr-defined]
    gateway.fault = "lost_response"  # the charge succeeds, its answer is lost
    site = _site(api)
    member = _member(api, "ana@example.com", card="4242424242424242")
    sub = {"member_id": member["id"], "plan_id": _plan(api, site)["id"]}
    r = api.post(f"{API}/subscriptions", json=sub)
    assert r.status_code == 201, r.text
    gateway.fault = None
    (invoice,) = r.json()["invoices"]
    assert invoice["status"] == "open"
    (event,) = gateway.signed_events()
    url = f"{API}/billing/webhooks/simulated"
    header = event.signature_header
    forged = [
        (event.payload.replace(b"succeeded", b"failed"), header),  # body changed
        (event.payload, ""),  # no signature
        (event.payload, re.sub(r"v1=[0-9a-f]+", "v1=" + "0" * 64, header)),  # wrong MAC
        (event.payload, re.sub(r"t=\d+", "t=1", header)),  # replayed from long ago
        (b"{" * 5000, header),  # garbage
    ]
    for payload, signature in forged:
        r = api.post(url, content=payload, headers={"Stripe-Signature": signature})
        assert r.status_code == 400, r.text
    r = api.post(url, content=b"x" * (300 * 1024), headers={"Stripe-Signature": header})
    assert r.status_code == 413
    counts = _rejections(api)
    assert counts["webhook_bad_signature"] == len(forged)
    assert counts["webhook_too_large"] == 1
    engine = api.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(WebhookEventRow)).one() == 0
        assert s.get(Invoice, invoice["id"]).status == "open"  # type: ignore[union-attr]
    # The genuine delivery still works afterwards.
    r = api.post(url, content=event.payload, headers={"Stripe-Signature": header})
    assert r.status_code == 200 and r.json()["outcome"] == "payment recorded", r.text


INJECTIONS = [
    "Robert'); DROP TABLE member;--",
    "' OR '1'='1",
    "1; DELETE FROM card WHERE 1=1; --",
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
]


def test_injection_strings_in_console_forms_are_stored_as_text_and_shown_escaped(
    console_db_url: str, clock
) -> None:  # type: ignore[no-untyped-def]
    console = build_console(console_db_url, clock)
    client = console.client(Role.OWNER)
    csrf = console.csrf(client)
    tables = set(inspect(console.engine).get_table_names())
    with Session(console.engine) as s:
        members_before = s.exec(select(func.count()).select_from(Member)).one()
    for i, text in enumerate(INJECTIONS):
        data = {"first_name": text, "last_name": text, "email": f"x{i}@club.example",
                "phone": "+66 81 234 5678", "emergency_contact": text, "notes": text,
                "csrf_token": csrf}  # fmt: skip
        r = client.post("/console/members/new", data=data)
        assert r.status_code == 303, r.text[:300]
        page = client.get(r.headers["location"])
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        member_path = r.headers["location"]
        for form, fields in (("notes", {"kind": "note", "text": text}),
                             ("cards", {"uid": "04:A1:B2:C3", "label": text})):  # fmt: skip
            r = client.post(f"{member_path}/{form}", data={"csrf_token": csrf, **fields})
            assert r.status_code < 500
        r = client.post("/console/users/new", data={"csrf_token": csrf, "full_name": text,
                        "email": f"u{i}@club.example", "role": "front_desk",
                        "password": "long enough password", "language": "en"})  # fmt: skip
        assert r.status_code < 500
        r = client.get("/console/members", params={"q": text})
        assert r.status_code == 200 and "<script>alert" not in r.text
    assert set(inspect(console.engine).get_table_names()) == tables
    with Session(console.engine) as s:
        names = s.exec(select(Member.first_name)).all()
        assert s.exec(select(func.count()).select_from(Member)).one() == members_before + len(
            INJECTIONS
        )
    assert all(text in names for text in INJECTIONS)  # stored verbatim, as data
    for page in ("/console/members", "/console/users", "/console/audit"):
        r = client.get(page)
        assert r.status_code == 200 and "<script>alert" not in r.text, page
    console.engine.dispose()
