"""Cards: UIDs typed as hex, kept for re-keying, never listed beyond their last 4 digits.

Adding, deactivating, moving or deleting a card changes the member's records at every
site where they hold entitlements.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import Session, col, select

from hub.access.changes import access_changed
from hub.api import crud
from hub.api.deps import ClockDep, CurrentUser, Principal, SessionDep, Staff
from hub.models import Card, Member
from hub.models.member import CardCreate, CardPublic, CardUpdate
from hub.services.audit import snapshot_of

router = APIRouter(prefix="/cards", tags=["cards"])


def _lists_changed(
    session: Session, card: Card, clock: ClockDep, user: Principal, reason: str
) -> None:
    for site_id in crud.member_sites(session, card.member_id):
        access_changed(
            session,
            site_id=site_id,
            reason=reason,
            clock=clock,
            member_ids=[card.member_id],
            actor=user.actor,
        )


@router.get("")
def list_cards(
    session: SessionDep,
    _: CurrentUser,
    member_id: int | None = None,
    limit: int = crud.Limit,
    offset: int = crud.Offset,
) -> list[CardPublic]:
    q = select(Card)
    if member_id is not None:
        q = q.where(Card.member_id == member_id)
    rows = session.exec(q.order_by(col(Card.id)).offset(offset).limit(limit)).all()
    return [CardPublic.of(c) for c in rows]


@router.post("", status_code=201)
def add_card(body: CardCreate, session: SessionDep, clock: ClockDep, user: Staff) -> CardPublic:
    crud.must_exist(session, Member, body.member_id, "member_id")
    if session.exec(select(Card.id).where(Card.uid_hex == body.uid)).first():
        raise HTTPException(status.HTTP_409_CONFLICT, "this card is already registered")
    card = Card(
        member_id=body.member_id,
        uid_hex=body.uid,
        label=body.label,
        active=body.active,
        created_at=clock.now(),
    )
    session.add(card)
    session.flush()
    crud.log(session, clock=clock, user=user, action="card.create", row=card)
    _lists_changed(session, card, clock, user, f"card {card.id} added")
    session.commit()
    return CardPublic.of(card)


@router.get("/{card_id}")
def read_card(card_id: int, session: SessionDep, _: CurrentUser) -> CardPublic:
    return CardPublic.of(crud.get_or_404(session, Card, card_id))


@router.patch("/{card_id}")
def edit_card(
    card_id: int, body: CardUpdate, session: SessionDep, clock: ClockDep, user: Staff
) -> CardPublic:
    card = crud.get_or_404(session, Card, card_id)
    before = snapshot_of(card)
    crud.apply_update(card, body)
    session.add(card)
    crud.log(session, clock=clock, user=user, action="card.update", row=card, before=before)
    _lists_changed(session, card, clock, user, f"card {card_id} updated")
    session.commit()
    return CardPublic.of(card)


@router.delete("/{card_id}", status_code=204)
def delete_card(card_id: int, session: SessionDep, clock: ClockDep, user: Staff) -> None:
    card = crud.get_or_404(session, Card, card_id)
    before = snapshot_of(card)
    session.delete(card)
    session.flush()
    crud.log(
        session, clock=clock, user=user, action="card.delete", row=card, before=before, deleted=True
    )
    _lists_changed(session, card, clock, user, f"card {card_id} deleted")
    session.commit()
