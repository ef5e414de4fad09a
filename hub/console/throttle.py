"""Slowing down password guessing: failed sign-ins counted per email and per address.

Five failures for one email within 15 minutes lock that email for 15 minutes; thirty
from one client address lock the address.  Counting is by the email typed, whether or
not such a user exists, so the answers never tell an attacker which emails are real::

    keys = throttle_keys(email, client)
    if is_locked(db, keys, now):            # same answer for every email
        ...
    record_failure(db, keys, now)           # wrong password, unknown email, bad code
    clear(db, keys[0])                      # a successful sign-in

Rows live in the database, so several hub replicas share them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, or_

from hub.models import LoginThrottle

WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
MAX_EMAIL_FAILURES = 5
MAX_CLIENT_FAILURES = 30


def throttle_keys(email: str, client: str | None) -> list[str]:
    """The throttle keys of a sign-in: its email and its client address."""
    keys = [f"email:{email.strip().lower()[:254]}"]
    if client:
        keys.append(f"ip:{client[:64]}")
    return keys


def _limit(key: str) -> int:
    return MAX_EMAIL_FAILURES if key.startswith("email:") else MAX_CLIENT_FAILURES


def is_locked(db: Session, keys: list[str], now: datetime) -> bool:
    """True while any of *keys* is locked out."""
    for key in keys:
        row = db.get(LoginThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            return True
    return False


def record_failure(db: Session, keys: list[str], now: datetime) -> bool:
    """Count a failure for each key; returns True if one is now locked (caller commits)."""
    locked = False
    for key in keys:
        row = db.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_started_at=now)
        if now - row.window_started_at > WINDOW:
            row.failures = 0
            row.window_started_at = now
        row.failures += 1
        if row.failures >= _limit(key):
            row.locked_until = now + LOCKOUT
            row.failures = 0
            row.window_started_at = now
            locked = True
        db.add(row)
    return locked


def purge(db: Session, now: datetime) -> None:
    """Forget counters whose window and lockout are over, so guessing many emails cannot
    grow the table without end (caller commits)."""
    db.exec(  # type: ignore[call-overload]
        delete(LoginThrottle).where(
            col(LoginThrottle.window_started_at) < now - WINDOW,
            or_(col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) < now),
        )
    )


def clear(db: Session, key: str) -> None:
    """Forget the failures of *key* (after a successful sign-in)."""
    row = db.get(LoginThrottle, key)
    if row is not None:
        db.delete(row)
