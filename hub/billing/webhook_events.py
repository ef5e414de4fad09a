"""Webhook event bodies in Stripe's shape, turned into :class:`WebhookEvent` objects.

Both gateways speak this shape (the simulated gateway writes its events the way Stripe
does), so the hub applies their events with one code path::

    event = event_from_stripe_shape(body["id"], body["type"], body["created"],
                                    body["data"]["object"], body)
    event.kind          # EventKind.PAYMENT_SUCCEEDED
    event.invoice_id    # from the PaymentIntent's metadata
"""

from __future__ import annotations

from typing import Any

from hub.billing.gateway import Dispute, EventKind, WebhookEvent
from hub.billing.stripe_codes import decline_reason_from_codes

EVENT_KINDS = {
    "payment_intent.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventKind.PAYMENT_FAILED,
    "charge.refunded": EventKind.REFUNDED,
    "charge.dispute.created": EventKind.DISPUTE_OPENED,
    "charge.dispute.updated": EventKind.DISPUTE_UPDATED,
    "charge.dispute.closed": EventKind.DISPUTE_CLOSED,
}

_DISPUTE_KINDS = (EventKind.DISPUTE_OPENED, EventKind.DISPUTE_UPDATED, EventKind.DISPUTE_CLOSED)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def event_from_stripe_shape(
    event_id: str, type_: str, created: int, obj: dict[str, Any], body: dict[str, Any]
) -> WebhookEvent:
    """A :class:`WebhookEvent` from an event's id, type, time and ``data.object``.

    *charge_id* is the PaymentIntent id (what :class:`~hub.billing.gateway.ChargeResult`
    calls the charge); for a dispute it comes from the dispute's ``payment_intent``.
    """
    kind = EVENT_KINDS.get(type_, EventKind.OTHER)
    currency = _text(obj.get("currency"))
    currency = currency.upper() if currency else None
    metadata = obj.get("metadata")
    invoice_id = metadata.get("invoice_id") if isinstance(metadata, dict) else None
    amount = obj.get("amount")
    if type_.startswith("payment_intent."):
        charge_id = _text(obj.get("id"))
    else:
        charge_id = _text(obj.get("payment_intent"))
    reason = None
    dispute = None
    if kind is EventKind.PAYMENT_FAILED:
        error = obj.get("last_payment_error") or {}
        reason = decline_reason_from_codes(
            _text(error.get("code")), _text(error.get("decline_code"))
        )
    elif kind is EventKind.REFUNDED:
        amount = obj.get("amount_refunded", amount)
    elif kind in _DISPUTE_KINDS:
        dispute = Dispute(
            dispute_id=str(obj.get("id")),
            charge_id=_text(obj.get("charge")),
            amount=int(amount) if isinstance(amount, int) else 0,
            currency=currency or "",
            reason=_text(obj.get("reason")) or "general",
            status=_text(obj.get("status")) or "needs_response",
        )
    return WebhookEvent(
        event_id=event_id,
        type=type_,
        kind=kind,
        created=int(created),
        charge_id=charge_id,
        invoice_id=str(invoice_id) if invoice_id is not None else None,
        amount=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=currency,
        decline_reason=reason,
        dispute=dispute,
        raw=body,
    )
