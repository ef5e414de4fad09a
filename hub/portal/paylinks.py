"""The hub's pay links: :class:`hub.dunning.paylink.PayLinks` keyed from the hub's secret.

Dunning emails carry ``<public_url>/portal/pay/<token>``; the portal verifies the token
with the same key::

    links = pay_links(settings)
    url = links.url(str(member.id), str(invoice.id), expires_at=now + timedelta(days=14))
    ids = claim_ids(links.verify(token, now=clock.now()))    # (member_id, invoice_id)

Claims name the member and the invoice either by their ids (``"7"``) or with a prefix
(``"m-7"``, ``"inv-41"``); both are understood.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from hub.core.config import Settings
from hub.dunning.paylink import PayLinkClaims, PayLinkInvalid, PayLinks

_ID = re.compile(r"^(?:[a-z]+[-:])?([0-9]{1,18})$")


def pay_link_secret(settings: Settings) -> bytes:
    """The pay-link signing key, derived from ``GATEHOUSE_SECRET_KEY``."""
    root = hashlib.sha256(settings.secret_key.encode()).digest()
    return hmac.digest(root, b"gatehouse-pay-links", "sha256")


def pay_links(settings: Settings) -> PayLinks:
    """The hub's :class:`PayLinks` (links open ``<public_url>/portal/pay/<token>``)."""
    return PayLinks(
        pay_link_secret(settings), base_url=f"{settings.public_url.rstrip('/')}/portal/pay"
    )


def claim_ids(claims: PayLinkClaims) -> tuple[int, int]:
    """``(member_id, invoice_id)`` of verified claims (:class:`PayLinkInvalid` if they
    do not name database rows)."""
    ids = []
    for value in (claims.member_id, claims.invoice_id):
        found = _ID.match(value)
        if found is None:
            raise PayLinkInvalid(f"pay link names no row: {value!r}")
        ids.append(int(found.group(1)))
    return ids[0], ids[1]
