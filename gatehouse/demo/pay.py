"""The hero pays: the pay link in the latest dunning email, followed as a member would.

The member opens the link in the newest email dunning sent them (the click goes
through the hub's tracking redirect, so the click is counted), which leads to the
portal's pay page ``/portal/pay/<token>``; there they enter a card that works (the
simulated gateway's ``4242 4242 4242 4242``) and pay.  The payment is the one the
portal makes: :func:`hub.dunning.payments.pay_open_invoice` with the link's token::

    line = pay_by_link(hub=hub, clock=clock, gateway=gateway, outbox=folder,
                       address="ploy@example.org")

Paying settles the invoice, closes the dunning case and reinstates the member; the
gates get the member back within a second.
"""

from __future__ import annotations

import email
import email.policy
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gatehouse.clock import Clock
from hub.dunning.paylink import PayLinks
from hub.dunning.payments import pay_open_invoice

GOOD_CARD = "4242424242424242"
_LINK = re.compile(r"https?://\S+")


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


def pay_by_link(*, hub: Any, clock: Clock, gateway: Any, outbox: Path, address: str) -> str:
    """Pay the invoice of the newest pay link emailed to *address* with a good new card;
    returns a line for people."""
    link = pay_link(outbox, address)
    if link is None:
        return "no pay link emailed"
    token = PayLinks.token_from_url(link)
    result = pay_open_invoice(engine=hub.engine, settings=hub.settings, clock=clock,
                              gateway=gateway, token=token, card_source=GOOD_CARD,
                              request_key=f"demo:{token[-16:]}")  # fmt: skip
    return f"invoice {result.invoice_id} {result.status} through the emailed pay link"
