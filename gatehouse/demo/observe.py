"""What the demo reads back from the hub: its database and its mail outbox.

Small read-only queries, each answering one question the story asks::

    with hub.session() as s:
        counts = status_counts(s)            # {'subscriptions': {...}, 'invoices': ...}
        case = dunning_case(s, member_id=1)  # the member's case, once a charge failed
    outbox = Outbox(folder)
    outbox.read_new()                        # [(address, subject), ...] since last time
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from hub.models import CheckIn, DunningCase, Entitlement, Invoice, Site, Subscription


def status_counts(session: Session) -> dict[str, dict[str, int]]:
    """Subscriptions, invoices and dunning cases counted by status."""
    counts = {}
    for name, model in (("subscriptions", Subscription), ("invoices", Invoice),
                        ("cases", DunningCase)):  # fmt: skip
        rows = session.exec(select(model.status, func.count()).group_by(model.status))
        counts[name] = {str(status): int(n) for status, n in rows.all()}
    return counts


def dunning_case(session: Session, *, member_id: int) -> DunningCase | None:
    """The member's first dunning case (opened when a charge failed), if any."""
    return session.exec(select(DunningCase).where(DunningCase.member_id == member_id)).first()


def subscription_status(session: Session, subscription_id: int) -> str | None:
    sub = session.get(Subscription, subscription_id)
    return sub.status if sub is not None else None


def valid_until(session: Session, subscription_id: int) -> datetime | None:
    """When the subscription's door access ends (its entitlement's ``valid_until``)."""
    source = f"subscription:{subscription_id}"
    row = session.exec(select(Entitlement).where(Entitlement.source == source)).first()
    if row is None:
        return None
    until = row.valid_until
    return until.replace(tzinfo=UTC) if until.tzinfo is None else until


def nothing_open(session: Session, *, member_id: int) -> bool:
    """True when the member owes nothing (no open invoice with an amount due)."""
    open_ = select(Invoice.id).where(
        Invoice.member_id == member_id, Invoice.status == "open", Invoice.total > 0
    )
    return session.exec(open_).first() is None


def list_version(session: Session, site_id: int) -> int:
    """The site's current access-list version."""
    return int(session.exec(select(Site.list_version).where(Site.id == site_id)).one())


def stored_seqs(session: Session, gate_id: int) -> list[int]:
    """Sequence numbers of the gate's stored check-ins, sorted (repeats kept)."""
    rows = session.exec(select(CheckIn.seq).where(CheckIn.gate_id == gate_id)).all()
    return sorted(int(r) for r in rows)


class Outbox:
    """The hub's mail outbox folder (one ``.eml`` file per email), read as it grows.

    :param folder: the folder (``GATEHOUSE_MAIL_OUTBOX``).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seen: set[str] = set()

    def read_new(self) -> list[tuple[str, str]]:
        """``(address, subject)`` of the emails written since the last call."""
        new = []
        for path in sorted(self.folder.glob("*.eml")):
            if path.name in self._seen:
                continue
            self._seen.add(path.name)
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            address = email.utils.parseaddr(str(msg.get("To", "")))[1]
            new.append((address, str(msg.get("Subject", ""))))
        return new
