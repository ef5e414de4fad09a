"""Pay links: signed, expiring links to the member portal for one open invoice.

A link lets a member pay the invoice (or update their card) without logging in, so it
carries only what the portal needs and is signed (HMAC-SHA256) with an expiry::

    links = PayLinks(secret, base_url="https://lumpini.example/portal/pay")
    url = links.url("m-7", "inv-9", expires_at=now + timedelta(days=14))
    # https://lumpini.example/portal/pay/eyJlIjoxNz....Qk3x
    claims = links.verify(PayLinks.token_from_url(url), now=clock.now())
    claims.member_id, claims.invoice_id, claims.purpose   # 'm-7', 'inv-9', 'pay'

A tampered, truncated or foreign link raises :class:`PayLinkInvalid`; one used after its
expiry raises :class:`PayLinkExpired`. The portal still checks the invoice is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from hub.dunning.case import check_aware
from hub.dunning.signing import BadToken, TokenSigner

Purpose = Literal["pay", "update_card"]
PURPOSES: tuple[Purpose, ...] = ("pay", "update_card")


class PayLinkError(ValueError):
    """A pay link that cannot be honoured."""


class PayLinkInvalid(PayLinkError):
    """Tampered with, truncated, or not one of ours."""


class PayLinkExpired(PayLinkError):
    """Genuine, but past its expiry."""


@dataclass(frozen=True)
class PayLinkClaims:
    """What a verified pay link grants: *purpose* for one member's one invoice, until
    *expires_at*."""

    member_id: str
    invoice_id: str
    expires_at: datetime
    purpose: Purpose


class PayLinks:
    """Mints and verifies pay links.

    :param secret: signing key (at least 16 bytes).
    :param base_url: the portal page the links open; the token is its last path segment.
    """

    def __init__(self, secret: bytes, base_url: str = "http://127.0.0.1:8000/portal/pay") -> None:
        self._signer = TokenSigner(secret, purpose="pay-link")
        self.base_url = base_url.rstrip("/")

    def token(
        self,
        member_id: str,
        invoice_id: str,
        *,
        expires_at: datetime,
        purpose: Purpose = "pay",
    ) -> str:
        """A signed token for *member_id*'s *invoice_id*, valid until *expires_at*."""
        check_aware("expires_at", expires_at)
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}")
        payload = {
            "m": member_id,
            "i": invoice_id,
            "e": int(expires_at.timestamp()),
            "p": purpose,
        }
        return self._signer.sign(payload)

    def url(
        self,
        member_id: str,
        invoice_id: str,
        *,
        expires_at: datetime,
        purpose: Purpose = "pay",
    ) -> str:
        """The full link: ``<base_url>/<token>``."""
        token = self.token(member_id, invoice_id, expires_at=expires_at, purpose=purpose)
        return f"{self.base_url}/{token}"

    @staticmethod
    def token_from_url(url: str) -> str:
        """The token part of a pay link."""
        return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]

    def verify(self, token: str, *, now: datetime) -> PayLinkClaims:
        """The claims of a genuine, unexpired *token*.

        :raises PayLinkInvalid: tampered, truncated or foreign.
        :raises PayLinkExpired: genuine but ``now`` is at or past its expiry.
        """
        check_aware("now", now)
        try:
            payload = self._signer.unsign(token)
        except BadToken as err:
            raise PayLinkInvalid(f"pay link refused: {err}") from err
        member, invoice, expiry, purpose = (payload.get(k) for k in ("m", "i", "e", "p"))
        if not (
            isinstance(member, str)
            and isinstance(invoice, str)
            and isinstance(expiry, int)
            and purpose in PURPOSES
        ):
            raise PayLinkInvalid("pay link refused: malformed claims")
        expires_at = datetime.fromtimestamp(expiry, UTC)
        if now >= expires_at:
            raise PayLinkExpired(f"pay link expired at {expires_at.isoformat()}")
        return PayLinkClaims(member, invoice, expires_at, purpose)  # type: ignore[arg-type]
