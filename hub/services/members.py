"""Members, their cards, entitlements and notes: changes that reach the doors.

Each function changes the session, writes the audit row and, when access is affected,
calls :func:`hub.access.changes.access_changed` for every site concerned, all in the
caller's transaction; the caller commits::

    member = create_member(session, data=MemberCreate(...), clock=clock, actor="user:3")
    set_status(session, member=member, status=MemberStatus.SUSPENDED, clock=clock,
               actor="user:3")
    add_card(session, member=member, uid="04:A1:B2:C3", label="blue fob", clock=clock,
             actor="user:3")
    session.commit()                   # gates get the new records within a second
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.access.changes import access_changed
from hub.models import Card, Entitlement, Member, MemberInteraction, MemberStatus, Site
from hub.models.console import MemberInteractionCreate
from hub.models.member import MemberCreate, MemberUpdate
from hub.services import audit


class MemberConflict(ValueError):
    """A change that clashes with existing data; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _sites_of(session: Session, member_id: int) -> list[int]:
    rows = session.exec(
        select(Entitlement.site_id).where(Entitlement.member_id == member_id).distinct()
    ).all()
    return sorted(rows)


def _lists_changed(session: Session, member_id: int, reason: str, clock: Clock, actor: str) -> None:
    for site_id in _sites_of(session, member_id):
        access_changed(
            session, site_id=site_id, reason=reason, clock=clock, member_ids=[member_id],
            actor=actor,
        )  # fmt: skip


def _log(session: Session, clock: Clock, actor: str, action: str, row: object, before=None) -> None:  # type: ignore[no-untyped-def]
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=action,
        entity=type(row).__name__.lower(),
        entity_id=getattr(row, "id", None),
        site_id=getattr(row, "site_id", None),
        before=before,
        after=audit.snapshot_of(row),  # type: ignore[arg-type]
    )


def email_taken(session: Session, email: str, other_than: int | None = None) -> bool:
    """True if another member already uses *email*."""
    found = session.exec(select(Member.id).where(Member.email == email)).first()
    return found is not None and found != other_than


def create_member(session: Session, *, data: MemberCreate, clock: Clock, actor: str) -> Member:
    """Add a member (flushed).

    :raises MemberConflict: the email is taken.
    """
    if email_taken(session, data.email):
        raise MemberConflict("email", f"a member with {data.email} exists")
    now = clock.now()
    member = Member.model_validate(data, update={"created_at": now, "updated_at": now})
    member.status = MemberStatus(data.status).value
    session.add(member)
    session.flush()
    _log(session, clock, actor, "member.create", member)
    return member


def update_member(
    session: Session, *, member: Member, data: MemberUpdate, clock: Clock, actor: str
) -> Member:
    """Change a member's profile (and status, if given).

    :raises MemberConflict: the new email is taken.
    """
    if data.email and email_taken(session, data.email, member.id):
        raise MemberConflict("email", f"a member with {data.email} exists")
    before = audit.snapshot_of(member)
    changes = data.model_dump(exclude_unset=True)
    status = changes.pop("status", None)
    for key, value in changes.items():
        setattr(member, key, value)
    member.updated_at = clock.now()
    session.add(member)
    _log(session, clock, actor, "member.update", member, before)
    if status is not None and MemberStatus(status).value != member.status:
        set_status(session, member=member, status=MemberStatus(status), clock=clock, actor=actor)
    return member


def set_status(
    session: Session, *, member: Member, status: MemberStatus, clock: Clock, actor: str
) -> bool:
    """Suspend, reinstate or cancel a member; their records change on every site.

    Returns False when the member already had *status*.
    """
    if member.status == status.value:
        return False
    before = audit.snapshot_of(member)
    member.status = status.value
    member.updated_at = clock.now()
    session.add(member)
    session.flush()
    _log(session, clock, actor, f"member.{status.value}", member, before)
    _lists_changed(session, member.id or 0, f"member {member.id} {status.value}", clock, actor)
    return True


