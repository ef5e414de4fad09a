"""Members: search, profile, create and edit (with messages per field), status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, col, func, or_, select

from hub.api.deps import SessionDep
from hub.console.deps import (
    FormDep,
    MemberEditor,
    MemberViewer,
    PageNotFound,
    Viewer,
    pick_site,
    sites,
)
from hub.console.formatting import local
from hub.console.forms import (
    bad_characters,
    field_errors,
    form_fields,
    int_param,
    present,
    text_field,
)
from hub.console.permissions import Perm
from hub.console.web import console_of, render
from hub.models import (
    Card,
    CheckIn,
    Door,
    Entitlement,
    Gate,
    Member,
    MemberInteraction,
    MemberStatus,
    Site,
    Zone,
)
from hub.models.console import InteractionKind
from hub.models.member import MemberCreate, MemberUpdate
from hub.services import members as member_service
from protocol.cardkey import parse_uid
from protocol.errors import ProtocolError

router = APIRouter(prefix="/members")

PAGE_SIZE = 50
_DATE = TypeAdapter(date)
FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "emergency_contact",
    "date_of_birth",
    "notes",
)
#: What each status button does: (from statuses, to status).
STATUS_ACTIONS = {
    "suspend": ({MemberStatus.ACTIVE}, MemberStatus.SUSPENDED),
    "reinstate": ({MemberStatus.SUSPENDED, MemberStatus.CANCELLED}, MemberStatus.ACTIVE),
    "cancel": ({MemberStatus.ACTIVE, MemberStatus.SUSPENDED}, MemberStatus.CANCELLED),
}


def get_member(db: Session, member_id: int) -> Member:
    """The member, or :class:`PageNotFound`."""
    found = db.get(Member, member_id) if 0 < member_id < 2**31 else None
    if found is None:
        raise PageNotFound()
    return found


def _search(db: Session, q: str, status: str, offset: int) -> tuple[list[Member], int]:
    query = select(Member)
    count = select(func.count()).select_from(Member)
    conditions = []
    if q:
        like = f"%{q}%"
        conditions.append(
            or_(
                col(Member.first_name).ilike(like),
                col(Member.last_name).ilike(like),
                col(Member.email).ilike(like),
                col(Member.phone).ilike(like),
                (col(Member.first_name) + " " + col(Member.last_name)).ilike(like),
            )
        )
        try:
            uid = parse_uid(q).hex()
        except ProtocolError:
            uid = None
        if uid:
            owner = select(Card.member_id).where(Card.uid_hex == uid)
            conditions[-1] = or_(conditions[-1], col(Member.id).in_(owner))
    if status in {s.value for s in MemberStatus}:
        conditions.append(col(Member.status) == status)
    for cond in conditions:
        query = query.where(cond)
        count = count.where(cond)
    rows = db.exec(
        query.order_by(col(Member.last_name), col(Member.first_name), col(Member.id))
        .offset(offset)
        .limit(PAGE_SIZE)
    ).all()
    return list(rows), int(db.exec(count).one())


@router.get("", response_class=HTMLResponse)
def member_list(
    request: Request,
    db: SessionDep,
    viewer: MemberViewer,
    q: str = "",
    status: str = "",
    offset: str = "",
) -> HTMLResponse:
    """Find members by name, email, phone or card UID."""
    q, status, start = q[:100], status[:16], int_param(offset, 0, 0, 10**7)
    rows, total = _search(db, q.strip(), status, start)
    site = pick_site(db, None)
    return render(
        request, "members/list.html", viewer=viewer, timezone=site.timezone if site else "UTC",
        rows=rows, total=total, q=q, status=status, offset=start, page_size=PAGE_SIZE,
        statuses=[s.value for s in MemberStatus],
    )  # fmt: skip


def _validate(form_data: dict[str, str | None], viewer: Viewer, today: date) -> tuple[Any, dict]:
    errors: dict[str, str] = {}
    data = None
    try:
        data = MemberCreate.model_validate(present(form_data))
    except ValidationError as err:
        errors = field_errors(err, viewer.t)
    errors.update(bad_characters(form_data, viewer.t))
    dob = form_data.get("date_of_birth")
    if dob and "date_of_birth" not in errors:
        try:
            born = _DATE.validate_python(dob)
        except ValidationError:
            born = None
        if born is None or not date(1900, 1, 1) <= born <= today:
            errors["date_of_birth"] = viewer.t("form.invalid_date")
    return (None if errors else data), errors


def _form_page(
    request: Request,
    viewer: Viewer,
    *,
    member: Member | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request, "members/form.html", viewer=viewer, member=member, values=values,
        errors=errors, status_code=status_code,
    )  # fmt: skip


@router.get("/new", response_class=HTMLResponse)
def new_member_form(request: Request, viewer: MemberEditor) -> HTMLResponse:
    """An empty member form."""
    return _form_page(request, viewer, member=None, values={}, errors={})


@router.post("/new", response_class=HTMLResponse)
def create_member(
    request: Request, db: SessionDep, form: FormDep, viewer: MemberEditor
) -> Response:
    """Add a member; bad fields come back with a message beside each."""
    clock = request.app.state.clock
    values = form_fields(form, FIELDS)
    data, errors = _validate(values, viewer, clock.now().date())
    if data is not None:
        try:
            member = member_service.create_member(db, data=data, clock=clock, actor=viewer.actor)
            db.commit()
            return RedirectResponse(
                f"/console/members/{member.id}?msg=member_created", status_code=303
            )
        except member_service.MemberConflict as err:
            db.rollback()
            errors = {err.field: viewer.t("members.email_taken")}
    return _form_page(request, viewer, member=None, values=values, errors=errors, status_code=422)


@router.get("/{member_id}", response_class=HTMLResponse)
def member_page(
    request: Request,
    member_id: int,
    db: SessionDep,
    viewer: MemberViewer,
    enroll_gate: str = "",
    after: str = "",
) -> HTMLResponse:
    """A member's profile: contact, status, cards, check-ins, entitlements, notes."""
    member = get_member(db, member_id)
    gate = int_param(enroll_gate, 0, 1) or None
    mark = int_param(after, 0, 0, 2**62)
    return render_member(request, db, viewer, member, enroll_gate=gate, after=mark)


