"""StripeGateway through the official SDK against a real localstripe process.

localstripe ignores idempotency keys and reports declines in its own shape (see the
platform notes), so two more checks sit at the HTTP layer: a recording proxy shows the
``Idempotency-Key`` header we send, and Stripe's documented error bodies (recorded as
JSON fixtures) are served to the SDK to check the decline mapping.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.billing.declines import DeclineReason
from hub.billing.gateway import (
    ChargeStatus,
    EventKind,
    GatewayError,
    IdempotencyConflict,
    WebhookVerificationError,
    idempotency_key,
)
from hub.billing.stripe_gateway import StripeGateway
from hub.billing.webhook_signing import sign_payload
from tests.hub.billing.http_helpers import RecordingProxy, WebhookReceiver

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "whsec_gatehouse_test"


@pytest.fixture
def proxy(localstripe: str) -> Iterator[RecordingProxy]:
    with RecordingProxy(localstripe) as p:
        yield p


@pytest.fixture
def gateway(proxy: RecordingProxy) -> StripeGateway:
    return StripeGateway.connect(
        "sk_test_gatehouse", api_base=proxy.url, webhook_secret=SECRET, max_network_retries=0
    )


def new_member(gateway: StripeGateway, source: str, reference: str) -> tuple[str, str]:
    customer = gateway.create_customer(
        email=f"{reference}@example.com", name="Somchai", reference=reference
    )
    return customer, gateway.attach_method(customer=customer, source=source).token


def charge(gateway: StripeGateway, customer: str, method: str, invoice: str, attempt: int = 1):
    return gateway.charge(
        invoice_id=invoice,
        amount=107000,
        currency="THB",
        customer=customer,
        method=method,
        idempotency_key=idempotency_key(invoice, attempt),
    )


def test_customer_method_and_an_off_session_charge_that_succeeds(gateway: StripeGateway) -> None:
    customer = gateway.create_customer(email="a@example.com", name="A", reference="member:101")
    card = gateway.attach_method(customer=customer, source="pm_card_visa")
    assert customer.startswith("cus_")
    assert card.token.startswith("pm_") and card.token != "pm_card_visa"
    assert (card.brand, card.last4) == ("visa", "4242")
    assert 1 <= card.exp_month <= 12 and card.exp_year >= 2026
    result = charge(gateway, customer, card.token, "1001")
    assert result.status is ChargeStatus.SUCCEEDED
    assert result.charge_id and result.charge_id.startswith("pi_")
    assert (result.amount, result.currency) == (107000, "THB")
    assert result.decline_reason is None


def test_a_declining_card_is_mapped_to_our_reason(gateway: StripeGateway) -> None:
    customer, method = new_member(gateway, "pm_card_chargeCustomerFail", "member:102")
    result = charge(gateway, customer, method, "1002")
    assert result.status is ChargeStatus.DECLINED
    assert result.decline_reason is DeclineReason.CARD_DECLINED
    assert result.raw_code == "card_declined"


def test_refund_part_of_a_charge(gateway: StripeGateway) -> None:
    customer, method = new_member(gateway, "pm_card_visa", "member:103")
    paid = charge(gateway, customer, method, "1003")
    assert paid.charge_id is not None
    refund = gateway.refund(charge_id=paid.charge_id, amount=7000, idempotency_key="refund:1003:1")
    assert refund.refund_id.startswith("re_")
    assert (refund.amount, refund.currency, refund.status) == (7000, "THB", "succeeded")


def test_saving_a_card_for_later_starts_a_setup_intent(gateway: StripeGateway) -> None:
    customer = gateway.create_customer(email="s@example.com", name="S", reference="member:104")
    session = gateway.begin_saving_method(customer=customer)
    assert session.setup_intent_id.startswith("seti_")
    assert session.client_secret.startswith(session.setup_intent_id)


def test_detaching_a_method_leaves_it_with_no_customer(gateway: StripeGateway) -> None:
    customer, method = new_member(gateway, "pm_card_visa", "member:105")
    assert customer_of(gateway, method) == customer
    gateway.detach_method(token=method)
    assert gateway.client.v1.payment_methods.retrieve(method).customer is None


def test_we_send_our_idempotency_keys(gateway: StripeGateway, proxy: RecordingProxy) -> None:
    customer, method = new_member(gateway, "pm_card_visa", "member:106")
    charge(gateway, customer, method, "1006", attempt=1)
    charge(gateway, customer, method, "1006", attempt=1)  # a rerun after a crash
    charge(gateway, customer, method, "1006", attempt=2)
    sent = [r.headers.get("idempotency-key") for r in proxy.posts_to("/v1/payment_intents")]
    assert sent == ["invoice:1006:attempt:1", "invoice:1006:attempt:1", "invoice:1006:attempt:2"]
    bodies = [urllib.parse.parse_qs(r.body.decode()) for r in proxy.posts_to("/v1/payment_intents")]
    assert bodies[0]["metadata[invoice_id]"] == ["1006"]
    assert bodies[0]["off_session"] == ["true"] and bodies[0]["confirm"] == ["true"]
    assert bodies[0]["amount"] == ["107000"] and bodies[0]["currency"] == ["thb"]
    customers = proxy.posts_to("/v1/customers")
    assert customers[-1].headers.get("idempotency-key") == "customer:member:106"


def test_refunds_send_their_idempotency_key(gateway: StripeGateway, proxy: RecordingProxy) -> None:
    customer, method = new_member(gateway, "pm_card_visa", "member:107")
    paid = charge(gateway, customer, method, "1007")
    gateway.refund(charge_id=paid.charge_id or "", idempotency_key="refund:1007:1")
    assert [r.headers.get("idempotency-key") for r in proxy.posts_to("/v1/refunds")] == [
        "refund:1007:1"
    ]


DECLINE_FIXTURES = [
    ("insufficient_funds", ChargeStatus.DECLINED, DeclineReason.INSUFFICIENT_FUNDS),
    ("expired_card", ChargeStatus.DECLINED, DeclineReason.EXPIRED_CARD),
    ("do_not_honor", ChargeStatus.DECLINED, DeclineReason.DO_NOT_HONOR),
    ("lost_card", ChargeStatus.DECLINED, DeclineReason.LOST_CARD),
    ("stolen_card", ChargeStatus.DECLINED, DeclineReason.STOLEN_CARD),
    (
        "authentication_required",
        ChargeStatus.REQUIRES_ACTION,
        DeclineReason.AUTHENTICATION_REQUIRED,
    ),
]


@pytest.mark.parametrize(("name", "status", "reason"), DECLINE_FIXTURES)
def test_stripe_decline_bodies_map_to_our_reasons(
    name: str, status: ChargeStatus, reason: DeclineReason
) -> None:
    body = (FIXTURES / f"stripe_error_{name}.json").read_bytes()
    error = json.loads(body)["error"]
    with RecordingProxy(upstream=None) as stripe_api:
        stripe_api.queue_reply(402, body)
        gateway = StripeGateway.connect(
            "sk_test_x", api_base=stripe_api.url, webhook_secret=SECRET, max_network_retries=0
        )
        result = charge(gateway, "cus_RbcMemberFortyTwo", "pm_1QbcTestMethod", "1017")
    assert result.status is status
    assert result.decline_reason is reason
    assert result.charge_id == error["payment_intent"]["id"]
    assert (result.raw_code, result.raw_decline_code) == (error["code"], error["decline_code"])
    assert result.raw_message == error["message"]
    assert result.idempotency_key == "invoice:1017:attempt:1"


def test_an_idempotency_error_from_stripe_is_a_conflict() -> None:
    body = (FIXTURES / "stripe_error_idempotency.json").read_bytes()
    with RecordingProxy(upstream=None) as stripe_api:
        stripe_api.queue_reply(400, body)
        gateway = StripeGateway.connect(
            "sk_test_x", api_base=stripe_api.url, webhook_secret=SECRET, max_network_retries=0
        )
        with pytest.raises(IdempotencyConflict, match="same parameters"):
            charge(gateway, "cus_x", "pm_x", "1017")


def test_unreachable_stripe_gives_an_unknown_outcome_to_retry() -> None:
    gateway = StripeGateway.connect(
        "sk_test_x", api_base="http://127.0.0.1:9", webhook_secret=SECRET, max_network_retries=0
    )
    result = charge(gateway, "cus_x", "pm_x", "1018")
    assert result.status is ChargeStatus.ERROR
    assert result.raw_code == "APIConnectionError"
    assert result.charge_id is None


def test_currencies_stripe_counts_differently_are_refused_before_any_request() -> None:
    with RecordingProxy(upstream=None) as stripe_api:
        gateway = StripeGateway.connect("sk_test_x", api_base=stripe_api.url, webhook_secret=SECRET)
        with pytest.raises(GatewayError, match="ISK"):
            gateway.charge(
                invoice_id="1",
                amount=100,
                currency="ISK",
                customer="c",
                method="m",
                idempotency_key="invoice:1:attempt:1",
            )
        assert stripe_api.requests == []


@pytest.fixture
def webhooks(localstripe: str) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        data = urllib.parse.urlencode({"url": f"{receiver.url}/stripe", "secret": SECRET}).encode()
        hook_id = f"gatehouse{id(receiver)}"
        with urllib.request.urlopen(f"{localstripe}/_config/webhooks/{hook_id}", data, timeout=10):
            pass
        yield receiver
        # Point the registration at a dead end so later tests' events are not delivered here.
        data = urllib.parse.urlencode({"url": "http://127.0.0.1:9/", "secret": SECRET}).encode()
        with urllib.request.urlopen(f"{localstripe}/_config/webhooks/{hook_id}", data, timeout=10):
            pass


def about(invoice_id: str, event_type: str):
    def matches(body: bytes) -> bool:
        event = json.loads(body)
        metadata = event["data"]["object"].get("metadata") or {}
        return event["type"] == event_type and metadata.get("invoice_id") == invoice_id

    return matches


def test_webhooks_from_localstripe_are_verified_and_parsed(
    gateway: StripeGateway, webhooks: WebhookReceiver
) -> None:
    customer, method = new_member(gateway, "pm_card_visa", "member:108")
    paid = charge(gateway, customer, method, "1008")
    assert paid.charge_id is not None
    body, signature = webhooks.wait_for(about("1008", "payment_intent.succeeded"))
    event = gateway.parse_webhook(body, signature)
    assert event.kind is EventKind.PAYMENT_SUCCEEDED
    assert (event.charge_id, event.invoice_id) == (paid.charge_id, "1008")
    assert (event.amount, event.currency) == (107000, "THB")
    assert event.event_id.startswith("evt_")

    member, failing = new_member(gateway, "pm_card_chargeCustomerFail", "member:109")
    assert charge(gateway, member, failing, "1009").status is ChargeStatus.DECLINED
    body, signature = webhooks.wait_for(about("1009", "payment_intent.payment_failed"))
    failed = gateway.parse_webhook(body, signature)
    assert failed.kind is EventKind.PAYMENT_FAILED
    assert failed.decline_reason is DeclineReason.CARD_DECLINED


def customer_of(gateway: StripeGateway, method: str) -> str:
    return str(gateway.client.v1.payment_methods.retrieve(method).customer)


def test_bad_webhook_signatures_are_refused(
    gateway: StripeGateway, webhooks: WebhookReceiver
) -> None:
    customer, method = new_member(gateway, "pm_card_visa", "member:110")
    assert charge(gateway, customer, method, "1010").succeeded
    body, signature = webhooks.wait_for(about("1010", "payment_intent.succeeded"))
    with pytest.raises(WebhookVerificationError):
        gateway.parse_webhook(body.replace(b"107000", b"100"), signature)
    with pytest.raises(WebhookVerificationError):
        gateway.parse_webhook(body, "t=1,v1=" + "0" * 64)
    other = StripeGateway.connect("sk_test_x", webhook_secret="whsec_someone_else")
    with pytest.raises(WebhookVerificationError):
        other.parse_webhook(body, signature)


def test_dispute_events_are_recorded_in_the_parsed_event(gateway: StripeGateway) -> None:
    body = (FIXTURES / "stripe_event_dispute_created.json").read_bytes()
    signature = sign_payload(body, SECRET, timestamp=int(time.time()))
    event = gateway.parse_webhook(body, signature)
    assert event.kind is EventKind.DISPUTE_OPENED
    assert event.charge_id == "pi_3QbcPaidThenDisputed"
    assert event.dispute is not None
    assert event.dispute.dispute_id == "dp_1QbcDisputeFortyTwo"
    assert event.dispute.charge_id == "ch_3QbcPaidThenDisputed"
    assert (event.dispute.amount, event.dispute.currency) == (107000, "THB")
    assert (event.dispute.reason, event.dispute.status) == ("fraudulent", "needs_response")
