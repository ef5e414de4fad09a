"""Sign-in links: emailed, signed, expiring, and good for one sign-in.

A member types their email; if a member has it, the hub emails a link
``<public_url>/portal/login/<token>.<signature>``.  The token is random; only its
SHA-256 hash is stored (a :class:`~hub.models.PortalLink` row), with its expiry::

    link = issue_link(db, member=member, clock=clock, settings=settings)   # caller commits
    link.url                     # what the email carries
    ...
    member = peek_link(db, token, clock=clock, settings=settings)   # the confirm page
    member = redeem_link(db, token, clock=clock, settings=settings) # signs in, once

Opening the link shows a page with a "Sign in" button and only that button's POST
redeems it, so mail scanners that fetch every link in a message do not use it up.  A
forged, unknown, expired or used link raises :class:`LinkRefused` with a ``reason``
(``invalid``, ``expired``, ``used``) the page explains.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.console.sessions import sign, unsign
from hub.core.config import Settings
from hub.core.security import token_hash
from hub.models import Member, MemberStatus, PortalLink

#: How long an emailed link can be used.
LINK_TTL = timedelta(minutes=20)


class LinkRefused(Exception):
    """A sign-in link that cannot be used; ``reason`` is ``invalid``, ``expired`` or
    ``used``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"sign-in link {reason}")
        self.reason = reason


@dataclass(frozen=True)
class IssuedLink:
    """A new sign-in link: its row and the URL to email."""

    row: PortalLink
    url: str


def issue_link(
    db: Session, *, member: Member, clock: Clock, settings: Settings, client: str | None = None
) -> IssuedLink:
    """A new link for *member*, valid for :data:`LINK_TTL` (flushed; caller commits)."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    row = PortalLink(
        token_hash=token_hash(token),
        member_id=member.id or 0,
        created_at=now,
        expires_at=now + LINK_TTL,
        client=(client or "")[:64] or None,
    )
    db.add(row)
    db.flush()
    url = f"{settings.public_url.rstrip('/')}/portal/login/{sign(token, settings, 'portal-link')}"
    return IssuedLink(row, url)


def _find(db: Session, signed: str, settings: Settings) -> PortalLink:
    token = unsign(signed, settings, "portal-link")
    if token is None:
        raise LinkRefused("invalid")
    row = db.exec(select(PortalLink).where(PortalLink.token_hash == token_hash(token))).first()
    if row is None:
        raise LinkRefused("invalid")
    return row


def _member(db: Session, row: PortalLink) -> Member:
    member = db.get(Member, row.member_id)
    if member is None or member.status == MemberStatus.CANCELLED.value:
        raise LinkRefused("invalid")
    return member


def peek_link(db: Session, signed: str, *, clock: Clock, settings: Settings) -> Member:
    """The member a usable link signs in, without using it."""
    row = _find(db, signed, settings)
    if row.used_at is not None:
        raise LinkRefused("used")
    if row.expires_at <= clock.now():
        raise LinkRefused("expired")
    return _member(db, row)


def redeem_link(db: Session, signed: str, *, clock: Clock, settings: Settings) -> Member:
    """Use the link: the member it signs in.  A conditional update marks it used, so of
    two requests racing with one link only one signs in.  Caller commits."""
    row = _find(db, signed, settings)
    now = clock.now()
    if row.used_at is not None:
        raise LinkRefused("used")
    if row.expires_at <= now:
        raise LinkRefused("expired")
    member = _member(db, row)
    taken = db.execute(  # type: ignore[call-overload]
        update(PortalLink)
        .where(col(PortalLink.id) == row.id, col(PortalLink.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise LinkRefused("used")
    return member


def purge_expired(db: Session, *, clock: Clock, keep: timedelta = timedelta(days=1)) -> None:
    """Forget links that expired more than *keep* ago (caller commits)."""
    db.execute(delete(PortalLink).where(col(PortalLink.expires_at) < clock.now() - keep))  # type: ignore[call-overload]
