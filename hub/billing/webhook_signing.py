"""Webhook signatures in Stripe's scheme, checked against an injected clock.

A delivery carries ``Stripe-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256 over ``b"<t>." + body`` with the endpoint's secret. The simulated gateway
signs its events this way, so the hub's webhook endpoint treats both gateways alike::

    header = sign_payload(body, "whsec_test", timestamp=clock.timestamp())
    verify_signature(body, header, "whsec_test", now=clock.timestamp())   # or raises

A delivery older (or newer) than *tolerance_s* is refused, so a captured request cannot
be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

from hub.billing.gateway import WebhookVerificationError

#: Default accepted clock difference between signer and receiver, in seconds.
DEFAULT_TOLERANCE_S = 300


def _mac(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign_payload(payload: bytes, secret: str, *, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value for *payload* signed at *timestamp*."""
    return f"t={timestamp},v1={_mac(payload, secret, timestamp)}"


def verify_signature(
    payload: bytes,
    header: str,
    secret: str,
    *,
    now: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> int:
    """Check *header* against *payload*; returns the signed timestamp or raises
    :class:`~hub.billing.gateway.WebhookVerificationError`."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookVerificationError("no t=/v1= signature in the header")
    expected = _mac(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookVerificationError("the signature does not match the body")
    if abs(now - timestamp) > tolerance_s:
        raise WebhookVerificationError(
            f"the signature is {abs(now - timestamp)} s away from now (limit {tolerance_s} s)"
        )
    return timestamp