def card_taken(session: Session, uid_hex: str) -> bool:
    """True if a card with this UID (lowercase hex) is registered."""
    return session.exec(select(Card.id).where(Card.uid_hex == uid_hex)).first() is not None


def add_card(
    session: Session, *, member: Member, uid_hex: str, label: str | None, clock: Clock, actor: str
) -> Card:
    """Register a card (UID as lowercase hex) for *member*.

    :raises MemberConflict: the card belongs to someone already.
    """
    if card_taken(session, uid_hex):
        raise MemberConflict("uid", "this card is already registered")
    card = Card(
        member_id=member.id or 0,
        uid_hex=uid_hex,
        label=label or None,
        active=True,
        created_at=clock.now(),
    )
    session.add(card)
    session.flush()
    _log(session, clock, actor, "card.create", card)
    _lists_changed(session, card.member_id, f"card {card.id} added", clock, actor)
    return card


def set_card_active(
    session: Session, *, card: Card, active: bool, clock: Clock, actor: str
) -> None:
    """Turn a card off (lost, returned) or back on."""
    if card.active == active:
        return
    before = audit.snapshot_of(card)
    card.active = active
    session.add(card)
    session.flush()
    _log(session, clock, actor, "card.update", card, before)
    state = "activated" if active else "deactivated"
    _lists_changed(session, card.member_id, f"card {card.id} {state}", clock, actor)


def grant_entitlement(
    session: Session,
    *,
    member: Member,
    site: Site,
    zones: int,
    valid_from: datetime,
    valid_until: datetime | None,
    clock: Clock,
    actor: str,
    source: str = "manual",
) -> Entitlement:
    """Let *member* into *zones* of *site* from *valid_from* until *valid_until*."""
    now = clock.now()
    ent = Entitlement(
        member_id=member.id or 0,
        site_id=site.id or 0,
        zones=zones,
        valid_from=valid_from,
        valid_until=valid_until,
        source=source,
        created_at=now,
        updated_at=now,
    )
    session.add(ent)
    session.flush()
    _log(session, clock, actor, "entitlement.create", ent)
    access_changed(
        session, site_id=ent.site_id, reason=f"entitlement {ent.id} added", clock=clock,
        member_ids=[ent.member_id], actor=actor,
    )  # fmt: skip
    return ent


def end_entitlement(
    session: Session, *, entitlement: Entitlement, clock: Clock, actor: str
) -> None:
    """End an entitlement now (it stays in the history)."""
    now = clock.now()
    if entitlement.valid_until is not None and entitlement.valid_until <= now:
        return
    before = audit.snapshot_of(entitlement)
    entitlement.valid_until = max(now, entitlement.valid_from)
    if entitlement.valid_until <= entitlement.valid_from:
        session.delete(entitlement)
        session.flush()
        audit.record(
            session, clock=clock, actor=actor, action="entitlement.delete",
            entity="entitlement", entity_id=entitlement.id, site_id=entitlement.site_id,
            before=before,
        )  # fmt: skip
    else:
        entitlement.updated_at = now
        session.add(entitlement)
        session.flush()
        _log(session, clock, actor, "entitlement.update", entitlement, before)
    access_changed(
        session, site_id=entitlement.site_id, reason=f"entitlement {entitlement.id} ended",
        clock=clock, member_ids=[entitlement.member_id], actor=actor,
    )  # fmt: skip


def add_interaction(
    session: Session,
    *,
    member: Member,
    data: MemberInteractionCreate,
    clock: Clock,
    actor: str,
    author_name: str = "",
) -> MemberInteraction:
    """Note a call, visit, email or remark on a member's profile."""
    row = MemberInteraction(
        member_id=member.id or 0,
        at=clock.now(),
        kind=data.kind.value,
        text=data.text,
        author=actor,
        author_name=author_name[:120],
    )
    session.add(row)
    session.flush()
    return row
