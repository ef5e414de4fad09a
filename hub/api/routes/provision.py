"""Gates claim their configuration here with the one-time token from ``gate add``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from hub.api.deps import ClockDep, SessionDep, SettingsDep
from hub.services.gates import ClaimRefused, claim_gate

router = APIRouter(prefix="/provision", tags=["provisioning"])


class Claim(BaseModel):
    token: str = Field(min_length=1, max_length=200)


@router.post(
    "/claim",
    responses={410: {"description": "token unknown, already used or expired"}},
)
def claim(
    body: Claim, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """Exchange a claim token for the gate's config (site, gate, MQTT, keys), once."""
    try:
        config = claim_gate(session, token=body.token, clock=clock, settings=settings)
    except ClaimRefused as err:
        raise HTTPException(status.HTTP_410_GONE, str(err)) from None
    session.commit()
    return config
