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

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatehouse.clock import Clock, SystemClock
from hub.billing.gateway import (
    ChargeResult,
    ChargeStatus,
    GatewayError,
    PaymentMethodRefused,
    RefundResult,
    SavedMethod,
    WebhookEvent,
    WebhookVerificationError,
)
from hub.billing.sim_cards import lookup_sim_card
from hub.billing.sim_charges import (
    charge_batch_in,
    charge_in,
    checked_request,
    conflict,
    request_hash,
    result_of,
    unknown_result,
)
from hub.billing.sim_ledger import SimLedger, new_id
from hub.billing.webhook_events import event_from_stripe_shape
from hub.billing.webhook_signing import sign_payload, verify_signature


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
        request = checked_request(
            invoice_id=invoice_id, amount=amount, currency=currency, customer=customer,
            method=method,
        )  # fmt: skip
        if self.fault == "unreachable":
            return unknown_result(
                amount, request["currency"], idempotency_key, "the gateway could not be reached"
            )
        with self.ledger.transaction() as db:
            stored = charge_in(db, self.ledger, request, idempotency_key, self.clock.now())
        if self.fault == "lost_response":
            return unknown_result(
                amount, request["currency"], idempotency_key, "the gateway's reply was lost"
            )
        return result_of(stored, idempotency_key)

    def charge_many(
        self, requests: Sequence[Mapping[str, Any]]
    ) -> list[ChargeResult | GatewayError]:
        """Charge a batch in one ledger transaction: one commit instead of one per charge.

        Each request takes the keyword arguments of :meth:`charge` and is answered
        exactly as :meth:`charge` would answer it (idempotency keys included); one the
        gateway refuses comes back as its :class:`GatewayError`, in its place, without
        affecting the others. The batch commits as a whole: a process killed mid-batch
        leaves none of it charged, and sending the same keys again charges each once.
        """
        answers: list[ChargeResult | GatewayError | None] = [None] * len(requests)
        checked: list[tuple[int, dict[str, Any], str]] = []
        for index, r in enumerate(requests):
            key = str(r["idempotency_key"])
            try:
                request = checked_request(
                    invoice_id=r["invoice_id"], amount=r["amount"], currency=r["currency"],
                    customer=r["customer"], method=r["method"],
                )  # fmt: skip
            except GatewayError as err:
                answers[index] = err
                continue
            if self.fault == "unreachable":
                answers[index] = unknown_result(
                    request["amount"], request["currency"], key, "the gateway could not be reached"
                )
                continue
            checked.append((index, request, key))
        if checked:
            now = self.clock.now()
            with self.ledger.transaction() as db:
                stored = charge_batch_in(db, self.ledger, [(r, k) for _, r, k in checked], now)
            for (index, _, key), charge in zip(checked, stored, strict=True):
                answers[index] = (
                    charge if isinstance(charge, GatewayError) else result_of(charge, key)
                )
            if self.fault == "lost_response":
                for index, request, key in checked:
                    if isinstance(answers[index], ChargeResult):
                        answers[index] = unknown_result(
                            request["amount"], request["currency"], key,
                            "the gateway's reply was lost",
                        )  # fmt: skip
        return [a for a in answers if a is not None]

    # -- refunds ----------------------------------------------------------------------

    def refund(
        self, *, charge_id: str, amount: int | None = None, idempotency_key: str
    ) -> RefundResult:
        fingerprint = request_hash(charge_id=charge_id, amount=amount)
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
                if done[1] != fingerprint:
                    raise conflict(idempotency_key)
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
                (refund_id, idempotency_key, fingerprint, charge_id, amount, created),
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
