"""Charging invoices: attempts recorded first, then the gateway, then the outcome.

Charging is split so that a crash at any point never charges twice:

1. :func:`~hub.billing.attempts.record_attempts` writes a ``pending``
   :class:`~hub.models.ChargeAttempt` with its idempotency key
   ``invoice:<id>:attempt:<n>``; the caller **commits** it.
2. :func:`collect_pending` claims pending attempts (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so two processes take different ones), sends each to the gateway with
   its recorded key, and records the outcome in the same transaction: a conditional
   update (``WHERE status = 'pending'``) decides who records it, then
   :func:`~hub.billing.outcomes.settle_paid` or
   :func:`~hub.billing.outcomes.settle_failed` applies it
   (:mod:`hub.billing.answers`).

A process killed after the gateway charged but before the outcome was committed leaves
the attempt ``pending``; the next run sends the same key and the processor answers with
the first result instead of charging again. An ``error`` answer (outcome unknown) also
leaves it pending, to be sent again with the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.answers import ChargeOutcome, ChargeRequest, CollectReport, record_outcomes
from hub.billing.attempts import AttemptSpec, record_attempts
from hub.billing.bulk import read_rows, table_of
from hub.billing.gateway import (
    GatewayError,
    PaymentGateway,
)
from hub.models import (
    AttemptStatus,
    ChargeAttempt,
    GatewayCustomer,
    Invoice,
    PaymentMethod,
)


def charge_all(gateway: PaymentGateway, requests: Sequence[ChargeRequest]) -> list[ChargeOutcome]:
    """Send *requests*, in one batch when the gateway can (``charge_many``)."""
    if not requests:
        return []
    many = getattr(gateway, "charge_many", None)
    if many is not None:
        answers = many([_kwargs(r) for r in requests])
        return [
            ChargeOutcome(r, error=str(a)) if isinstance(a, Exception) else ChargeOutcome(r, a)
            for r, a in zip(requests, answers, strict=True)
        ]
    outcomes = []
    for request in requests:
        try:
            outcomes.append(ChargeOutcome(request, gateway.charge(**_kwargs(request))))
        except GatewayError as err:
            outcomes.append(ChargeOutcome(request, error=str(err)))
    return outcomes


def _kwargs(r: ChargeRequest) -> dict[str, object]:
    return {
        "invoice_id": str(r.invoice_id),
        "amount": r.amount,
        "currency": r.currency,
        "customer": r.customer,
        "method": r.method,
        "idempotency_key": r.idempotency_key,
    }


def collect_pending(
    session: Session,
    *,
    gateway: PaymentGateway,
    clock: Clock,
    limit: int = 500,
    after_id: int = 0,
    invoice_ids: Sequence[int] | None = None,
    attempt_ids: Sequence[int] | None = None,
) -> CollectReport:
    """Charge up to *limit* pending attempts (ids above *after_id*) and record outcomes.

    Does not commit; the caller commits the whole batch.
    """
    report = CollectReport()
    attempt = table_of(ChargeAttempt)
    q = (
        select(
            *(attempt.c[name] for name in CLAIMED),
            col(Invoice.member_id).label("member_id"),
            col(Invoice.site_id).label("site_id"),
            col(PaymentMethod.token).label("token"),
            col(PaymentMethod.brand).label("brand"),
            col(PaymentMethod.last4).label("last4"),
            col(GatewayCustomer.customer_ref).label("customer_ref"),
        )
        .join(Invoice, col(Invoice.id) == attempt.c.invoice_id)
        .outerjoin(PaymentMethod, col(PaymentMethod.id) == attempt.c.payment_method_id)
        .outerjoin(
            GatewayCustomer,
            (col(GatewayCustomer.member_id) == col(Invoice.member_id))
            & (col(GatewayCustomer.gateway) == attempt.c.gateway),
        )
        .where(
            attempt.c.status == AttemptStatus.PENDING.value,
            attempt.c.gateway == gateway.name,
            attempt.c.id > after_id,
        )
        .order_by(attempt.c.id)
        .limit(limit)
    )
    if invoice_ids is not None:
        q = q.where(attempt.c.invoice_id.in_(list(invoice_ids)))
    if attempt_ids is not None:
        q = q.where(attempt.c.id.in_(list(attempt_ids)))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=attempt)
    attempts = read_rows(session, q)
    if not attempts:
        return report
    report.claimed = len(attempts)
    report.last_attempt_id = max(a.id or 0 for a in attempts)
    requests, missing = _requests(attempts)
    outcomes = charge_all(gateway, requests)
    outcomes += [ChargeOutcome(r, error=message) for r, message in missing]
    record_outcomes(session, outcomes, attempts, gateway=gateway.name, clock=clock, report=report)
    return report


#: The attempt columns a claim reads (what sending and recording need).
CLAIMED = (
    "id", "invoice_id", "payment_method_id", "idempotency_key", "amount", "currency",
    "tries", "gateway",
)  # fmt: skip


def _requests(
    attempts: Sequence[Any],
) -> tuple[list[ChargeRequest], list[tuple[ChargeRequest, str]]]:
    """What to send for each claimed attempt (read with its invoice, method, customer)."""
    ready: list[ChargeRequest] = []
    missing: list[tuple[ChargeRequest, str]] = []
    for a in attempts:
        request = ChargeRequest(
            attempt_id=a.id or 0,
            invoice_id=a.invoice_id,
            amount=a.amount,
            currency=a.currency,
            customer=a.customer_ref or "",
            method=a.token or "",
            idempotency_key=a.idempotency_key,
        )
        if not request.customer or not request.method:
            missing.append((request, "no gateway customer or saved method to charge"))
        else:
            ready.append(request)
    return ready, missing


__all__ = [
    "AttemptSpec",
    "ChargeOutcome",
    "ChargeRequest",
    "CollectReport",
    "charge_all",
    "collect_pending",
    "record_attempts",
]
