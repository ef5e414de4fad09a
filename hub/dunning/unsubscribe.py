"""Unsubscribing from marketing messages: a signed link per member, and the record of it.

Reminders in a polite or firm tone are marketing as far as the law is concerned, so each
carries an unsubscribe link (and a ``List-Unsubscribe`` header); legally required notices
(``legal_notice: true`` in a policy -- the suspension notice, the notice that access is
suspended, the final notice before cancellation) carry none and are sent regardless. The
link is signed like the tracking links, so nobody can unsubscribe someone else::

    links = Unsubscribes(secret, base_url="https://lumpini.example/t/u")
    url = links.url(7)                # https://lumpini.example/t/u/eyJ...
    links.member_of(token)            # 7
    opt_out(session, member_id=7, now=clock.now())   # member.marketing_opt_out_at set

The dunning core reads the choice as :attr:`hub.dunning.case.DunningCase.marketing_opt_out`
and plans no marketing message for the member any more.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from hub.dunning.signing import BadToken, TokenSigner
from hub.models import Member


class UnsubscribeTokenInvalid(ValueError):
    """An unsubscribe link that was not minted by this hub (or was altered)."""


class Unsubscribes:
    """Makes and reads unsubscribe links.

    :param secret: signing key (at least 16 bytes).
    :param base_url: where the hub serves ``/<token>``.
    """

    def __init__(self, secret: bytes, base_url: str) -> None:
        self._signer = TokenSigner(secret, purpose="unsubscribe")
        self.base_url = base_url.rstrip("/")

    def url(self, member_id: int | str) -> str:
        """The unsubscribe link of member *member_id*."""
        return f"{self.base_url}/{self._signer.sign({'m': str(member_id)})}"

    def member_of(self, token: str) -> int:
        """The member id a genuine *token* names."""
        try:
            payload = self._signer.unsign(token)
        except BadToken as err:
            raise UnsubscribeTokenInvalid(str(err)) from err
        member = payload.get("m")
        if not isinstance(member, str) or not (member.isascii() and member.isdigit()):
            raise UnsubscribeTokenInvalid("malformed unsubscribe token")
        return int(member)


def opt_out(session: Session, *, member_id: int, now: datetime) -> bool:
    """Record that *member_id* wants no marketing messages (the first time counts).

    Returns True if the member exists. Does not commit.
    """
    result = session.execute(
        update(Member)
        .where(col(Member.id) == member_id, col(Member.marketing_opt_out_at).is_(None))
        .values(marketing_opt_out_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount) or session.get(Member, member_id) is not None  # type: ignore[attr-defined]
