"""Charging invoices: attempts recorded first, then the gateway, then the outcome.

Charging is split so that a crash at any point never charges twice:

1. :func:`record_attempts` writes a ``pending`` :class:`~hub.models.ChargeAttempt` with
   its idempotency key ``invoice:<id>:attempt:<n>``; the caller **commits** it.
2. :func:`collect_pending` claims pending attempts (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so two processes take different ones), sends each to the gateway with
   its recorded key, and records the outcome in the same transaction: a conditional
   update (``WHERE status = 'pending'``) decides who records it, then
   :func:`~hub.billing.outcomes.settle_paid` or
   :func:`~hub.billing.outcomes.settle_failed` applies it.

A process killed after the gateway charged but before the outcome was committed leaves
the attempt ``pending``; the next run sends the same key and the processor answers with
the first result instead of charging again. An ``error`` answer (outcome unknown) also
leaves it pending, to be sent again with the same key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from gatehouse.clock import Clock
from hub.billing.bulk import insert_rows, read_rows, table_of, update_rows
from hub.billing.gateway import (
    ChargeResult,
    ChargeStatus,
    GatewayError,
    PaymentGateway,
    idempotency_key,
)
from hub.billing.outcomes import Failure, lock_subscriptions_of, settle_failed, settle_paid
from hub.models import (
    AttemptStatus,
    ChargeAttempt,
    GatewayCustomer,
    Invoice,
    Payment,
    PaymentMethod,
)


@dataclass(frozen=True)
class ChargeRequest:
    """One charge to send: the attempt's recorded key and what to charge."""

    attempt_id: int
    invoice_id: int
    amount: int
    currency: str
    customer: str
    method: str
    idempotency_key: str


@dataclass(frozen=True)
class ChargeOutcome:
    """The gateway's answer to a :class:`ChargeRequest`, or why it refused the request."""

    request: ChargeRequest
    result: ChargeResult | None = None
    error: str | None = None


@dataclass
class CollectReport:
    """What one :func:`collect_pending` call did."""

    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    unknown: int = 0
    cases_opened: int = 0
    last_attempt_id: int = 0
    paid_invoice_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class AttemptSpec:
    """An attempt to record: which invoice, with which saved method."""

    invoice_id: int
    amount: int
    currency: str
    method_id: int
    request_key: str | None = None


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
            attempt,
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
    _record(session, outcomes, attempts, gateway=gateway.name, clock=clock, report=report)
    return report


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


_FINAL = {
    ChargeStatus.SUCCEEDED: AttemptStatus.SUCCEEDED,
    ChargeStatus.DECLINED: AttemptStatus.DECLINED,
    ChargeStatus.REQUIRES_ACTION: AttemptStatus.REQUIRES_ACTION,
}


