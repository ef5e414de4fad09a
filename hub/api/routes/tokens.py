"""API tokens for integrations: shown once, stored hashed, revocable."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import select

from hub.api import crud
from hub.api.deps import ClockDep, Manager, SessionDep
from hub.models import APIToken, Role
from hub.models.user import APITokenCreate, APITokenIssued, APITokenPublic
from hub.services.users import issue_api_token

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("")
def list_tokens(session: SessionDep, _: Manager) -> list[APITokenPublic]:
    rows = session.exec(select(APIToken).where(APIToken.kind == "api")).all()
    return [APITokenPublic.model_validate(r) for r in rows]


@router.post("", status_code=201)
def make_token(
    body: APITokenCreate, session: SessionDep, clock: ClockDep, user: Manager
) -> APITokenIssued:
    """Make a token for an integration; the ``token`` is in this answer only."""
    if body.role == Role.OWNER and user.role != Role.OWNER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an owner may make owner tokens")
    row, token = issue_api_token(
        session, name=body.name, role=body.role.value, clock=clock, user_id=None
    )
    row.expires_at = body.expires_at
    crud.log(session, clock=clock, user=user, action="token.create", row=row)
    session.commit()
    return APITokenIssued(**APITokenPublic.model_validate(row).model_dump(), token=token)


@router.delete("/{token_id}", status_code=204)
def revoke_token(token_id: int, session: SessionDep, clock: ClockDep, user: Manager) -> None:
    row = crud.get_or_404(session, APIToken, token_id)
    row.revoked = True
    session.add(row)
    crud.log(session, clock=clock, user=user, action="token.revoke", row=row)
    session.commit()
