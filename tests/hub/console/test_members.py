"""Member pages: create and edit with messages per field, search, status changes that
reach the access list, cards typed in, notes and access granted by hand."""

from __future__ import annotations

import re

from sqlmodel import select

from hub.models import AclEntry, AuditLog, Card, Entitlement, Member, MemberInteraction, Role, Site
from protocol import records
from tests.hub.console.conftest import Console

GOOD = {
    "first_name": "Somchai",
    "last_name": "Jaidee",
    "email": "somchai@example.com",
    "phone": "+66 81 234 5678",
    "emergency_contact": "Malee Jaidee +66 89 111 2222",
    "date_of_birth": "1990-04-13",
    "notes": "Prefers mornings",
}


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<div class="field-error" id="e-{name}">([^<]*)</div>', html)
    return found.group(1) if found else ""


def _create(console: Console, client, **fields: str):  # type: ignore[no-untyped-def]
    data = {**GOOD, **fields, "csrf_token": console.csrf(client)}
    return client.post("/console/members/new", data=data)


def test_create_member_then_find_and_edit(console: Console) -> None:
    client = console.client(Role.FRONT_DESK)
    answer = _create(console, client)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"])
    assert "Somchai Jaidee" in page.text and "Member added." in page.text
    assert "Malee Jaidee" in page.text and "13 April" not in page.text  # short dates
    found = client.get("/console/members", params={"q": "jaidee"})
    assert "somchai@example.com" in found.text and "1 found" in found.text
    assert "0 found" in client.get("/console/members", params={"q": "nobody"}).text
    member_id = int(answer.headers["location"].split("/")[3].split("?")[0])
    edit = {**GOOD, "phone": "", "csrf_token": console.csrf(client)}
    saved = client.post(f"/console/members/{member_id}/edit", data=edit)
    assert saved.status_code == 303
    with console.session() as s:
        member = s.get(Member, member_id)
        assert member is not None and member.phone is None and member.first_name == "Somchai"
        actions = s.exec(select(AuditLog.action).where(AuditLog.entity_id == member_id)).all()
        assert "member.create" in actions and "member.update" in actions


def test_bad_input_comes_back_with_a_message_per_field(console: Console) -> None:
    client = console.client(Role.MANAGER)
    answer = _create(
        console, client, first_name="  ", email="not-an-email", phone="call me",
        date_of_birth="2999-01-01", last_name="x" * 81,
    )  # fmt: skip
    assert answer.status_code == 422
    html = answer.text
    assert _field_error(html, "first_name") == "Required."
    assert _field_error(html, "last_name") == "At most 80 characters."
    assert _field_error(html, "email") == "Not an email address."
    assert _field_error(html, "phone") == "Not a phone number, e.g. +66 81 234 5678."
    assert _field_error(html, "date_of_birth") == "Not a valid date."
    assert 'value="call me"' in html  # what was typed is kept
    with console.session() as s:
        assert len(s.exec(select(Member)).all()) == 1  # only the fixture's member


def test_a_second_member_with_the_same_email_is_refused(console: Console) -> None:
    client = console.client(Role.MANAGER)
    assert _create(console, client).status_code == 303
    again = _create(console, client, first_name="Other")
    assert again.status_code == 422
    assert _field_error(again.text, "email") == "Another member already uses this email."


def test_thai_messages_for_thai_users(console: Console) -> None:
    client = console.client(Role.OWNER)
    csrf = console.csrf(client)
    client.post("/console/account/language", data={"csrf_token": csrf, "language": "th"})
    answer = _create(console, client, email="nope")
    assert answer.status_code == 422
    assert _field_error(answer.text, "email") == "ไม่ใช่อีเมลที่ถูกต้อง"
    assert 'lang="th"' in answer.text and "เพิ่มสมาชิก" in answer.text


def _record_flags(console: Console, member_id: int) -> list[int]:
    with console.session() as s:
        rows = s.exec(select(AclEntry).where(AclEntry.member_id == member_id)).all()
        return [records.unpack(bytes.fromhex(r.record))[4] for r in rows]


def test_suspend_reinstate_and_cancel_change_the_access_list(console: Console) -> None:
    client = console.client(Role.FRONT_DESK)
    member_id = console.member.id
    csrf = console.csrf(client)
    client.post(
        f"/console/members/{member_id}/cards",
        data={"csrf_token": csrf, "uid": "04:A1:B2:C3", "label": "blue fob"},
    )
    with console.session() as s:
        s.add(
            Entitlement(
                member_id=member_id or 0, site_id=console.site.id or 0, zones=1,
                valid_from=console.clock.now(), created_at=console.clock.now(),
                updated_at=console.clock.now(),
            )
        )  # fmt: skip
        s.commit()
    version = _version(console)
    # Entitlement added behind the console's back: a status change rebuilds the member.
    answer = client.post(
        f"/console/members/{member_id}/status", data={"csrf_token": csrf, "action": "suspend"}
    )
    assert "status_suspend" in answer.headers["location"]
    assert _version(console) > version
    assert _record_flags(console, member_id or 0) == [records.FLAG_BLOCKED]
    client.post(
        f"/console/members/{member_id}/status", data={"csrf_token": csrf, "action": "reinstate"}
    )
    assert _record_flags(console, member_id or 0) == [0]
    client.post(
        f"/console/members/{member_id}/status", data={"csrf_token": csrf, "action": "cancel"}
    )
    assert _record_flags(console, member_id or 0) == []
    again = client.post(
        f"/console/members/{member_id}/status", data={"csrf_token": csrf, "action": "suspend"}
    )
    assert "status_unchanged" in again.headers["location"]  # cancelled cannot be suspended
    with console.session() as s:
        actions = s.exec(select(AuditLog.action).where(AuditLog.entity == "member")).all()
    assert {"member.suspended", "member.active", "member.cancelled"} <= set(actions)


