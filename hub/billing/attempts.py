"""Charge attempts, recorded before the gateway is called.

:func:`record_attempts` writes a ``pending`` :class:`~hub.models.ChargeAttempt` per
invoice to charge, numbered after the invoice's last attempt, with its idempotency key
``invoice:<id>:attempt:<n>``; the caller commits before anything is sent, so a crash
after the charge finds the key recorded and sends it again::

    record_attempts(session, [AttemptSpec(invoice_id=41, amount=107000, currency="THB",
                                          method_id=3)], gateway="simulated", clock=clock)
    session.commit()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.bulk import insert_rows
from hub.billing.gateway import idempotency_key
from hub.models import AttemptStatus, ChargeAttempt


@dataclass(frozen=True)
class AttemptSpec:
    """An attempt to record: which invoice, with which saved method."""

    invoice_id: int
    amount: int
    currency: str
    method_id: int
    request_key: str | None = None


def record_attempts(
    session: Session,
    specs: Sequence[AttemptSpec],
    *,
    gateway: str,
    clock: Clock,
    new_invoices: bool = False,
) -> list[int]:
    """Record a pending attempt per spec (numbered after the invoice's last attempt).

    A spec whose ``request_key`` was recorded before is not recorded again; its earlier
    attempt's id is returned instead. Does not commit: commit before charging.

    :param new_invoices: the invoices were issued in this transaction (so these are
        their first attempts); the attempt ids are then not read back (``[]``).
    """
    if not specs:
        return []
    now = clock.now()
    invoice_ids = sorted({s.invoice_id for s in specs})
    last = (
        {}
        if new_invoices
        else dict(
            session.connection()
            .execute(
                select(ChargeAttempt.invoice_id, func.max(ChargeAttempt.attempt))
                .where(col(ChargeAttempt.invoice_id).in_(invoice_ids))
                .group_by(col(ChargeAttempt.invoice_id))
            )
            .all()
        )
    )
    keys = [s.request_key for s in specs if s.request_key]
    known = (
        dict(
            session.connection()
            .execute(
                select(ChargeAttempt.request_key, ChargeAttempt.id).where(
                    col(ChargeAttempt.request_key).in_(keys)
                )
            )
            .all()
        )
        if keys
        else {}
    )
    rows = []
    ids: list[int | None] = []
    for spec in specs:
        if spec.request_key and spec.request_key in known:
            ids.append(int(known[spec.request_key] or 0))
            continue
        n = last.get(spec.invoice_id, 0) + 1
        last[spec.invoice_id] = n
        rows.append(
            {
                "invoice_id": spec.invoice_id,
                "attempt": n,
                "payment_method_id": spec.method_id,
                "gateway": gateway,
                "idempotency_key": idempotency_key(spec.invoice_id, n),
                "request_key": spec.request_key,
                "amount": spec.amount,
                "currency": spec.currency,
                "status": AttemptStatus.PENDING.value,
                "tries": 0,
                "created_at": now,
            }
        )
        ids.append(None)
    if rows and new_invoices:
        insert_rows(session, ChargeAttempt, rows)
        return []
    if rows:
        insert_rows(session, ChargeAttempt, rows)
        new = dict(
            session.connection()
            .execute(
                select(ChargeAttempt.idempotency_key, ChargeAttempt.id).where(
                    col(ChargeAttempt.idempotency_key).in_([r["idempotency_key"] for r in rows])
                )
            )
            .all()
        )
        fresh = iter(new[str(r["idempotency_key"])] for r in rows)
        ids = [int(next(fresh)) if i is None else i for i in ids]
    return [int(i or 0) for i in ids]
