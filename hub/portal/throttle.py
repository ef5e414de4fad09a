"""Slowing down sign-in link requests: counted per email typed and per client address.

Three links for one email within 15 minutes, or twenty from one address, and further
requests are refused until the window is over.  Requests are counted by the email
typed, whether or not a member has it, so the answer never tells which emails are real::

    keys = request_keys(email, client)
    if not allow_request(db, keys, now):     # the same for every email
        ...                                  # 429: wait
    db.commit()

The counters live in the console's ``loginthrottle`` table (keys ``portal-email:...``
and ``portal-ip:...``), so several hub replicas share them and the console's purge
forgets old ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from hub.models import LoginThrottle

WINDOW = timedelta(minutes=15)
MAX_PER_EMAIL = 3
MAX_PER_CLIENT = 20


def request_keys(email: str, client: str | None) -> list[str]:
    """The keys a link request counts against: its email and its client address."""
    keys = [f"portal-email:{email.strip().lower()[:254]}"]
    if client:
        keys.append(f"portal-ip:{client[:64]}")
    return keys


def _limit(key: str) -> int:
    return MAX_PER_EMAIL if key.startswith("portal-email:") else MAX_PER_CLIENT


def allow_request(db: Session, keys: list[str], now: datetime) -> bool:
    """Count one request against each key; False if any key is over its limit (then
    nothing is counted, so waiting out the window is enough).  Caller commits."""
    rows = []
    for key in keys:
        row = db.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_started_at=now)
        if now - row.window_started_at > WINDOW:
            row.failures = 0
            row.window_started_at = now
            row.locked_until = None
        if row.failures >= _limit(key):
            row.locked_until = row.window_started_at + WINDOW
            db.add(row)
            return False
        rows.append(row)
    for row in rows:
        row.failures += 1
        db.add(row)
    return True
