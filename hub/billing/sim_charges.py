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
    """A fingerprint of a request's parameters (to spot a key reused for another one)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


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
    customer, method = request["customer"], request["method"]
    found = db.execute(
        "SELECT customer, last4, exp_month, exp_year, detached FROM methods WHERE token = ?",
        (method,),
    ).fetchone()
    if found is None or found[0] != customer or found[4]:
        raise GatewayError(f"payment method {method!r} is not attached to {customer!r}")
    _, last4, exp_month, exp_year, _ = found
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
    ledger.insert_charge(db, charge)
    record_charge_events(db, ledger, charge, dispute=outcome is Outcome.DISPUTE)
    return charge


def record_charge_events(
    db: sqlite3.Connection, ledger: SimLedger, charge: dict[str, Any], *, dispute: bool
) -> None:
    """The webhook events a new charge causes, Stripe-shaped."""
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
    ledger.record_event(db, kind, intent, charge["created"])
    if dispute:
        ledger.record_event(
            db,
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
