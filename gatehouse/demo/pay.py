"""The hero pays: the pay link in the latest dunning email, followed as a member would.

The member opens the link in the newest email dunning sent them (the click goes
through the hub's tracking redirect, so the click is counted), which leads to the
member portal's pay page ``/portal/pay/<token>``; there they type a card that works
(the simulated gateway's ``4242 4242 4242 4242``) into the pay form and send it, over
HTTP with the page's own form keys.  A hub without the portal pages pays the same way
the portal does, through :func:`hub.dunning.payments.pay_open_invoice` with the link's
token::

    line = pay_by_link(hub=hub, clock=clock, gateway=gateway, outbox=folder,
                       address="ploy@example.org")

Paying settles the invoice, closes the dunning case and reinstates the member; the
gates get the member back within a second.
"""

from __future__ import annotations

import email
import email.policy
import html
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from gatehouse.clock import Clock
from hub.dunning.paylink import PayLinks
from hub.dunning.payments import pay_open_invoice

GOOD_CARD = "4242424242424242"
_LINK = re.compile(r"https?://\S+")
_INPUT = re.compile(r"<input\b[^>]*>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _links(outbox: Path, address: str) -> list[str]:
    """Links in the emails to *address*, newest email last (by file time)."""
    found: list[tuple[float, str]] = []
    for path in outbox.glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address not in str(msg.get("To", "")):
            continue
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        found += [(path.stat().st_mtime, link) for link in _LINK.findall(text)]
    return [link for _, link in sorted(found)]


def follow(url: str) -> str:
    """Open *url* like a mail client would, without following a redirect; returns
    where it leads (the URL itself when it does not redirect)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as answer:
            return str(answer.geturl())
    except urllib.error.HTTPError as err:
        if err.code in (301, 302, 303, 307, 308) and err.headers.get("Location"):
            return str(err.headers["Location"])
        raise


def pay_link(outbox: Path, address: str) -> str | None:
    """The portal pay link of the newest dunning email to *address*, or ``None``."""
    for link in reversed(_links(outbox, address)):
        target = link if "/portal/pay/" in link else follow(link) if "/t/c/" in link else ""
        if "/portal/pay/" in target:
            return target
    return None


def _form_fields(page: str, form_id: str) -> dict[str, str]:
    """Hidden fields of the form with id *form_id* in an HTML *page*."""
    start = page.index(f'id="{form_id}"')
    form = page[start : page.index("</form>", start)]
    fields = {}
    for tag in _INPUT.findall(form):
        attrs = dict(_ATTR.findall(tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def page_of(err: urllib.error.HTTPError) -> str:
    """The body of an HTTP error answer ('' if unreadable)."""
    try:
        return err.read().decode(errors="replace")
    except OSError:
        return ""


def pay_in_portal(link: str, *, card: str = GOOD_CARD, year: int) -> str | None:
    """Open the portal's pay page at *link* and pay with a new *card*; returns where the
    form led (``...?msg=paid`` when paid), or ``None`` when the hub has no portal."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    try:
        with opener.open(link, timeout=10) as answer:
            page = answer.read().decode()
    except urllib.error.HTTPError as err:
        if err.code == 404 and page_of(err).strip() == '{"detail":"Not Found"}':
            return None  # no route there: this hub serves no portal
        return f"{link} answered {err.code}"  # e.g. 400: the portal refused the link
    if 'id="pay-form"' not in page:
        return None
    fields = _form_fields(page, "pay-form")
    fields.update(action="pay", method="new", number=card, exp_month="12", exp_year=str(year + 3))
    data = urllib.parse.urlencode(fields).encode()
    try:
        with opener.open(link, data=data, timeout=30) as answer:
            return str(answer.geturl())
    except urllib.error.HTTPError as err:  # 402 declined, 422 form errors
        return f"{link} answered {err.code}"


def pay_by_link(*, hub: Any, clock: Clock, gateway: Any, outbox: Path, address: str) -> str:
    """Pay the invoice of the newest pay link emailed to *address* with a good new card
    (in the portal when the hub serves it); returns a line for people."""
    link = pay_link(outbox, address)
    if link is None:
        return "no pay link emailed"
    landed = pay_in_portal(link, year=clock.now().year)
    if landed is not None:
        how = "paid" if "msg=paid" in landed else f"not paid ({landed})"
        return f"{how} in the member portal through the emailed pay link"
    token = PayLinks.token_from_url(link)
    result = pay_open_invoice(engine=hub.engine, settings=hub.settings, clock=clock,
                              gateway=gateway, token=token, card_source=GOOD_CARD,
                              request_key=f"demo:{token[-16:]}")  # fmt: skip
    return f"invoice {result.invoice_id} {result.status} through the emailed pay link"
