"""A member's cards (typed or tapped at a gate), entitlements and notes.

"Tap to enroll": staff pick a gate; the hub sends it the ``enroll`` command over MQTT
and the member page polls ``enroll/taps.json`` until the card's UID arrives from the
gate (:class:`hub.console.enroll.TapLog`), then fills it into the card form.
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import select

from hub.api.deps import SessionDep
from hub.console.attendance import day_bounds
from hub.console.deps import (
    Enroller,
    EntitlementEditor,
    FormDep,
    MemberEditor,
    PageNotFound,
)
from hub.console.forms import bad_characters, field_errors, form_fields, int_param
from hub.console.routes.members import get_member, render_member
from hub.console.web import console_of
from hub.models import Card, Entitlement, Gate, Site
from hub.models.console import MemberInteractionCreate
from hub.mqtt.commands import issue_command
from hub.services import members as member_service
from protocol.cardkey import parse_uid
from protocol.errors import ProtocolError

router = APIRouter(prefix="/members")

ENROLL_SECONDS = 60


def format_uid(uid_hex: str) -> str:
    """``04a1b2c3`` → ``04:A1:B2:C3``."""
    return ":".join(uid_hex[i : i + 2] for i in range(0, len(uid_hex), 2)).upper()


@router.post("/{member_id}/cards", response_class=HTMLResponse)
def add_card(
    request: Request, member_id: int, db: SessionDep, form: FormDep, viewer: MemberEditor
) -> Response:
    """Register a card by its UID (typed, or filled in by a tap at a gate)."""
    member = get_member(db, member_id)
    values = form_fields(form, ("uid", "label"))
    errors: dict[str, str] = {}
    uid_hex = ""
    try:
        uid_hex = parse_uid(values["uid"] or "").hex()
    except ProtocolError:
        errors["uid"] = viewer.t("form.invalid_uid")
    label = values["label"]
    errors.update(bad_characters({"label": label}, viewer.t))
    if label and len(label) > 80:
        errors["label"] = viewer.t("form.too_long", max_length=80)
    if not errors:
        try:
            member_service.add_card(
                db, member=member, uid_hex=uid_hex, label=label, clock=request.app.state.clock,
                actor=viewer.actor,
            )  # fmt: skip
            db.commit()
            return RedirectResponse(
                f"/console/members/{member_id}?msg=card_added#cards", status_code=303
            )
        except member_service.MemberConflict:
            db.rollback()
            errors["uid"] = viewer.t("cards.taken")
    return render_member(
        request, db, viewer, member, card_errors=errors, card_values=values, status_code=422
    )


@router.post("/{member_id}/cards/{card_id}/active")
def set_card_active(
    request: Request,
    member_id: int,
    card_id: int,
    db: SessionDep,
    form: FormDep,
    viewer: MemberEditor,
) -> Response:
    """Turn a card off (lost) or on again."""
    get_member(db, member_id)
    card = db.get(Card, card_id) if 0 < card_id < 2**31 else None
    if card is None or card.member_id != member_id:
        raise PageNotFound()
    active = form.get("active") == "1"
    member_service.set_card_active(
        db, card=card, active=active, clock=request.app.state.clock, actor=viewer.actor
    )
    db.commit()
    msg = "card_on" if active else "card_off"
    return RedirectResponse(f"/console/members/{member_id}?msg={msg}#cards", status_code=303)


@router.post("/{member_id}/enroll")
def start_enroll(
    request: Request, member_id: int, db: SessionDep, form: FormDep, viewer: Enroller
) -> Response:
    """Put a gate in enroll mode for this member's next card."""
    get_member(db, member_id)
    raw = form.get("gate_id")
    gate_id = int_param(raw if isinstance(raw, str) else None, high=999_999_999)
    gate = db.get(Gate, gate_id) if gate_id else None
    if gate is None:
        return RedirectResponse(f"/console/members/{member_id}?msg=no_gate#cards", status_code=303)
    mqtt = getattr(request.app.state, "mqtt", None)
    if mqtt is None:
        return RedirectResponse(f"/console/members/{member_id}?msg=mqtt_off#cards", status_code=303)
    mark = console_of(request).taps.open_window()
    cmd = issue_command(
        db, gate_id=gate_id, op="enroll", args={"seconds": ENROLL_SECONDS}, actor=viewer.actor,
        clock=request.app.state.clock,
    )  # fmt: skip
    db.commit()
    mqtt.publish_command(gate_id, cmd)
    return RedirectResponse(
        f"/console/members/{member_id}?enroll_gate={gate_id}&after={mark}#cards", status_code=303
    )


