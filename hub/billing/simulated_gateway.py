"""The embedded payment gateway: test cards, Stripe-style idempotency, a durable ledger.

:class:`SimulatedGateway` is the default gateway of a fresh hub and of the demo. It
behaves like a processor in test mode: it accepts only documented test cards (see
:mod:`hub.billing.sim_cards`), answers each card the documented way, and keeps its own
ledger of customers, methods, charges, refunds and events in a small SQLite file, so
separate processes (a billing run killed mid-way, then rerun) see the same money::

    gateway = SimulatedGateway("var/simulated-gateway.sqlite3", clock=clock)
    customer = gateway.create_customer(email="a@example.com", name="A", reference="member:1")
    card = gateway.attach_method(customer=customer, source="4000 0000 0000 9995")
    result = gateway.charge(invoice_id="7", amount=107000, currency="THB",
                            customer=customer, method=card.token,
                            idempotency_key="invoice:7:attempt:1")
    result.status, result.decline_reason   # (declined, insufficient_funds)
    gateway.charge_count(invoice_id="7")    # 1 attempt recorded, 0 succeeded

Idempotency works as Stripe's does: the same key with the same parameters returns the
first result without charging again; the same key with different parameters raises
:class:`~hub.billing.gateway.IdempotencyConflict`. Keys are kept for the ledger's life.

A card number is used only inside :meth:`attach_method` to pick the test behaviour; the
ledger keeps a random token, the brand, the last four digits and the expiry.

Webhook events (``payment_intent.succeeded``, ``payment_intent.payment_failed``,
``charge.refunded``, ``charge.dispute.created``) are written to the ledger with each
effect; :meth:`signed_events` returns them signed like Stripe's deliveries and
:meth:`parse_webhook` verifies them against the gateway's clock.

:param ledger_path: the SQLite file (created if missing).
:param clock: a :class:`gatehouse.clock.Clock` (default: the system clock).
:param webhook_secret: secret the events are signed with.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatehouse.clock import Clock, SystemClock
from hub.billing.declines import DeclineReason
from hub.billing.gateway import (
    ChargeResult,
    ChargeStatus,
    GatewayError,
    IdempotencyConflict,
    PaymentMethodRefused,
    RefundResult,
    SavedMethod,
    WebhookEvent,
    WebhookVerificationError,
)
from hub.billing.money import UnknownCurrency, normalize_currency
from hub.billing.sim_cards import Outcome, lookup_sim_card, sim_card_for_last4
from hub.billing.sim_ledger import SimLedger, new_id
from hub.billing.webhook_events import event_from_stripe_shape
from hub.billing.webhook_signing import sign_payload, verify_signature

_STATUS_OF = {
    Outcome.SUCCEED: ChargeStatus.SUCCEEDED,
    Outcome.DISPUTE: ChargeStatus.SUCCEEDED,
    Outcome.DECLINE: ChargeStatus.DECLINED,
    Outcome.REQUIRE_ACTION: ChargeStatus.REQUIRES_ACTION,
}


def _request_hash(**params: Any) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def _conflict(idempotency_key: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"idempotency key {idempotency_key!r} was already used with different parameters"
    )


@dataclass(frozen=True, slots=True)
class SignedEvent:
    """One webhook delivery: the body and its ``Stripe-Signature`` header."""

    seq: int
    payload: bytes
    signature_header: str


class SimulatedGateway:
    """A payment processor in a file; see the module documentation."""

    name = "simulated"

    def __init__(
        self,
        ledger_path: str | Path,
        *,
        clock: Clock | None = None,
        webhook_secret: str = "whsec_simulated",
    ) -> None:
        self.ledger = SimLedger(ledger_path)
        self.clock: Clock = clock or SystemClock()
        self.webhook_secret = webhook_secret
        #: Test switch: ``"unreachable"`` fails charges before they reach the ledger;
        #: ``"lost_response"`` records the charge, then answers ``error`` (the reply was
        #: lost on the way back). ``None`` behaves normally.
        self.fault: str | None = None

    def close(self) -> None:
        """Close the ledger file."""
        self.ledger.close()

    def __enter__(self) -> SimulatedGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SimulatedGateway ledger={str(self.ledger.path)!r}>"

    # -- customers and methods --------------------------------------------------------

    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        customer = new_id("cus")
        with self.ledger.transaction() as db:
            db.execute(
                "INSERT INTO customers VALUES (?, ?, ?, ?, ?)",
                (customer, email, name, reference, self.clock.timestamp()),
            )
        return customer

    def attach_method(
        self,
        *,
        customer: str,
        source: str,
        exp_month: int | None = None,
        exp_year: int | None = None,
    ) -> SavedMethod:
        """Save a test card (number or ``pm_card_*`` alias) for *customer*.

        The number only selects the test behaviour and is then forgotten. The expiry
        defaults to December, three years ahead of the gateway's clock; an expiry
        already past is refused, as a processor refuses it.
        """
        try:
            card = lookup_sim_card(source)
        except ValueError as err:
            raise PaymentMethodRefused(str(err)) from None
        today = self.clock.now().date()
        month = 12 if exp_month is None else exp_month
        year = today.year + 3 if exp_year is None else exp_year
        if not 1 <= month <= 12:
            raise PaymentMethodRefused(f"expiry month {month} is not 1-12")
        if (year, month) < (today.year, today.month):
            raise PaymentMethodRefused(f"the card expired in {month:02d}/{year}")
        token = new_id("pm")
        with self.ledger.transaction() as db:
            if db.execute("SELECT 1 FROM customers WHERE id = ?", (customer,)).fetchone() is None:
                raise PaymentMethodRefused(f"no such customer {customer!r}")
            db.execute(
                "INSERT INTO methods (token, customer, brand, last4, exp_month, exp_year)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (token, customer, card.brand, card.last4, month, year),
            )
        return SavedMethod(token, card.brand, card.last4, month, year)

    def detach_method(self, *, token: str) -> None:
        with self.ledger.transaction() as db:
            updated = db.execute("UPDATE methods SET detached = 1 WHERE token = ?", (token,))
            if updated.rowcount == 0:
                raise GatewayError(f"no such payment method {token!r}")

    # -- charges ----------------------------------------------------------------------

    def charge(
        self,
        *,
        invoice_id: str,
        amount: int,
        currency: str,
        customer: str,
        method: str,
        idempotency_key: str,
    ) -> ChargeResult:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise GatewayError(f"a charge is a positive whole number of minor units, not {amount}")
        try:
            currency = normalize_currency(currency)
        except UnknownCurrency as err:
            raise GatewayError(str(err)) from None
        invoice_id = str(invoice_id)
        if self.fault == "unreachable":
            return self._unknown(
                amount, currency, idempotency_key, "the gateway could not be reached"
            )
        request = {
            "invoice_id": invoice_id,
            "amount": amount,
            "currency": currency,
            "customer": customer,
            "method": method,
        }
        request_hash = _request_hash(**request)
        with self.ledger.transaction() as db:
            stored = self.ledger.charge_by_key(db, idempotency_key)
            if stored is None:
                stored = self._new_charge(db, request, idempotency_key, request_hash)
            elif stored["request_hash"] != request_hash:
                raise _conflict(idempotency_key)
        if self.fault == "lost_response":
            return self._unknown(amount, currency, idempotency_key, "the gateway's reply was lost")
        return ChargeResult(
            status=ChargeStatus(stored["status"]),
            charge_id=stored["id"],
            amount=stored["amount"],
            currency=stored["currency"],
            idempotency_key=idempotency_key,
            decline_reason=DeclineReason(stored["decline_reason"])
            if stored["decline_reason"]
            else None,
            raw_code=stored["raw_code"],
            raw_decline_code=stored["raw_decline_code"],
            raw_message=stored["raw_message"],
        )

    @staticmethod
    def _unknown(amount: int, currency: str, key: str, message: str) -> ChargeResult:
        return ChargeResult(
            ChargeStatus.ERROR,
            None,
            amount,
            currency,
            key,
            raw_code="api_connection_error",
            raw_message=message,
        )

    def _new_charge(
        self,
        db: sqlite3.Connection,
        request: dict[str, Any],
        idempotency_key: str,
        request_hash: str,
    ) -> dict[str, Any]:
        customer, method = request["customer"], request["method"]
        found = db.execute(
            "SELECT customer, last4, exp_month, exp_year, detached FROM methods WHERE token = ?",
            (method,),
        ).fetchone()
        if found is None or found[0] != customer or found[4]:
            raise GatewayError(f"payment method {method!r} is not attached to {customer!r}")
        _, last4, exp_month, exp_year, _ = found
        card = sim_card_for_last4(last4)
        now = self.clock.now()
        outcome, reason = card.outcome, card.reason
        code, decline, message = card.code, card.decline_code, card.message
        if (exp_year, exp_month) < (now.year, now.month):
            outcome, reason = Outcome.DECLINE, DeclineReason.EXPIRED_CARD
            code, decline, message = "expired_card", None, "Your card has expired."
        status = _STATUS_OF[outcome]
        charge = {
            **request,
            "id": new_id("pi"),
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            "status": status.value,
            "decline_reason": reason.value if reason else None,
            "raw_code": code,
            "raw_decline_code": decline,
            "raw_message": message,
            "created": int(now.timestamp()),
        }
        self.ledger.insert_charge(db, charge)
        self._record_charge_events(db, charge, dispute=outcome is Outcome.DISPUTE)
        return charge

    def _record_charge_events(
        self, db: sqlite3.Connection, charge: dict[str, Any], *, dispute: bool
    ) -> None:
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
        self.ledger.record_event(db, kind, intent, charge["created"])
        if dispute:
            self.ledger.record_event(
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

    # -- refunds ----------------------------------------------------------------------

    def refund(
        self, *, charge_id: str, amount: int | None = None, idempotency_key: str
    ) -> RefundResult:
        request_hash = _request_hash(charge_id=charge_id, amount=amount)
        with self.ledger.transaction() as db:
            done = db.execute(
                "SELECT id, request_hash, amount FROM refunds WHERE idempotency_key = ?",
                (idempotency_key,),
            ).fetchone()
            charge = db.execute(
                "SELECT amount, currency, status, refunded, invoice_id FROM charges WHERE id = ?",
                (charge_id,),
            ).fetchone()
            if charge is None:
                raise GatewayError(f"no such charge {charge_id!r}")
            charged, currency, status, refunded, invoice_id = charge
            if done is not None:
                if done[1] != request_hash:
                    raise _conflict(idempotency_key)
                return RefundResult(done[0], charge_id, done[2], currency, "succeeded")
            if status != ChargeStatus.SUCCEEDED.value:
                raise GatewayError(f"charge {charge_id} did not succeed; nothing to refund")
            left = charged - refunded
            amount = left if amount is None else amount
            if not 0 < amount <= left:
                raise GatewayError(f"cannot refund {amount} of {charge_id}: {left} is left")
            refund_id = new_id("re")
            created = self.clock.timestamp()
            db.execute(
                "INSERT INTO refunds VALUES (?, ?, ?, ?, ?, ?)",
                (refund_id, idempotency_key, request_hash, charge_id, amount, created),
            )
            db.execute(
                "UPDATE charges SET refunded = refunded + ? WHERE id = ?", (amount, charge_id)
            )
            self.ledger.record_event(
                db,
                "charge.refunded",
                {
                    "id": new_id("ch"),
                    "object": "charge",
                    "payment_intent": charge_id,
                    "amount": charged,
                    "amount_refunded": refunded + amount,
                    "currency": currency.lower(),
                    "metadata": {"invoice_id": invoice_id},
                },
                created,
            )
        return RefundResult(refund_id, charge_id, amount, currency, "succeeded")

    # -- webhooks ---------------------------------------------------------------------

    def signed_events(self, *, after_seq: int = 0) -> list[SignedEvent]:
        """Events recorded after *after_seq*, each signed as a webhook delivery would be."""
        return [
            SignedEvent(
                seq,
                body.encode(),
                sign_payload(body.encode(), self.webhook_secret, timestamp=created),
            )
            for seq, created, body in self.ledger.events_after(after_seq)
        ]

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        verify_signature(payload, signature_header, self.webhook_secret, now=self.clock.timestamp())
        try:
            body = json.loads(payload)
            obj = body["data"]["object"]
            event_id, type_, created = body["id"], body["type"], int(body["created"])
        except (ValueError, KeyError, TypeError) as err:
            raise WebhookVerificationError(f"not an event body: {err}") from None
        return event_from_stripe_shape(event_id, type_, created, obj, body)

    # -- the ledger, for reconciliation and tests --------------------------------------

    def charge_count(self, *, invoice_id: str | None = None, succeeded_only: bool = False) -> int:
        """Charges recorded (optionally for one invoice, optionally only succeeded)."""
        return self.ledger.charge_count(invoice_id=invoice_id, succeeded_only=succeeded_only)
