"""The payment gateway interface: what billing asks of a payment processor.

Billing owns the invoices; a gateway only moves money. Two gateways implement this
interface: :class:`~hub.billing.simulated_gateway.SimulatedGateway` (the embedded
default, with test card numbers) and :class:`~hub.billing.stripe_gateway.StripeGateway`
(the official ``stripe`` SDK)::

    customer = gateway.create_customer(email="somchai@example.com", name="Somchai",
                                       reference="member:42")
    card = gateway.attach_method(customer=customer, source="4242424242424242")
    card.brand, card.last4            # ('visa', '4242') -- never the card number
    result = gateway.charge(
        invoice_id="1017", amount=107000, currency="THB", customer=customer,
        method=card.token, idempotency_key=idempotency_key("1017", 1),
    )
    if result.status is ChargeStatus.DECLINED:
        result.decline_reason         # DeclineReason.INSUFFICIENT_FUNDS, for dunning

Every charge carries an idempotency key, ``invoice:<invoice id>:attempt:<n>``
(:func:`idempotency_key`). The billing run records the attempt (and its key) before it
calls the gateway; after a crash it sends the same key again and the processor answers
with the first result instead of charging twice.

A :class:`ChargeResult` with status ``error`` means the outcome is unknown (the processor
could not be reached, or its answer was lost): retry with the **same** key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from hub.billing.declines import DeclineReason


def idempotency_key(invoice_id: str | int, attempt: int) -> str:
    """The key for charge attempt *attempt* (1, 2, ...) of an invoice.

    ``idempotency_key(1017, 2) == "invoice:1017:attempt:2"``.
    """
    if attempt < 1:
        raise ValueError("attempts are numbered from 1")
    return f"invoice:{invoice_id}:attempt:{attempt}"


class ChargeStatus(StrEnum):
    """How a charge attempt ended."""

    SUCCEEDED = "succeeded"  # the money moved
    DECLINED = "declined"  # the issuer or processor refused; see decline_reason
    REQUIRES_ACTION = "requires_action"  # the member must authenticate (3-D Secure)
    ERROR = "error"  # outcome unknown: retry with the same idempotency key


class GatewayError(Exception):
    """A gateway call failed for a reason other than a card decline."""


class IdempotencyConflict(GatewayError):
    """An idempotency key was reused with different parameters (a programming error)."""


class PaymentMethodRefused(GatewayError):
    """A payment method could not be saved (unknown test card, expired, wrong customer)."""


class WebhookVerificationError(GatewayError):
    """A webhook's signature did not verify (or its body is not an event)."""


@dataclass(frozen=True, slots=True)
class SavedMethod:
    """A saved payment method as the hub stores it: a token, never a card number.

    :param token: the gateway's id for the method (``pm_...``).
    :param brand: ``visa``, ``mastercard``, ``amex``, ...
    :param last4: last four digits, for "Visa ending 4242".
    :param exp_month: 1-12.
    :param exp_year: four digits.
    """

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """The answer to :meth:`PaymentGateway.charge`.

    :param status: a :class:`ChargeStatus`.
    :param charge_id: the gateway's id for the attempt (``None`` if it never got one).
    :param amount: minor units requested.
    :param currency: ISO 4217 code.
    :param idempotency_key: the key the attempt was sent with.
    :param decline_reason: why it was declined or needs action, in the product's terms.
    :param raw_code: the processor's own code (``card_declined``, ``expired_card``, ...).
    :param raw_decline_code: the issuer's decline code, when the processor gives one.
    :param raw_message: the processor's message, for staff (not shown to members as-is).
    """

    status: ChargeStatus
    charge_id: str | None
    amount: int
    currency: str
    idempotency_key: str
    decline_reason: DeclineReason | None = None
    raw_code: str | None = None
    raw_decline_code: str | None = None
    raw_message: str | None = None

    @property
    def succeeded(self) -> bool:
        """True if the money moved."""
        return self.status is ChargeStatus.SUCCEEDED


@dataclass(frozen=True, slots=True)
class RefundResult:
    """The answer to :meth:`PaymentGateway.refund`."""

    refund_id: str
    charge_id: str
    amount: int
    currency: str
    status: str  # succeeded | pending | failed


class EventKind(StrEnum):
    """What a webhook event means for billing."""

    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_UPDATED = "dispute_updated"
    DISPUTE_CLOSED = "dispute_closed"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Dispute:
    """A chargeback: the member's bank is taking the money back unless the club answers."""

    dispute_id: str
    charge_id: str | None
    amount: int
    currency: str
    reason: str  # fraudulent, duplicate, product_not_received, ...
    status: str  # needs_response, under_review, won, lost, ...


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook event.

    :param event_id: the processor's event id (store it to apply each event once).
    :param type: the processor's event type (``payment_intent.succeeded``).
    :param kind: an :class:`EventKind`.
    :param created: unix seconds.
    :param charge_id: the charge (PaymentIntent) it concerns, as in :class:`ChargeResult`.
    :param invoice_id: the hub invoice id the charge was made for, when known.
    :param amount: minor units, when the event carries an amount.
    :param currency: ISO 4217 code, upper case.
    :param decline_reason: for failed payments.
    :param dispute: for dispute events.
    :param raw: the event body as received.
    """

    event_id: str
    type: str
    kind: EventKind
    created: int
    charge_id: str | None = None
    invoice_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    decline_reason: DeclineReason | None = None
    dispute: Dispute | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class PaymentGateway(Protocol):
    """What billing and dunning call; both gateways implement it."""

    name: str

    def create_customer(self, *, email: str, name: str, reference: str) -> str:
        """Create the processor's customer for a member; returns its id."""
        ...

    def attach_method(self, *, customer: str, source: str) -> SavedMethod:
        """Save a payment method for *customer* from *source* (a processor token, or a
        test card number on the simulated gateway); returns what the hub may store."""
        ...

    def detach_method(self, *, token: str) -> None:
        """Forget a saved method; it can no longer be charged."""
        ...

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
        """Charge *amount* minor units off-session; never raises for a decline."""
        ...

    def refund(
        self, *, charge_id: str, amount: int | None = None, idempotency_key: str
    ) -> RefundResult:
        """Give back *amount* (default: all that is left) of a succeeded charge."""
        ...

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        """Verify and parse a webhook delivery, or raise :class:`WebhookVerificationError`."""
        ...
