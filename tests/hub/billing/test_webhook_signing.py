"""Webhook signature headers: Stripe's ``t=<unix>,v1=<hex>`` format, checked strictly."""

from __future__ import annotations

import pytest

from hub.billing.gateway import WebhookVerificationError
from hub.billing.webhook_signing import sign_payload, verify_signature

SECRET = "whsec_test"
BODY = b'{"id": "evt_1"}'
NOW = 1_800_000_000


def test_a_signed_body_verifies_and_gives_its_timestamp() -> None:
    header = sign_payload(BODY, SECRET, timestamp=NOW)
    assert verify_signature(BODY, header, SECRET, now=NOW) == NOW


@pytest.mark.parametrize("stamp", ["²", "١٢٣", "12²", "-5", ""])
def test_a_timestamp_of_other_digits_is_a_refusal_not_a_crash(stamp: str) -> None:
    v1 = sign_payload(BODY, SECRET, timestamp=NOW).split("v1=", 1)[1]
    with pytest.raises(WebhookVerificationError):
        verify_signature(BODY, f"t={stamp},v1={v1}", SECRET, now=NOW)
