"""The gate fleet: state of every gate, commands (unlock, resync, enroll mode), adding
a gate with a one-time claim token and its QR code for the installer."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from hub.api.deps import SessionDep
from hub.console.deps import FormDep, GateAdder, GateCommander, GateViewer, PageNotFound, sites
from hub.console.forms import bad_characters, form_fields, int_param
from hub.console.qr import qr_svg
from hub.console.web import render
from hub.models import Door, Gate, GateKind, Site
from hub.models.checks import check_name, check_slug
from hub.mqtt.commands import issue_command
from hub.services import audit
from hub.services.gates import provision_gate, slug_from

router = APIRouter(prefix="/gates")

UNLOCK_SECONDS = (3, 5, 10, 30)
ENROLL_SECONDS = 60


def fleet(db: Session) -> list[dict[str, Any]]:
    """Every gate with its door, site and how far its list is behind."""
    rows = db.exec(
        select(Gate, Door, Site)
        .join(Door, col(Door.id) == Gate.door_id)
        .join(Site, col(Site.id) == Gate.site_id)
        .order_by(col(Site.id), col(Door.name), col(Gate.slug))
    ).all()
    out = []
    for gate, door, site in rows:
        rejected = dict(gate.gate_rejected or {})
        hub_rejected = dict(gate.hub_rejected or {})
        out.append(
            {
                "gate": gate,
                "door": door,
                "site": site,
                "behind": max(0, site.list_version - gate.list_version_acked),
                "gate_rejected": rejected,
                "hub_rejected": hub_rejected,
                "rejected_total": sum(int(v) for v in rejected.values() if isinstance(v, int))
                + sum(int(v) for v in hub_rejected.values() if isinstance(v, int)),
            }
        )
    return out


@router.get("", response_class=HTMLResponse)
def gates(request: Request, db: SessionDep, viewer: GateViewer) -> HTMLResponse:
    """Online state, last seen, list version, outbox, firmware and refusals per gate."""
    rows = fleet(db)
    first = rows[0]["site"] if rows else None
    return render(
        request, "gates/list.html", viewer=viewer, timezone=first.timezone if first else "UTC",
        rows=rows, unlock_seconds=UNLOCK_SECONDS,
        mqtt_running=getattr(request.app.state, "mqtt", None) is not None,
    )  # fmt: skip


@router.get("/status.json")
def gates_status(request: Request, db: SessionDep, viewer: GateViewer) -> JSONResponse:
    """The fleet's live state, for the page's polling."""
    now = request.app.state.clock.now()
    body = {
        str(r["gate"].id): {
            "online": r["gate"].online,
            "last_seen": r["gate"].last_seen.isoformat() if r["gate"].last_seen else None,
            "seconds_ago": int((now - r["gate"].last_seen).total_seconds())
            if r["gate"].last_seen
            else None,
            "version": r["gate"].list_version_acked,
            "behind": r["behind"],
            "outbox": r["gate"].outbox_depth,
        }
        for r in fleet(db)
    }
    return JSONResponse({"gates": body}, headers={"Cache-Control": "no-store"})


def _gate(db: Session, gate_id: int) -> Gate:
    gate = db.get(Gate, gate_id) if 0 < gate_id < 2**31 else None
    if gate is None:
        raise PageNotFound()
    return gate


def _command(
    request: Request, db: Session, viewer: Any, gate: Gate, op: str, args: dict[str, Any]
) -> Response:
    mqtt = getattr(request.app.state, "mqtt", None)
    if mqtt is None:
        return RedirectResponse("/console/gates?msg=mqtt_off", status_code=303)
    cmd = issue_command(
        db, gate_id=gate.id or 0, op=op, args=args, actor=viewer.actor,
        clock=request.app.state.clock,
    )  # fmt: skip
    db.commit()
    mqtt.publish_command(gate.id or 0, cmd)
    return RedirectResponse(f"/console/gates?msg=cmd_{op}#gate-{gate.id}", status_code=303)


@router.post("/{gate_id}/unlock")
def unlock(
    request: Request, gate_id: int, db: SessionDep, form: FormDep, viewer: GateCommander
) -> Response:
    """Open the door for a few seconds (recorded in the audit log before it is sent)."""
    gate = _gate(db, gate_id)
    raw = form.get("seconds")
    seconds = int_param(raw if isinstance(raw, str) else None, default=5, high=999)
    if seconds not in UNLOCK_SECONDS:
        seconds = 5
    return _command(request, db, viewer, gate, "unlock", {"seconds": seconds})


@router.post("/{gate_id}/resync")
def resync(request: Request, gate_id: int, db: SessionDep, viewer: GateCommander) -> Response:
    """Ask the gate to fetch a fresh snapshot of its access list."""
    return _command(request, db, viewer, _gate(db, gate_id), "resync", {})


@router.post("/{gate_id}/enroll")
def enroll_mode(request: Request, gate_id: int, db: SessionDep, viewer: GateCommander) -> Response:
    """Put the gate in enroll mode: the next cards tapped are reported, not decided."""
    return _command(request, db, viewer, _gate(db, gate_id), "enroll", {"seconds": ENROLL_SECONDS})


def _doors(db: Session) -> list[tuple[Door, Site]]:
    return list(
        db.exec(
            select(Door, Site)
            .join(Site, col(Site.id) == Door.site_id)
            .order_by(col(Site.id), col(Door.name))
        ).all()
    )


def _add_form(
    request: Request, db: Session, viewer: Any, values: dict[str, Any], errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    return render(
        request, "gates/new.html", viewer=viewer, sites=sites(db), doors=_doors(db),
        kinds=[k.value for k in GateKind], values=values, errors=errors, status_code=status_code,
    )  # fmt: skip


@router.get("/new", response_class=HTMLResponse)
def add_gate_form(request: Request, db: SessionDep, viewer: GateAdder) -> HTMLResponse:
    """The form to add a gate (at an existing door or a new one)."""
    return _add_form(request, db, viewer, {"kind": GateKind.PI.value}, {})


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


@router.post("/new", response_class=HTMLResponse)
def add_gate(request: Request, db: SessionDep, form: FormDep, viewer: GateAdder) -> Response:
    """Create the gate and show its one-time claim token (and QR code) once."""
    t = viewer.t
    values: dict[str, Any] = form_fields(
        form, ("site_id", "door_id", "new_door", "zone", "slug", "kind")
    )
    errors: dict[str, str] = bad_characters(values, t)
    site = db.get(Site, _int(values["site_id"]) or 0) if _int(values["site_id"]) else None
    if site is None:
        errors["site_id"] = t("form.invalid_choice")
    door = None
    new_door = values["new_door"]
    zone = _int(values["zone"]) or 0
    if new_door:
        try:
            new_door = check_name(new_door)
        except ValueError:
            new_door = None
        if not new_door or len(new_door) > 80:
            errors["new_door"] = t("form.too_long", max_length=80)
        if not 0 <= zone <= 15:
            errors["zone"] = t("form.out_of_range")
        if (
            site is not None
            and db.exec(select(Door).where(Door.site_id == site.id, Door.name == new_door)).first()
        ):
            errors["new_door"] = t("gates.door_exists")
    else:
        door = db.get(Door, _int(values["door_id"]) or 0) if _int(values["door_id"]) else None
        if door is None or (site is not None and door.site_id != site.id):
            errors["door_id"] = t("gates.pick_door")
    kind = values["kind"] or GateKind.PI.value
    if kind not in {k.value for k in GateKind}:
        errors["kind"] = t("form.invalid_choice")
    slug = values["slug"] or slug_from(new_door or (door.name if door else ""))
    try:
        check_slug(slug)
    except ValueError:
        errors["slug"] = t("form.invalid_slug")
    if (
        site is not None
        and "slug" not in errors
        and db.exec(select(Gate).where(Gate.site_id == site.id, Gate.slug == slug)).first()
    ):
        errors["slug"] = t("gates.slug_taken")
    if errors or site is None:
        return _add_form(request, db, viewer, values, errors, status_code=422)
    clock, settings = request.app.state.clock, request.app.state.settings
    if door is None:
        door = Door(site_id=site.id or 0, name=new_door or "", zone=zone)
        db.add(door)
        db.flush()
        audit.record(
            db, clock=clock, actor=viewer.actor, action="door.create", entity="door",
            entity_id=door.id, site_id=site.id, after=audit.snapshot_of(door),
        )  # fmt: skip
    gate, claim, token = provision_gate(
        db, site=site, door=door, slug=slug, kind=kind, clock=clock, settings=settings
    )
    audit.record(
        db, clock=clock, actor=viewer.actor, action="gate.create", entity="gate",
        entity_id=gate.id, site_id=site.id, after=audit.snapshot_of(gate),
    )  # fmt: skip
    db.commit()
    payload = json.dumps({"hub": settings.public_url, "token": token}, separators=(",", ":"))
    response = render(
        request, "gates/claim.html", viewer=viewer, timezone=site.timezone, gate=gate,
        door=door, site=site, token=token, expires_at=claim.expires_at,
        qr=qr_svg(payload, scale=5, title="claim token"), hub_url=settings.public_url,
        payload=payload, status_code=201,
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response
