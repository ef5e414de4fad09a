"""Invoice emails: each issued invoice (and credit note) is emailed once.

Issuing only marks an invoice as not yet emailed (``emailed_at`` empty); this outbox
sends them afterwards, so a slow or unreachable mail server never holds up the billing
run. The email's idempotency key is ``invoice:<id>:issued``: sent again after a crash,
it carries the same ``Message-ID`` (and the folder mailer keeps one file).  On
PostgreSQL each round claims its invoices with ``FOR UPDATE SKIP LOCKED``, so hub
replicas running it at the same moment send each email once::

    sent = send_invoice_emails(engine=engine, settings=settings, mailer=mailer, clock=clock)

The HTML part is the printable invoice; the text part its summary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from gatehouse.clock import Clock
from hub.billing.render import (
    invoice_subject,
    invoice_view,
    render_invoice_html,
    render_invoice_text,
)
from hub.billing.run import open_session
from hub.core.config import Settings
from hub.dunning.mailer import MailDeliveryError, Mailer, OutgoingEmail
from hub.models import Invoice, InvoiceStatus

log = logging.getLogger(__name__)


def issue_email_key(invoice_id: int) -> str:
    """The idempotency key (and so the ``Message-ID``) of an invoice's issue email."""
    return f"invoice:{invoice_id}:issued"


def send_invoice_emails(
    *,
    engine: Engine,
    settings: Settings,
    mailer: Mailer,
    clock: Clock,
    batch_size: int = 200,
    invoice_ids: Sequence[int] | None = None,
) -> int:
    """Email every issued invoice not emailed yet; returns how many went out.

    A permanent refusal (a bad address) is logged and the invoice marked emailed so it
    is not retried forever; a temporary failure stops this round (retried next time).
    """
    sent = 0
    after = 0
    if engine.dialect.name == "postgresql":
        batch_size = 1  # claimed, sent and marked one by one: a crash resends at most one
    while True:
        with open_session(engine, settings) as session:
            q = (
                select(Invoice.id)
                .where(
                    col(Invoice.emailed_at).is_(None),
                    Invoice.status != InvoiceStatus.DRAFT.value,
                    col(Invoice.id) > after,
                )
                .order_by(col(Invoice.id))
                .limit(batch_size)
            )
            if invoice_ids is not None:
                q = q.where(col(Invoice.id).in_(list(invoice_ids)))
            if session.get_bind().dialect.name == "postgresql":
                # Several hub replicas email at once: each claims its own invoices and
                # holds them until marked emailed, so no email goes out twice.
                q = q.with_for_update(skip_locked=True, of=Invoice)  # type: ignore[arg-type]
            ids = list(session.exec(q))
            if not ids:
                return sent
            done = []
            for invoice_id in ids:
                view = invoice_view(session, invoice_id)
                mail = OutgoingEmail(
                    to=view.member_email,
                    subject=invoice_subject(view),
                    text=render_invoice_text(view),
                    html=render_invoice_html(view),
                    key=issue_email_key(invoice_id),
                )
                try:
                    mailer.send(mail)
                except MailDeliveryError as err:
                    if not err.permanent:
                        log.warning("invoice %s not emailed yet: %s", invoice_id, err)
                        break
                    log.error("invoice %s cannot be emailed: %s", invoice_id, err)
                done.append(invoice_id)
            if done:
                session.execute(
                    update(Invoice)
                    .where(col(Invoice.id).in_(done))
                    .values(emailed_at=clock.now())
                    .execution_options(synchronize_session=False)
                )
                session.commit()
            sent += len(done)
            if len(done) < len(ids):
                return sent
            after = ids[-1]
