"""Signing in: sessions in signed cookies, throttling that tells nothing, TOTP, logout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from hub.console import sessions, totp
from hub.console.routes.auth import safe_next
from hub.core.config import Settings
from hub.models import ConsoleSession, LoginThrottle, Role, User
from tests.hub.console.conftest import PASSWORD, Console, build_console, email_of, login

FAILED = "Wrong email or password."
LOCKED = "Too many attempts. Wait 15 minutes and try again."


def _error(answer) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r'id="login-error">([^<]*)<', answer.text)
    return found.group(1) if found else ""


def test_login_sets_a_signed_httponly_lax_cookie_and_lands_by_role(console: Console) -> None:
    client = console.anonymous()
    answer = login(client, email_of(Role.FRONT_DESK))
    assert answer.status_code == 303 and answer.headers["location"] == "/console/dashboard"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("gh_console="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # local mode; production below
    value = cookie.split(";")[0].split("=", 1)[1]
    assert sessions.unsign(value, console.settings) is not None
    assert client.get("/console/dashboard").status_code == 200
    installer = console.anonymous()
    assert login(installer, email_of(Role.INSTALLER)).headers["location"] == "/console/gates"


def test_production_cookies_are_secure(console_db_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    c = build_console(
        console_db_url, clock, mode="production", secret_key="s" * 40, mqtt_password="pw"
    )
    plain = login(c.anonymous(), email_of(Role.OWNER))  # Secure cookies do not come back
    assert plain.status_code == 400
    https = TestClient(c.app, base_url="https://hub.club.example", follow_redirects=False)  # type: ignore[arg-type]
    answer = login(https, email_of(Role.OWNER))
    cookies = answer.headers.get_list("set-cookie")
    cookie = next(h for h in cookies if h.startswith("gh_console="))
    assert "Secure" in cookie and "HttpOnly" in cookie
    c.engine.dispose()


def test_unknown_email_and_wrong_password_get_the_same_answer(console: Console) -> None:
    unknown = login(console.anonymous(), "nobody@club.example")
    wrong = login(console.anonymous(), email_of(Role.OWNER), "not the password")
    assert unknown.status_code == wrong.status_code == 401
    assert _error(unknown) == _error(wrong) == FAILED
    assert "gh_console=" not in " ".join(wrong.headers.get_list("set-cookie"))


def test_five_failures_lock_an_email_known_or_not_with_the_same_message(console: Console) -> None:
    for email in (email_of(Role.MANAGER), "ghost@club.example"):
        answers = [login(console.anonymous(), email, "wrong password!") for _ in range(5)]
        assert [_error(a) for a in answers] == [FAILED] * 4 + [LOCKED]
        assert answers[-1].status_code == 429
        right = login(console.anonymous(), email, PASSWORD)
        assert right.status_code == 429 and _error(right) == LOCKED
    console.clock.advance(minutes=16)
    assert login(console.anonymous(), email_of(Role.MANAGER)).status_code == 303


def test_failures_spread_over_time_do_not_lock(console: Console) -> None:
    for _ in range(8):
        assert _error(login(console.anonymous(), email_of(Role.OWNER), "nope nope")) == FAILED
        console.clock.advance(minutes=4)
    assert login(console.anonymous(), email_of(Role.OWNER)).status_code == 303


def test_old_counters_are_forgotten(console: Console) -> None:
    for i in range(3):
        login(console.anonymous(), f"guess{i}@club.example", "nope nope")
    with console.session() as s:
        assert len(s.exec(select(LoginThrottle)).all()) == 4  # three emails, one address
    console.clock.advance(minutes=20)
    login(console.anonymous(), "another@club.example", "nope nope")
    with console.session() as s:
        keys = {row.key for row in s.exec(select(LoginThrottle)).all()}
    assert keys == {"email:another@club.example", "ip:testclient"}


def test_login_form_needs_its_own_token(console: Console) -> None:
    client = console.anonymous()
    client.get("/console/login")
    answer = client.post(
        "/console/login",
        data={"email": email_of(Role.OWNER), "password": PASSWORD, "csrf_token": "forged"},
    )
    assert answer.status_code == 400 and "gh_console=" not in str(answer.headers)


def test_forged_expired_and_logged_out_sessions_are_refused(console: Console) -> None:
    client = console.client(Role.OWNER)
    assert client.get("/console/members").status_code == 200
    good = client.cookies.get("gh_console")
    token, _, mac = good.rpartition(".")
    client.cookies.set("gh_console", token + "." + ("0" * len(mac)), path="/console")
    assert client.get("/console/members").status_code == 303
    client.cookies.set("gh_console", good, path="/console")
    assert client.get("/console/members").status_code == 200
    console.clock.advance(seconds=console.settings.session_ttl_s + 1)
    assert client.get("/console/members").status_code == 303
    fresh = console.client(Role.OWNER)
    csrf = console.csrf(fresh)
    answer = fresh.post("/console/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert fresh.get("/console/members").status_code == 303
    with console.session() as s:  # logout deleted one row; the login purged the expired one
        assert s.exec(select(ConsoleSession)).all() == []


def test_next_only_goes_to_console_pages(console: Console) -> None:
    assert safe_next("/console/members/3") == "/console/members/3"
    for bad in ("//evil.example/x", "https://evil.example", "/api/v1/users", "/console\\x",
                "/console/login", None, ""):  # fmt: skip
        assert safe_next(bad) is None
    answer = login(console.anonymous(), email_of(Role.OWNER), next="//evil.example")
    assert answer.headers["location"] == "/console/dashboard"
    answer = login(console.anonymous(), email_of(Role.OWNER), next="/console/gates")
    assert answer.headers["location"] == "/console/gates"


def test_deactivated_users_lose_their_sessions(console: Console) -> None:
    client = console.client(Role.FRONT_DESK)
    with console.session() as s:
        user = s.get(User, console.users[Role.FRONT_DESK].id)
        assert user is not None
        user.active = False
        s.add(user)
        s.commit()
    assert client.get("/console/members").status_code == 303
    assert _error(login(console.anonymous(), email_of(Role.FRONT_DESK))) == FAILED


def _enrol_totp(console: Console, client: TestClient) -> str:
    csrf = console.csrf(client)
    assert client.post("/console/account/totp/start", data={"csrf_token": csrf}).status_code == 303
    page = client.get("/console/account")
    assert "<svg" in page.text and 'id="totp-qr"' in page.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)  # type: ignore[union-attr]
    wrong = client.post(
        "/console/account/totp/confirm", data={"csrf_token": csrf, "code": "000000"}
    )
    assert wrong.status_code == 422 and "That code is not right" in wrong.text
    code = totp.code_at(secret, console.clock.now())
    ok = client.post("/console/account/totp/confirm", data={"csrf_token": csrf, "code": code})
    assert ok.status_code == 303 and "totp_on" in ok.headers["location"]
    return secret


def test_totp_enrolment_then_login_asks_for_a_fresh_code(console: Console) -> None:
    owner = console.client(Role.OWNER)
    secret = _enrol_totp(console, owner)
    console.clock.advance(seconds=60)
    client = console.anonymous()
    answer = login(client, email_of(Role.OWNER))
    assert answer.headers["location"] == "/console/login/totp"
    half = client.cookies.get("gh_console")
    assert client.get("/console/dashboard").headers["location"] == "/console/login/totp"
    page = client.get("/console/login/totp")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    bad = client.post("/console/login/totp", data={"csrf_token": csrf, "code": "123456"})
    assert bad.status_code == 401
    code = totp.code_at(secret, console.clock.now())
    good = client.post("/console/login/totp", data={"csrf_token": csrf, "code": code})
    assert good.status_code == 303 and good.headers["location"] == "/console/dashboard"
    assert client.cookies.get("gh_console") != half  # a fresh token after the second step
    assert client.get("/console/dashboard").status_code == 200
    # The same code cannot be used twice.
    again = console.anonymous()
    login(again, email_of(Role.OWNER))
    page = again.get("/console/login/totp")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    replay = again.post("/console/login/totp", data={"csrf_token": csrf, "code": code})
    assert replay.status_code == 401


def test_wrong_totp_codes_count_towards_the_lockout(console: Console) -> None:
    owner = console.client(Role.OWNER)
    _enrol_totp(console, owner)
    client = console.anonymous()
    login(client, email_of(Role.OWNER))
    page = client.get("/console/login/totp")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    codes = [
        client.post("/console/login/totp", data={"csrf_token": csrf, "code": f"{i:06d}"})
        for i in range(5)
    ]
    assert [c.status_code for c in codes] == [401] * 4 + [429]
    assert client.get("/console/login/totp").headers["location"] == "/console/login"


def test_password_change_ends_other_sessions(console: Console) -> None:
    first = console.client(Role.MANAGER)
    second = console.client(Role.MANAGER)
    csrf = console.csrf(second)
    short = second.post(
        "/console/account/password",
        data={"csrf_token": csrf, "current": PASSWORD, "new": "short", "repeat": "short"},
    )
    assert short.status_code == 422 and "At least 10 characters." in short.text
    new = "a brand new passphrase"
    ok = second.post(
        "/console/account/password",
        data={"csrf_token": csrf, "current": PASSWORD, "new": new, "repeat": new},
    )
    assert ok.status_code == 303
    assert second.get("/console/members").status_code == 200
    assert first.get("/console/members").status_code == 303
    assert login(console.anonymous(), email_of(Role.MANAGER), new).status_code == 303


def test_settings_default_session_length_is_used(console: Console) -> None:
    assert isinstance(console.settings, Settings)
    client = console.client(Role.OWNER)
    with console.session() as s:
        row = s.exec(select(ConsoleSession)).one()
    assert row.expires_at - row.created_at == timedelta(seconds=console.settings.session_ttl_s)
    assert client.get("/console/account").status_code == 200


def test_console_answers_forbid_framing_and_foreign_scripts(console: Console) -> None:
    client = console.anonymous()
    for path in ("/console/login", "/console/dashboard", "/console/static/console.css"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY", path
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/console/login").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/console/static/console.js").headers.get(
        "cache-control", ""
    )
    assert "content-security-policy" not in client.get("/health").headers  # the API's own


def test_a_totp_code_of_other_digits_is_refused_not_a_crash() -> None:
    secret = totp.new_secret()
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    for code in ("١٢٣٤٥٦", "12345²", "²²²²²²"):
        assert totp.verify(secret, code, now=now, last_step=0) is None
