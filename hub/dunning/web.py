"""The public tracking endpoints of dunning messages: the open pixel and click redirect.

They need no login -- a member's mail client calls them -- and trust only what the
signed token says (:mod:`hub.dunning.tracking`), so nobody can forge an open or turn
the redirect into an open redirect. The first open and the first click of each message
are stored on its :class:`~hub.models.DunningMessage` (analytics per step and channel)::

    GET /t/o/<token>.gif   -> a 1x1 GIF; opened_at set
    GET /t/c/<token>       -> 302 to the pay link; clicked_at (and opened_at) set

    GET  /t/u/<token>      -> a page with one button to unsubscribe from marketing
    POST /t/u/<token>      -> records the member's opt-out (also the one-click
                              ``List-Unsubscribe-Post`` of mail clients)

A token that does not verify gets a 404 (and the pixel still answers, so a mail client
shows no broken image); nothing is written.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import update
from sqlmodel import col

from hub.api.deps import SessionDep
from hub.dunning.links import TRACK_PATH, tracker, unsubscribes
from hub.dunning.tracking import PIXEL_GIF, TrackingTokenInvalid
from hub.dunning.unsubscribe import UnsubscribeTokenInvalid, opt_out
from hub.models import DunningMessage

router = APIRouter(prefix=TRACK_PATH, include_in_schema=False)

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _mark(db: SessionDep, key: str, column: str, now: object) -> None:
    field = getattr(DunningMessage, column)
    db.execute(
        update(DunningMessage)
        .where(col(DunningMessage.key) == key, col(field).is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )


@router.get("/o/{token}")
def opened(token: str, request: Request, db: SessionDep) -> Response:
    """The open pixel: records the first open of the message."""
    try:
        key = tracker(request.app.state.settings).open_event(token)
    except TrackingTokenInvalid:
        return Response(PIXEL_GIF, media_type="image/gif", headers=_NO_STORE)
    _mark(db, key, "opened_at", request.app.state.clock.now())
    db.commit()
    return Response(PIXEL_GIF, media_type="image/gif", headers=_NO_STORE)


@router.get("/c/{token}")
def clicked(token: str, request: Request, db: SessionDep) -> Response:
    """The click redirect: records the first click (and an open), then sends the member on."""
    try:
        event = tracker(request.app.state.settings).click_event(token)
    except TrackingTokenInvalid:
        return Response("unknown link", status_code=404, media_type="text/plain")
    now = request.app.state.clock.now()
    _mark(db, event.message_key, "clicked_at", now)
    _mark(db, event.message_key, "opened_at", now)  # a click implies the message was seen
    db.commit()
    return RedirectResponse(event.target, status_code=302, headers=_NO_STORE)


_UNSUBSCRIBE_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>Unsubscribe</title></head><body>
<p>{text}</p>{form}</body></html>"""
_FORM = (
    '<form method="post"><button type="submit">'
    "Stop payment reminders / หยุดรับข้อความเตือน</button></form>"
)


def _member_of(request: Request, token: str) -> int | None:
    try:
        return unsubscribes(request.app.state.settings).member_of(token)
    except UnsubscribeTokenInvalid:
        return None


@router.get("/u/{token}")
def unsubscribe_page(token: str, request: Request) -> Response:
    """Asks to confirm (a mail scanner following links must not unsubscribe anyone)."""
    if _member_of(request, token) is None:
        return Response("unknown link", status_code=404, media_type="text/plain")
    text = (
        "Unsubscribe from payment reminders? Notices required by your membership terms "
        "will still be sent."
    )
    return HTMLResponse(_UNSUBSCRIBE_PAGE.format(text=text, form=_FORM), headers=_NO_STORE)


@router.post("/u/{token}")
def unsubscribe(token: str, request: Request, db: SessionDep) -> Response:
    """Records the opt-out (the first one counts)."""
    member_id = _member_of(request, token)
    if member_id is None or not opt_out(db, member_id=member_id, now=request.app.state.clock.now()):
        return Response("unknown link", status_code=404, media_type="text/plain")
    db.commit()
    text = (
        "You will get no more payment reminders. Notices required by your membership "
        "terms will still be sent. / ท่านจะไม่ได้รับข้อความเตือนการชำระเงินอีก"
    )
    return HTMLResponse(_UNSUBSCRIBE_PAGE.format(text=text, form=""), headers=_NO_STORE)
