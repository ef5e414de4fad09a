"""``/portal/pay/<token>``: a dunning email's link, good without signing in.

The token is verified with the hub's :func:`~hub.portal.paylinks.pay_links`; a tampered
one gets a "this link is not valid" page (400), an expired one a "this link has
expired, sign in instead" page (410).  A ``pay`` link shows the invoice and the pay
form; an ``update_card`` link the card form (the new card becomes the default), then
the pay form while the invoice is open.  The forms carry a form token of the visitor's
own (there is no session).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hub.api.deps import SessionDep
from hub.billing.render import invoice_view
from hub.console.deps import FormDep
from hub.console.forms import text_field
from hub.console.i18n import LANGUAGES
from hub.dunning.paylink import PayLinkClaims, PayLinkExpired, PayLinkInvalid
from hub.models import Invoice, InvoiceStatus, Member, MemberStatus
from hub.portal import account, sessions
from hub.portal.deps import error_page, language_of, member_site, portal_of
from hub.portal.paylinks import claim_ids, pay_links
from hub.portal.routes.paying import (
    PayAttempt,
    add_card,
    gateway_of,
    new_pay_key,
    pay,
    read_card,
    takes_test_cards,
)
from hub.portal.web import render

router = APIRouter()

PAYABLE = (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value)


def _resolve(
    request: Request, db: Session, token: str
) -> tuple[PayLinkClaims, Member, Invoice] | Response:
    app = request.app
    try:
        claims = pay_links(app.state.settings).verify(token[:2000], now=app.state.clock.now())
        member_id, invoice_id = claim_ids(claims)
    except PayLinkExpired:
        return error_page(request, 410, "paylink_expired")
    except PayLinkInvalid:
        return error_page(request, 400, "paylink_invalid")
    member = db.get(Member, member_id)
    invoice = account.own_invoice(db, member_id=member_id, invoice_id=invoice_id)
    if member is None or invoice is None or member.status == MemberStatus.CANCELLED.value:
        return error_page(request, 404, "paylink_invalid")
    return claims, member, invoice


def _page(
    request: Request,
    db: Session,
    token: str,
    claims: PayLinkClaims,
    member: Member,
    invoice: Invoice,
    *,
    attempt: PayAttempt | None = None,
    card_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = request.app.state.settings
    form_token, cookie = sessions.anonymous_form_token(request, settings)
    t = portal_of(request).catalog.translator(language_of(request, member))
    site = member_site(db, member.id or 0)
    gateway = gateway_of(request)
    attempt = attempt or PayAttempt()
    errors = {k: t(v) for k, v in {**attempt.errors, **(card_errors or {})}.items()}
    response = render(
        request, "paylink.html", t=t, csrf_token=form_token,
        timezone=site.timezone if site else "UTC", claims=claims, link_member=member,
        invoice=invoice, view=invoice_view(db, invoice.id or 0, language=t.language),
        payable=invoice.status in PAYABLE and invoice.total > 0,
        methods=account.saved_methods(db, member.id or 0, gateway.name),
        test_cards=takes_test_cards(request), pay_key=new_pay_key(), errors=errors,
        values=attempt.values, alert=attempt.alert(t), action=f"/portal/pay/{token}",
        status_code=status_code,
    )  # fmt: skip
    sessions.remember_form_token(response, cookie, settings)
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        sessions.set_cookie(response, sessions.LANGUAGE_COOKIE, lang, settings, 365 * 86400)
    return response


@router.get("/pay/{token}", response_class=HTMLResponse)
def pay_link(request: Request, db: SessionDep, token: str) -> Response:
    """The invoice a pay link names, with the pay (or card) form."""
    found = _resolve(request, db, token)
    if isinstance(found, Response):
        return found
    return _page(request, db, token, *found)


@router.post("/pay/{token}", response_class=HTMLResponse)
def pay_by_link(request: Request, db: SessionDep, form: FormDep, token: str) -> Response:
    """Pay the invoice (``action=pay``) or save a new default card (``action=card``)."""
    found = _resolve(request, db, token)
    if isinstance(found, Response):
        return found
    claims, member, invoice = found
    if not sessions.anonymous_form_ok(
        request, text_field(form, "csrf_token", 200), request.app.state.settings
    ):
        return error_page(request, 403, "csrf")
    actor = f"paylink:member:{member.id}"
    if text_field(form, "action", 8) == "card":
        if not takes_test_cards(request):
            return RedirectResponse(f"/portal/pay/{token}", status_code=303)
        pm, errors = add_card(request, db, member, read_card(form, request), make_default=True,
                              actor=actor)  # fmt: skip
        if pm is None:
            return _page(request, db, token, claims, member, invoice, card_errors=errors,
                         status_code=422)  # fmt: skip
        return RedirectResponse(f"/portal/pay/{token}?msg=card_saved", status_code=303)
    if invoice.status not in PAYABLE:
        return RedirectResponse(f"/portal/pay/{token}?msg=nothing_due", status_code=303)
    attempt = pay(request, db, member=member, invoice=invoice, form=form, actor=actor)
    if attempt.outcome is not None and attempt.outcome.paid:
        return RedirectResponse(f"/portal/pay/{token}?msg=paid", status_code=303)
    db.expire_all()
    fresh = db.get(Invoice, invoice.id)
    assert fresh is not None
    return _page(request, db, token, claims, member, fresh, attempt=attempt,
                 status_code=422 if attempt.errors else 402)  # fmt: skip
