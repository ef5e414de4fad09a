"""``POST /login/access-token`` is throttled like the console's sign-in page: five
failures lock an email, thirty lock an address, and no answer tells which emails exist."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gatehouse.clock import ManualClock
from hub.app import create_app
from hub.core.config import Settings

URL = "/api/v1/login/access-token"
GOOD = "correct horse battery"


def _login(c: TestClient, email: str, password: str) -> tuple[int, str]:
    r = c.post(URL, data={"username": email, "password": password})
    return r.status_code, r.json().get("detail", "token" if "access_token" in r.json() else "")


def _client(engine: Engine, settings: Settings, clock: ManualClock, host: str) -> TestClient:
    return TestClient(create_app(settings, clock=clock, engine=engine), client=(host, 50000))


def test_an_email_locks_after_five_failures_real_or_not(
    engine: Engine, settings: Settings, clock: ManualClock, owner_email: str
) -> None:
    with _client(engine, settings, clock, "203.0.113.5") as c:
        answers = {}
        for email in (owner_email, "nobody@club.example"):
            answers[email] = [_login(c, email, f"guess {i}") for i in range(7)]
        # An unknown email gets exactly the answers a real one gets, failure by failure.
        assert answers[owner_email] == answers["nobody@club.example"]
        codes = [code for code, _ in answers[owner_email]]
        assert codes == [401, 401, 401, 401, 429, 429, 429]
        # Locked: even the right password is refused, with the same answer.
        assert _login(c, owner_email, GOOD) == answers[owner_email][-1]
        # Another email from the same address is not locked (30 per address).
        assert _login(c, "other@club.example", "x")[0] == 401

        clock.advance(minutes=16)
        assert _login(c, owner_email, GOOD) == (200, "token")


def test_success_resets_the_count(
    engine: Engine, settings: Settings, clock: ManualClock, owner_email: str
) -> None:
    with _client(engine, settings, clock, "203.0.113.6") as c:
        for _ in range(2):
            assert [_login(c, owner_email, "nope")[0] for _ in range(4)] == [401] * 4
            assert _login(c, owner_email, GOOD) == (200, "token")  # clears the four
        # The count is live again: the fifth failure in a row locks (any case, one key).
        codes = [_login(c, owner_email.upper(), "nope")[0]] + [
            _login(c, owner_email, "nope")[0] for _ in range(4)
        ]
        assert codes == [401, 401, 401, 401, 429]


def test_an_address_guessing_many_emails_is_locked(
    engine: Engine, settings: Settings, clock: ManualClock, owner_email: str
) -> None:
    with _client(engine, settings, clock, "198.51.100.7") as guesser:
        codes = [_login(guesser, f"user{i}@club.example", "guess")[0] for i in range(31)]
        assert codes[:29] == [401] * 29 and codes[29:] == [429, 429]
        assert _login(guesser, owner_email, GOOD)[0] == 429  # the address, any email
    with _client(engine, settings, clock, "198.51.100.8") as member:
        assert _login(member, owner_email, GOOD) == (200, "token")  # others unaffected