def render_member(
    request: Request,
    db: Session,
    viewer: Viewer,
    member: Member,
    *,
    enroll_gate: int | None = None,
    after: int = 0,
    card_errors: dict[str, str] | None = None,
    card_values: dict[str, Any] | None = None,
    note_errors: dict[str, str] | None = None,
    ent_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The member page, with any form's errors (used by the card/note/entitlement forms)."""
    site = pick_site(db, None)
    timezone = site.timezone if site else "UTC"
    cards = db.exec(select(Card).where(Card.member_id == member.id).order_by(col(Card.id))).all()
    checkins = db.exec(
        select(CheckIn, Door)
        .join(Door, col(Door.id) == CheckIn.door_id, isouter=True)
        .where(CheckIn.member_id == member.id)
        .order_by(col(CheckIn.ts).desc(), col(CheckIn.id).desc())
        .limit(20)
    ).all()
    ents = db.exec(
        select(Entitlement, Site)
        .join(Site, col(Site.id) == Entitlement.site_id)
        .where(Entitlement.member_id == member.id)
        .order_by(col(Entitlement.valid_from).desc())
    ).all()
    notes = db.exec(
        select(MemberInteraction)
        .where(MemberInteraction.member_id == member.id)
        .order_by(col(MemberInteraction.at).desc(), col(MemberInteraction.id).desc())
        .limit(50)
    ).all()
    gates: Sequence[tuple[Gate, Door, Site]] = []
    if viewer.can(Perm.CARDS_ENROLL):
        gates = db.exec(
            select(Gate, Door, Site)
            .join(Door, col(Door.id) == Gate.door_id)
            .join(Site, col(Site.id) == Gate.site_id)
            .order_by(col(Gate.online).desc(), col(Site.id), col(Door.name))
        ).all()
    now = request.app.state.clock.now()
    start_30 = now - timedelta(days=30)
    visits_30 = db.exec(
        select(func.count())
        .select_from(CheckIn)
        .where(
            CheckIn.member_id == member.id,
            col(CheckIn.allowed).is_(True),
            CheckIn.ts >= start_30,
        )
    ).one()
    site_list = sites(db)
    panels = [
        found
        for panel in console_of(request).member_panels
        if (found := panel(db, viewer, member)) is not None
    ]
    zones = {
        s.id: db.exec(select(Zone).where(Zone.site_id == s.id).order_by(col(Zone.number))).all()
        for s in site_list
    }
    return render(
        request, "members/detail.html", viewer=viewer, timezone=timezone, member=member,
        cards=cards, checkins=checkins, entitlements=ents, notes=notes, gates=gates,
        enroll_gate=enroll_gate, after=after, visits_30=visits_30, sites=site_list,
        zones=zones, status_actions=_allowed_actions(member), now=now,
        today=local(now, timezone).date().isoformat(),
        interaction_kinds=[k.value for k in InteractionKind],
        card_errors=card_errors or {}, card_values=card_values or {},
        note_errors=note_errors or {}, ent_errors=ent_errors or {}, panels=panels,
        status_code=status_code,
    )  # fmt: skip


def _allowed_actions(member: Member) -> list[str]:
    return [action for action, (sources, _) in STATUS_ACTIONS.items() if member.status in sources]


@router.get("/{member_id}/edit", response_class=HTMLResponse)
def edit_member_form(
    request: Request, member_id: int, db: SessionDep, viewer: MemberEditor
) -> HTMLResponse:
    """The member form, filled in."""
    member = get_member(db, member_id)
    values = {name: getattr(member, name) for name in FIELDS}
    return _form_page(request, viewer, member=member, values=values, errors={})


@router.post("/{member_id}/edit", response_class=HTMLResponse)
def edit_member(
    request: Request, member_id: int, db: SessionDep, form: FormDep, viewer: MemberEditor
) -> Response:
    """Save the member form."""
    clock = request.app.state.clock
    member = get_member(db, member_id)
    values = form_fields(form, FIELDS)
    data, errors = _validate(values, viewer, clock.now().date())
    if data is not None:
        update = MemberUpdate.model_validate({name: getattr(data, name) for name in FIELDS})
        try:
            member_service.update_member(
                db, member=member, data=update, clock=clock, actor=viewer.actor
            )
            db.commit()
            return RedirectResponse(
                f"/console/members/{member_id}?msg=member_saved", status_code=303
            )
        except member_service.MemberConflict as err:
            db.rollback()
            errors = {err.field: viewer.t("members.email_taken")}
    return _form_page(request, viewer, member=member, values=values, errors=errors, status_code=422)


@router.post("/{member_id}/status")
def change_status(
    request: Request,
    member_id: int,
    db: SessionDep,
    form: FormDep,
    viewer: MemberEditor,
) -> Response:
    """Suspend, reinstate or cancel (the doors hear of it within a second)."""
    action = text_field(form, "action", 16)
    member = get_member(db, member_id)
    if action not in STATUS_ACTIONS or action not in _allowed_actions(member):
        return RedirectResponse(
            f"/console/members/{member_id}?msg=status_unchanged", status_code=303
        )
    _, target = STATUS_ACTIONS[action]
    member_service.set_status(
        db, member=member, status=target, clock=request.app.state.clock, actor=viewer.actor
    )
    db.commit()
    return RedirectResponse(f"/console/members/{member_id}?msg=status_{action}", status_code=303)