def _record(
    session: Session,
    outcomes: Sequence[ChargeOutcome],
    attempts: Sequence[Any],
    *,
    gateway: str,
    clock: Clock,
    report: CollectReport,
) -> None:
    now = clock.now()
    by_id = {a.id: a for a in attempts}
    unknown = [
        o for o in outcomes if o.result is not None and o.result.status is ChargeStatus.ERROR
    ]
    if unknown:
        update_rows(
            session,
            ChargeAttempt,
            [
                {
                    "id": o.request.attempt_id,
                    "tries": by_id[o.request.attempt_id].tries + 1,
                    "raw_code": _clip(o.result.raw_code if o.result else None, 64),
                    "raw_message": _clip(o.result.raw_message if o.result else None, 500),
                }
                for o in unknown
            ],
        )
        report.unknown = len(unknown)
    unknown_ids = {o.request.attempt_id for o in unknown}
    final = [o for o in outcomes if o.request.attempt_id not in unknown_ids]
    if not final:
        return
    owned = set(
        session.execute(
            update(ChargeAttempt)
            .where(
                col(ChargeAttempt.id).in_([o.request.attempt_id for o in final]),
                ChargeAttempt.status == AttemptStatus.PENDING.value,
            )
            .values(finished_at=now)
            .returning(ChargeAttempt.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    final = [o for o in final if o.request.attempt_id in owned]
    if not final:
        return
    lock_subscriptions_of(session, sorted({o.request.invoice_id for o in final}))
    rows = []
    for o in final:
        attempt = by_id[o.request.attempt_id]
        r = o.result
        status = _FINAL[r.status] if r is not None else AttemptStatus.FAILED
        rows.append(
            {
                "id": attempt.id,
                "status": status.value,
                "tries": attempt.tries + 1,
                "decline_reason": r.decline_reason.value if r and r.decline_reason else None,
                "raw_code": _clip(r.raw_code if r else "gateway_error", 64),
                "raw_message": _clip(r.raw_message if r else o.error, 500),
                "gateway_charge_id": r.charge_id if r else None,
            }
        )
    update_rows(session, ChargeAttempt, rows)
    succeeded = [
        o for o in final if o.result is not None and o.result.status is ChargeStatus.SUCCEEDED
    ]
    succeeded_ids = {o.request.attempt_id for o in succeeded}
    if succeeded:
        record_card_payments(session, succeeded, attempts=by_id, gateway=gateway, now=now)
        report.paid_invoice_ids = settle_paid(
            session, [o.request.invoice_id for o in succeeded], clock=clock, reason="renewal paid"
        )
    report.succeeded = len(succeeded)
    failures = [
        Failure(
            invoice_id=o.request.invoice_id,
            decline_reason=(
                o.result.decline_reason.value if o.result and o.result.decline_reason else None
            ),
            method_id=by_id[o.request.attempt_id].payment_method_id,
        )
        for o in final
        if o.request.attempt_id not in succeeded_ids
    ]
    report.failed = len(failures)
    report.cases_opened = settle_failed(session, failures, clock=clock)


def _clip(text: str | None, size: int) -> str | None:
    return text[:size] if text else None


def record_card_payments(
    session: Session,
    succeeded: Sequence[ChargeOutcome],
    *,
    attempts: dict[Any, Any],
    gateway: str,
    now: object,
) -> None:
    """A :class:`~hub.models.Payment` per succeeded charge (money moved, so always)."""
    first = attempts[succeeded[0].request.attempt_id]
    if hasattr(first, "site_id"):  # claimed with its invoice and method (the run)
        info = {
            attempts[o.request.attempt_id].invoice_id: (
                attempts[o.request.attempt_id].member_id,
                attempts[o.request.attempt_id].site_id,
            )
            for o in succeeded
        }
        labels = {
            a.payment_method_id: f"{a.brand} {a.last4}"
            for a in (attempts[o.request.attempt_id] for o in succeeded)
            if a.brand
        }
    else:
        info, labels = _payment_context(session, succeeded, attempts)
    rows = []
    for o in succeeded:
        assert o.result is not None
        member_id, site_id = info[o.request.invoice_id]
        attempt = attempts[o.request.attempt_id]
        rows.append(
            {
                "invoice_id": o.request.invoice_id,
                "member_id": member_id,
                "site_id": site_id,
                "amount": o.result.amount,
                "currency": o.result.currency,
                "method": "card",
                "method_label": labels.get(attempt.payment_method_id, "card"),
                "gateway": gateway,
                "gateway_charge_id": o.result.charge_id,
                "charge_attempt_id": attempt.id,
                "paid_at": now,
                "recorded_by": "billing",
            }
        )
    insert_rows(session, Payment, rows)


def _payment_context(
    session: Session, succeeded: Sequence[ChargeOutcome], attempts: dict[Any, Any]
) -> tuple[dict[int, tuple[int, int]], dict[Any, str]]:
    invoice_ids = [o.request.invoice_id for o in succeeded]
    info = {
        i: (m, s)
        for i, m, s in session.connection().execute(
            select(Invoice.id, Invoice.member_id, Invoice.site_id).where(
                col(Invoice.id).in_(invoice_ids)
            )
        )
    }
    method_ids = [attempts[o.request.attempt_id].payment_method_id for o in succeeded]
    labels = {
        pm_id: f"{brand} {last4}"
        for pm_id, brand, last4 in session.connection().execute(
            select(PaymentMethod.id, PaymentMethod.brand, PaymentMethod.last4).where(
                col(PaymentMethod.id).in_([m for m in method_ids if m])
            )
        )
    }
    return info, labels


def record_answer(
    session: Session,
    attempt: Any,
    result: ChargeResult,
    *,
    gateway: str,
    clock: Clock,
) -> CollectReport:
    """Record an answer for one pending attempt that arrived another way (a webhook).

    The same conditional update as :func:`collect_pending` decides: if the run already
    recorded the attempt, this changes nothing.
    """
    report = CollectReport(claimed=1, last_attempt_id=attempt.id or 0)
    request = ChargeRequest(
        attempt_id=attempt.id or 0,
        invoice_id=attempt.invoice_id,
        amount=attempt.amount,
        currency=attempt.currency,
        customer="",
        method="",
        idempotency_key=attempt.idempotency_key,
    )
    _record(
        session,
        [ChargeOutcome(request, result)],
        [attempt],
        gateway=gateway,
        clock=clock,
        report=report,
    )
    return report
