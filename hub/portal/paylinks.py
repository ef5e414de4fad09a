"""The hub's pay links as the portal reads them.

Dunning emails carry ``<public_url>/portal/pay/<token>``, minted by
:func:`hub.dunning.links.pay_links`; the portal verifies the token with that same key::

    links = pay_links(settings)
    url = links.url(str(member.id), str(invoice.id), expires_at=now + timedelta(days=14))
    ids = claim_ids(links.verify(token, now=clock.now()))    # (member_id, invoice_id)

Claims name the member and the invoice either by their ids (``"7"``) or with a prefix
(``"m-7"``, ``"inv-41"``); both are understood.
"""

from __future__ import annotations

import re

from hub.dunning.links import pay_links
from hub.dunning.paylink import PayLinkClaims, PayLinkInvalid

__all__ = ["claim_ids", "pay_links"]

_ID = re.compile(r"^(?:[a-z]+[-:])?([0-9]{1,18})$")


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
