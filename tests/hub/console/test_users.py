"""The owner's users page, and the gates page of a hub whose MQTT service is off."""

from __future__ import annotations

from sqlmodel import select

from hub.models import AuditLog, Role, User
from tests.hub.console.conftest import Console, email_of, login


def test_owner_adds_users_with_field_messages(console: Console) -> None:
    owner = console.client(Role.OWNER)
    csrf = console.csrf(owner)
    bad = owner.post(
        "/console/users/new",
        data={"csrf_token": csrf, "full_name": "", "email": "x", "password": "short",
              "role": "front_desk"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert 'id="e-full_name">Required.' in bad.text and 'id="e-email">Not an email' in bad.text
    assert 'id="e-password">At least 10 characters.' in bad.text
    assert 'value="short"' not in bad.text  # a password is never echoed
    taken = owner.post(
        "/console/users/new",
        data={"csrf_token": csrf, "full_name": "Again", "email": email_of(Role.MANAGER),
              "password": "long enough pw", "role": "manager"},
    )  # fmt: skip
    assert 'id="e-email">A user with this email exists.' in taken.text
    ok = owner.post(
        "/console/users/new",
        data={"csrf_token": csrf, "full_name": "Ploy", "email": "ploy@club.example",
              "password": "long enough pw", "role": "installer", "language": "th"},
    )  # fmt: skip
    assert ok.status_code == 303
    with console.session() as s:
        ploy = s.exec(select(User).where(User.email == "ploy@club.example")).one()
    assert (ploy.role, ploy.language) == ("installer", "th")
    client = console.anonymous()
    assert login(client, "ploy@club.example", "long enough pw").headers["location"] == (
        "/console/gates"
    )
    assert "ประตู" in client.get("/console/gates").text


def test_role_changes_end_sessions_but_not_for_oneself(console: Console) -> None:
    owner = console.client(Role.OWNER)
    desk = console.client(Role.FRONT_DESK)
    csrf = console.csrf(owner)
    target = console.users[Role.FRONT_DESK].id
    answer = owner.post(
        f"/console/users/{target}/role", data={"csrf_token": csrf, "role": "manager"}
    )
    assert "user_saved" in answer.headers["location"]
    assert desk.get("/console/members").status_code == 303  # signed out
    me = console.users[Role.OWNER].id
    mine = owner.post(f"/console/users/{me}/role", data={"csrf_token": csrf, "role": "installer"})
    assert "not_yourself" in mine.headers["location"]
    bogus = owner.post(f"/console/users/{target}/role", data={"csrf_token": csrf, "role": "god"})
    assert "bad_role" in bogus.headers["location"]
    owner.post(f"/console/users/{target}/active", data={"csrf_token": csrf, "active": "0"})
    with console.session() as s:
        user = s.get(User, target)
        assert user is not None and user.role == "manager" and not user.active
        actions = s.exec(select(AuditLog.action).where(AuditLog.entity == "user")).all()
    assert actions == ["user.role", "user.active"]
    page = owner.get("/console/users").text
    assert 'id="permission-table"' in page and "Manage users" in page


def test_gate_commands_without_mqtt_say_so(console: Console) -> None:
    client = console.client(Role.INSTALLER)
    page = client.get("/console/gates").text
    assert "MQTT service is not running" in page
    answer = client.post(
        f"/console/gates/{console.gate.id}/unlock", data={"csrf_token": console.csrf(client)}
    )
    assert "mqtt_off" in answer.headers["location"]
    with console.session() as s:
        assert s.exec(select(AuditLog).where(AuditLog.action == "gate.cmd.unlock")).all() == []
    status = client.get("/console/gates/status.json").json()["gates"]
    assert status[str(console.gate.id)]["online"] is False
