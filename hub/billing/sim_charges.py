"""How the simulated processor charges: one charge inside a ledger transaction.

Shared by :meth:`SimulatedGateway.charge` (one transaction per charge) and
:meth:`SimulatedGateway.charge_many` (one transaction, one commit, for a batch). Each
request is looked up by its idempotency key first: the same key with the same
parameters gives back the stored charge; other parameters raise
:class:`~hub.billing.gateway.IdempotencyConflict`; a new key charges the saved test card
as documented in :mod:`hub.billing.sim_cards` and records the webhook events it causes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import datetime
from typing import Any

from hub.billing.declines import DeclineReason
from hub.billing.gateway import ChargeResult, ChargeStatus, GatewayError, IdempotencyConflict
from hub.billing.money import UnknownCurrency, normalize_currency
from hub.billing.sim_cards import Outcome, sim_card_for_last4
from hub.billing.sim_ledger import SimLedger, new_id

_STATUS_OF = {
    Outcome.SUCCEED: ChargeStatus.SUCCEEDED,
    Outcome.DISPUTE: ChargeStatus.SUCCEEDED,
    Outcome.DECLINE: ChargeStatus.DECLINED,
    Outcome.REQUIRE_ACTION: ChargeStatus.REQUIRES_ACTION,
}


def request_hash(**params: Any) -> str:
    """A fingerprint of a request's parameters (to spot a key reused for another one):
    the SHA-256 of their JSON with the keys in sorted order."""
    ordered = {key: params[key] for key in sorted(params)}  # flat: sorting here suffices
    return hashlib.sha256(_ENCODE(ordered).encode()).hexdigest()


_ENCODE = json.JSONEncoder(separators=(", ", ": ")).encode


def conflict(idempotency_key: str) -> IdempotencyConflict:
    """The error for a key reused with different parameters."""
    return IdempotencyConflict(
        f"idempotency key {idempotency_key!r} was already used with different parameters"
    )


def checked_request(
    *, invoice_id: str, amount: int, currency: str, customer: str, method: str
) -> dict[str, Any]:
    """The charge request as the ledger stores it, or :class:`GatewayError` if malformed."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise GatewayError(f"a charge is a positive whole number of minor units, not {amount}")
    try:
        currency = normalize_currency(currency)
    except UnknownCurrency as err:
        raise GatewayError(str(err)) from None
    return {
        "invoice_id": str(invoice_id),
        "amount": amount,
        "currency": currency,
        "customer": customer,
        "method": method,
    }


def unknown_result(amount: int, currency: str, key: str, message: str) -> ChargeResult:
    """An ``error`` answer: the outcome is unknown, retry with the same key."""
    return ChargeResult(
        ChargeStatus.ERROR,
        None,
        amount,
        currency,
        key,
        raw_code="api_connection_error",
        raw_message=message,
    )


def result_of(stored: dict[str, Any], idempotency_key: str) -> ChargeResult:
    """The :class:`ChargeResult` of a stored charge."""
    reason = stored["decline_reason"]
    return ChargeResult(
        status=ChargeStatus(stored["status"]),
        charge_id=stored["id"],
        amount=stored["amount"],
        currency=stored["currency"],
        idempotency_key=idempotency_key,
        decline_reason=DeclineReason(reason) if reason else None,
        raw_code=stored["raw_code"],
        raw_decline_code=stored["raw_decline_code"],
        raw_message=stored["raw_message"],
    )