def _version(console: Console) -> int:
    with console.session() as s:
        site = s.get(Site, console.site.id)
        assert site is not None
        return site.list_version


def test_cards_typed_in_are_checked_and_shown_as_last_four(console: Console) -> None:
    client = console.client(Role.FRONT_DESK)
    member_id = console.member.id
    csrf = console.csrf(client)
    bad = client.post(
        f"/console/members/{member_id}/cards", data={"csrf_token": csrf, "uid": "xyz"}
    )
    assert bad.status_code == 422
    assert _field_error(bad.text, "uid").startswith("A card UID is 4, 7 or 10 bytes")
    ok = client.post(
        f"/console/members/{member_id}/cards",
        data={"csrf_token": csrf, "uid": "04 a1 b2 c3 d4 e5 f6"},
    )
    assert ok.status_code == 303
    page = client.get(f"/console/members/{member_id}")
    assert "…E5F6" in page.text and "04A1B2C3D4E5F6" not in page.text.upper().replace(":", "")
    taken = client.post(
        f"/console/members/{member_id}/cards",
        data={"csrf_token": csrf, "uid": "04:A1:B2:C3:D4:E5:F6"},
    )
    assert _field_error(taken.text, "uid") == "This card is already registered."
    with console.session() as s:
        card = s.exec(select(Card)).one()
    off = client.post(
        f"/console/members/{member_id}/cards/{card.id}/active",
        data={"csrf_token": csrf, "active": "0"},
    )
    assert "card_off" in off.headers["location"]
    with console.session() as s:
        assert s.get(Card, card.id).active is False  # type: ignore[union-attr]
    found = client.get("/console/members", params={"q": "04:a1:b2:c3:d4:e5:f6"})
    assert f'href="/console/members/{member_id}"' in found.text


def test_notes_and_manual_access(console: Console) -> None:
    client = console.client(Role.MANAGER)
    member_id = console.member.id
    csrf = console.csrf(client)
    empty = client.post(
        f"/console/members/{member_id}/notes", data={"csrf_token": csrf, "text": " "}
    )
    assert empty.status_code == 422 and "Required." in empty.text
    client.post(
        f"/console/members/{member_id}/notes",
        data={"csrf_token": csrf, "kind": "call", "text": "Asked about <b>PT</b> sessions"},
    )
    page = client.get(f"/console/members/{member_id}")
    assert "Asked about &lt;b&gt;PT&lt;/b&gt; sessions" in page.text
    with console.session() as s:
        note = s.exec(select(MemberInteraction)).one()
        assert note.kind == "call" and note.author == f"user:{console.users[Role.MANAGER].id}"
    bad = client.post(
        f"/console/members/{member_id}/entitlements",
        data={"csrf_token": csrf, "site_id": str(console.site.id), "valid_from": "2026-12-10",
              "valid_until": "2026-12-01"},
    )  # fmt: skip
    assert bad.status_code == 422 and "Pick at least one zone." in bad.text
    assert "The end is before the start." in bad.text
    client.post(
        f"/console/members/{member_id}/cards", data={"csrf_token": csrf, "uid": "04:00:00:01"}
    )
    ok = client.post(
        f"/console/members/{member_id}/entitlements",
        data={"csrf_token": csrf, "site_id": str(console.site.id), "zones": ["0", "2"],
              "valid_from": "2026-12-01", "valid_until": "2026-12-31"},
    )  # fmt: skip
    assert ok.status_code == 303
    with console.session() as s:
        ent = s.exec(select(Entitlement)).one()
        entry = s.exec(select(AclEntry)).one()
    assert ent.zones == 0b101
    # Asia/Bangkok is UTC+7: the 31st ends at 17:00 UTC.
    assert (
        ent.valid_until is not None and ent.valid_until.isoformat() == "2026-12-31T17:00:00+00:00"
    )
    assert records.unpack(bytes.fromhex(entry.record))[1] == int(ent.valid_until.timestamp())
    end = client.post(
        f"/console/members/{member_id}/entitlements/{ent.id}/end", data={"csrf_token": csrf}
    )
    assert "entitlement_ended" in end.headers["location"]
    with console.session() as s:
        ended = s.get(Entitlement, ent.id)
        assert ended is not None and ended.valid_until == console.clock.now()


def test_front_desk_cannot_grant_access(console: Console) -> None:
    client = console.client(Role.FRONT_DESK)
    page = client.get(f"/console/members/{console.member.id}")
    assert "Grant access" not in page.text and "Add card" in page.text
    answer = client.post(
        f"/console/members/{console.member.id}/entitlements",
        data={"csrf_token": console.csrf(client), "site_id": "1", "zones": "0"},
    )
    assert answer.status_code == 403


def test_unknown_member_is_a_404_page(console: Console) -> None:
    client = console.client(Role.FRONT_DESK)
    for path in ("/console/members/999999", "/console/members/0", "/console/members/99999999999"):
        answer = client.get(path)
        assert answer.status_code in (404, 422), path
    assert "Not found" in client.get("/console/members/424242").text