@router.get("/{member_id}/enroll/taps.json")
def enroll_taps(
    request: Request,
    member_id: int,
    db: SessionDep,
    viewer: Enroller,
    gate_id: str = "",
    after: str = "",
) -> JSONResponse:
    """Cards tapped at the gate since enroll mode started (newest last)."""
    get_member(db, member_id)
    gate = int_param(gate_id, 0, 1)
    taps = console_of(request).taps.taps(gate_id=gate, after=int_param(after, 0, 0, 2**62))
    out = []
    for n, tap in taps:
        card = db.exec(select(Card).where(Card.uid_hex == tap.uid)).first()
        out.append(
            {
                "n": n,
                "uid": format_uid(tap.uid),
                "registered": card is not None,
                "mine": card is not None and card.member_id == member_id,
            }
        )
    return JSONResponse({"taps": out}, headers={"Cache-Control": "no-store"})


@router.post("/{member_id}/notes", response_class=HTMLResponse)
def add_note(
    request: Request, member_id: int, db: SessionDep, form: FormDep, viewer: MemberEditor
) -> Response:
    """Note a call, a visit, an email or a remark."""
    member = get_member(db, member_id)
    values = form_fields(form, ("kind", "text"))
    errors = bad_characters(values, viewer.t)
    try:
        data = MemberInteractionCreate.model_validate(
            {k: v for k, v in values.items() if v is not None}
        )
    except ValidationError as err:
        errors = {**field_errors(err, viewer.t), **errors}
    if errors:
        return render_member(request, db, viewer, member, note_errors=errors, status_code=422)
    member_service.add_interaction(
        db, member=member, data=data, clock=request.app.state.clock, actor=viewer.actor,
        author_name=viewer.user.full_name,
    )  # fmt: skip
    db.commit()
    return RedirectResponse(f"/console/members/{member_id}?msg=note_added#notes", status_code=303)


def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if date(2000, 1, 1) <= day <= date(2200, 1, 1) else None


@router.post("/{member_id}/entitlements", response_class=HTMLResponse)
def grant(
    request: Request, member_id: int, db: SessionDep, form: FormDep, viewer: EntitlementEditor
) -> Response:
    """Give access to zones of a site from one day until (and including) another."""
    member = get_member(db, member_id)
    t = viewer.t
    values = form_fields(form, ("site_id", "valid_from", "valid_until"))
    errors: dict[str, str] = {}
    site_raw = values["site_id"] or ""
    site_id = int_param(site_raw, high=999_999_999)
    site = db.get(Site, site_id) if site_id else None
    if site is None:
        errors["site_id"] = t("form.invalid_choice")
    zones = 0
    for raw in form.getlist("zones"):
        if isinstance(raw, str) and raw.isascii() and raw.isdigit() and int(raw) <= 15:
            zones |= 1 << int(raw)
    if not zones:
        errors["zones"] = t("entitlements.pick_zone")
    start_day = _parse_day(values["valid_from"])
    if start_day is None:
        errors["valid_from"] = t("form.invalid_date")
    end_day = _parse_day(values["valid_until"]) if values["valid_until"] else None
    if values["valid_until"] and end_day is None:
        errors["valid_until"] = t("form.invalid_date")
    if start_day and end_day and end_day < start_day:
        errors["valid_until"] = t("entitlements.end_before_start")
    if errors or site is None or start_day is None:
        return render_member(request, db, viewer, member, ent_errors=errors, status_code=422)
    valid_from: datetime = day_bounds(start_day, site.timezone)[0]
    valid_until = day_bounds(end_day, site.timezone)[1] if end_day else None
    member_service.grant_entitlement(
        db, member=member, site=site, zones=zones, valid_from=valid_from,
        valid_until=valid_until, clock=request.app.state.clock, actor=viewer.actor,
    )  # fmt: skip
    db.commit()
    return RedirectResponse(
        f"/console/members/{member_id}?msg=entitlement_added#entitlements", status_code=303
    )


@router.post("/{member_id}/entitlements/{entitlement_id}/end")
def end_entitlement(
    request: Request,
    member_id: int,
    entitlement_id: int,
    db: SessionDep,
    viewer: EntitlementEditor,
) -> Response:
    """End an entitlement now."""
    get_member(db, member_id)
    ent = db.get(Entitlement, entitlement_id) if 0 < entitlement_id < 2**31 else None
    if ent is None or ent.member_id != member_id:
        raise PageNotFound()
    member_service.end_entitlement(
        db, entitlement=ent, clock=request.app.state.clock, actor=viewer.actor
    )
    db.commit()
    return RedirectResponse(
        f"/console/members/{member_id}?msg=entitlement_ended#entitlements", status_code=303
    )