def _new_charge(
    request: dict[str, Any],
    idempotency_key: str,
    fingerprint: str,
    method: tuple[Any, ...] | None,
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """The charge a new request makes on the saved *method* row, and whether the card
    opens a dispute afterwards; :class:`GatewayError` if the method cannot be charged."""
    customer, token = request["customer"], request["method"]
    if method is None or method[0] != customer or method[4]:
        raise GatewayError(f"payment method {token!r} is not attached to {customer!r}")
    _, last4, exp_month, exp_year, _ = method
    card = sim_card_for_last4(last4)
    outcome, reason = card.outcome, card.reason
    code, decline, message = card.code, card.decline_code, card.message
    if (exp_year, exp_month) < (now.year, now.month):
        outcome, reason = Outcome.DECLINE, DeclineReason.EXPIRED_CARD
        code, decline, message = "expired_card", None, "Your card has expired."
    charge = {
        **request,
        "id": new_id("pi"),
        "idempotency_key": idempotency_key,
        "request_hash": fingerprint,
        "status": _STATUS_OF[outcome].value,
        "decline_reason": reason.value if reason else None,
        "raw_code": code,
        "raw_decline_code": decline,
        "raw_message": message,
        "created": int(now.timestamp()),
    }
    return charge, outcome is Outcome.DISPUTE


_METHOD_COLUMNS = "customer, last4, exp_month, exp_year, detached"


def charge_in(
    db: sqlite3.Connection,
    ledger: SimLedger,
    request: dict[str, Any],
    idempotency_key: str,
    now: datetime,
) -> dict[str, Any]:
    """Charge *request* under *idempotency_key* in the open transaction *db*.

    Returns the stored charge (new, or the one first made with this key).
    """
    fingerprint = request_hash(**request)
    stored = ledger.charge_by_key(db, idempotency_key)
    if stored is not None:
        if stored["request_hash"] != fingerprint:
            raise conflict(idempotency_key)
        return stored
    method = db.execute(
        f"SELECT {_METHOD_COLUMNS} FROM methods WHERE token = ?", (request["method"],)
    ).fetchone()
    charge, dispute = _new_charge(request, idempotency_key, fingerprint, method, now)
    ledger.insert_charge(db, charge)
    ledger.record_events(db, charge_events(charge, dispute=dispute))
    return charge


def charge_batch_in(
    db: sqlite3.Connection,
    ledger: SimLedger,
    items: list[tuple[dict[str, Any], str]],
    now: datetime,
) -> list[dict[str, Any] | GatewayError]:
    """:func:`charge_in` for many ``(request, key)`` pairs at once: keys and methods are
    looked up with one query each and the new charges and events written with one
    ``executemany`` each. Answers, in order, the stored charge or the error."""
    keys = [key for _, key in items]
    stored = ledger.charges_by_keys(db, keys)
    tokens = sorted({request["method"] for request, _ in items})
    methods: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(tokens), 5000):
        chunk = tokens[start : start + 5000]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(
            f"SELECT token, {_METHOD_COLUMNS} FROM methods WHERE token IN ({marks})", chunk
        ):
            methods[row[0]] = tuple(row[1:])
    answers: list[dict[str, Any] | GatewayError] = []
    new: list[dict[str, Any]] = []
    events: list[tuple[str, dict[str, Any], int]] = []
    for request, key in items:
        fingerprint = request_hash(**request)
        found = stored.get(key)
        if found is not None:
            answers.append(found if found["request_hash"] == fingerprint else conflict(key))
            continue
        try:
            charge, dispute = _new_charge(
                request, key, fingerprint, methods.get(request["method"]), now
            )
        except GatewayError as err:
            answers.append(err)
            continue
        stored[key] = charge
        new.append(charge)
        events += charge_events(charge, dispute=dispute)
        answers.append(charge)
    ledger.insert_charges(db, new)
    ledger.record_events(db, events)
    return answers


def charge_events(
    charge: dict[str, Any], *, dispute: bool
) -> list[tuple[str, dict[str, Any], int]]:
    """The webhook events a new charge causes, Stripe-shaped: ``(type, object, created)``."""
    succeeded = charge["status"] == ChargeStatus.SUCCEEDED.value
    intent = {
        "id": charge["id"],
        "object": "payment_intent",
        "amount": charge["amount"],
        "currency": charge["currency"].lower(),
        "customer": charge["customer"],
        "payment_method": charge["method"],
        "status": "succeeded" if succeeded else "requires_payment_method",
        "metadata": {"invoice_id": charge["invoice_id"]},
        "last_payment_error": None
        if succeeded
        else {
            "code": charge["raw_code"],
            "decline_code": charge["raw_decline_code"],
            "message": charge["raw_message"],
        },
    }
    kind = "payment_intent.succeeded" if succeeded else "payment_intent.payment_failed"
    events = [(kind, intent, charge["created"])]
    if dispute:
        events.append(
            (
                "charge.dispute.created",
                {
                    "id": new_id("dp"),
                    "object": "dispute",
                    "amount": charge["amount"],
                    "currency": charge["currency"].lower(),
                    "charge": new_id("ch"),
                    "payment_intent": charge["id"],
                    "reason": "fraudulent",
                    "status": "needs_response",
                },
                charge["created"],
            )
        )
    return events
