"""Gates: the fleet view, provisioning (claim tokens) and commands."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from sqlmodel import col, select

from hub.api import crud
from hub.api.deps import (
    ClockDep,
    CurrentUser,
    Installer,
    Manager,
    MqttDep,
    SessionDep,
    SettingsDep,
    Staff,
)
from hub.models import Door, Gate, Role, Site
from hub.models.gate import GateCommand, GateCreate, GateProvisioned, GatePublic
from hub.mqtt.commands import issue_command
from hub.services.gates import provision_gate
from hub.services.key_rotation import DEFAULT_OVERLAP_S, RotationInProgress, rotate_gate_key

router = APIRouter(prefix="/gates", tags=["gates"])


@router.get("")
def list_gates(
    session: SessionDep, _: CurrentUser, site_id: int | None = None, online: bool | None = None
) -> list[GatePublic]:
    """Every gate with its fleet state: online, last seen, list version, outbox, clock."""
    q = select(Gate)
    if site_id is not None:
        q = q.where(Gate.site_id == site_id)
    if online is not None:
        q = q.where(Gate.online == online)
    return [GatePublic.model_validate(g) for g in session.exec(q.order_by(col(Gate.id))).all()]


@router.post("", status_code=201)
def add_gate(
    body: GateCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    user: Installer,
) -> GateProvisioned:
    """Create a gate; the answer holds its one-time claim token (shown once)."""
    crud.must_exist(session, Site, body.site_id, "site_id")
    crud.must_exist(session, Door, body.door_id, "door_id")
    site = crud.get_or_404(session, Site, body.site_id)
    door = crud.get_or_404(session, Door, body.door_id)
    if door.site_id != site.id:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["body", "door_id"],
                    "type": "value_error",
                    "msg": "door belongs to another site",
                }
            ],
        )
    taken = select(Gate.id).where(Gate.site_id == site.id, Gate.slug == body.slug)
    if session.exec(taken).first():
        raise HTTPException(status.HTTP_409_CONFLICT, f"gate {body.slug!r} exists at this site")
    gate, claim, token = provision_gate(
        session,
        site=site,
        door=door,
        slug=body.slug,
        kind=body.kind.value,
        clock=clock,
        settings=settings,
    )
    crud.log(session, clock=clock, user=user, action="gate.create", row=gate)
    session.commit()
    public = GatePublic.model_validate(gate).model_dump()
    return GateProvisioned(**public, claim_token=token, claim_expires_at=claim.expires_at)


@router.get("/{gate_id}")
def read_gate(gate_id: int, session: SessionDep, _: CurrentUser) -> GatePublic:
    return GatePublic.model_validate(crud.get_or_404(session, Gate, gate_id))


@router.post("/{gate_id}/commands", status_code=202)
def command_gate(
    gate_id: int,
    body: GateCommand,
    session: SessionDep,
    clock: ClockDep,
    mqtt: MqttDep,
    user: Staff,
) -> dict[str, Any]:
    """Send ``unlock``, ``enroll``, ``resync`` or ``time``; recorded before it is sent."""
    crud.get_or_404(session, Gate, gate_id)
    if body.op.value in ("enroll", "resync") and user.role == Role.FRONT_DESK:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "front desk may only unlock")
    if mqtt is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the MQTT service is not running")
    cmd = issue_command(
        session, gate_id=gate_id, op=body.op.value, args=body.args, actor=user.actor, clock=clock
    )
    session.commit()
    mqtt.publish_command(gate_id, cmd)
    return cmd


@router.post("/{gate_id}/rotate-key", status_code=202)
def rotate_key(
    gate_id: int,
    session: SessionDep,
    clock: ClockDep,
    mqtt: MqttDep,
    user: Manager,
    overlap_s: int = DEFAULT_OVERLAP_S,
) -> dict[str, Any]:
    """Give the gate a new HMAC key, sent to it sealed under the old one.

    Both keys are accepted until ``overlap_until``; the answer names the key ids, never
    a key.  ``409`` while the previous rotation's overlap is still running.
    """
    crud.get_or_404(session, Gate, gate_id)
    if mqtt is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the MQTT service is not running")
    if not 60 <= overlap_s <= 30 * 86400:
        raise HTTPException(422, "overlap_s must be between 60 and 2592000")
    try:
        cmd = rotate_gate_key(
            session, gate_id=gate_id, clock=clock, actor=user.actor, overlap_s=overlap_s
        )
    except RotationInProgress as err:
        raise HTTPException(status.HTTP_409_CONFLICT, str(err)) from None
    session.commit()
    gate = crud.get_or_404(session, Gate, gate_id)
    mqtt.registry.forget(gate_id)
    mqtt.publish_command(gate_id, cmd)
    return {
        "gate_id": gate_id,
        "key_id": gate.key_id,
        "previous_key_id": gate.prev_key_id,
        "overlap_until": gate.prev_key_until,
        "command": cmd["n"],
    }
