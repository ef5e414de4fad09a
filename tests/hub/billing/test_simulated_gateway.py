"""The embedded gateway: test cards, idempotency as Stripe does it, a durable ledger."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatehouse.clock import ManualClock
from hub.billing.declines import DeclineReason
from hub.billing.gateway import (
    ChargeStatus,
    EventKind,
    GatewayError,
    IdempotencyConflict,
    PaymentMethodRefused,
    WebhookVerificationError,
    idempotency_key,
)
from hub.billing.simulated_gateway import SimulatedGateway

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def gateway(tmp_path: Path, clock: ManualClock) -> SimulatedGateway:
    with SimulatedGateway(tmp_path / "gateway.sqlite3", clock=clock) as gw:
        yield gw


def pay(gw: SimulatedGateway, source: str, *, invoice: str = "7", attempt: int = 1):
    customer = gw.create_customer(email="m@example.com", name="Member", reference="member:1")
    card = gw.attach_method(customer=customer, source=source)
    return gw.charge(
        invoice_id=invoice,
        amount=107000,
        currency="THB",
        customer=customer,
        method=card.token,
        idempotency_key=idempotency_key(invoice, attempt),
    )


@pytest.mark.parametrize(
    ("source", "status", "reason"),
    [
        ("4242 4242 4242 4242", ChargeStatus.SUCCEEDED, None),
        ("5555-5555-5555-4444", ChargeStatus.SUCCEEDED, None),
        ("pm_card_visa", ChargeStatus.SUCCEEDED, None),
        ("4000000000009995", ChargeStatus.DECLINED, DeclineReason.INSUFFICIENT_FUNDS),
        ("4000000000000069", ChargeStatus.DECLINED, DeclineReason.EXPIRED_CARD),
        ("4000000000009938", ChargeStatus.DECLINED, DeclineReason.DO_NOT_HONOR),
        ("4000000000009987", ChargeStatus.DECLINED, DeclineReason.LOST_CARD),
        ("4000000000009979", ChargeStatus.DECLINED, DeclineReason.STOLEN_CARD),
        ("4000000000000002", ChargeStatus.DECLINED, DeclineReason.CARD_DECLINED),
        ("pm_card_chargeCustomerFail", ChargeStatus.DECLINED, DeclineReason.CARD_DECLINED),
        ("4000000000000119", ChargeStatus.DECLINED, DeclineReason.PROCESSING_ERROR),
        (
            "4000002760003184",
            ChargeStatus.REQUIRES_ACTION,
            DeclineReason.AUTHENTICATION_REQUIRED,
        ),
    ],
)
def test_each_test_card_does_what_the_table_says(
    gateway: SimulatedGateway, source: str, status: ChargeStatus, reason: DeclineReason | None
) -> None:
    result = pay(gateway, source)
    assert result.status is status
    assert result.decline_reason is reason
    assert result.charge_id and result.charge_id.startswith("pi_sim_")
    assert result.idempotency_key == "invoice:7:attempt:1"
    assert gateway.charge_count(invoice_id="7") == 1
    assert gateway.charge_count(invoice_id="7", succeeded_only=True) == int(result.succeeded)


def test_saved_methods_expose_only_token_brand_last4_and_expiry(
    gateway: SimulatedGateway,
) -> None:
    customer = gateway.create_customer(email="a@example.com", name="A", reference="member:2")
    card = gateway.attach_method(customer=customer, source="4000 0000 0000 9995")
    assert card.token.startswith("pm_sim_")
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "9995", 12, 2029)
    assert "4000000000009995" not in repr(card)


def test_card_numbers_never_reach_the_ledger_file(tmp_path: Path, clock: ManualClock) -> None:
    numbers = ["4242424242424242", "4000000000009995", "5555555555554444", "378282246310005"]
    with SimulatedGateway(tmp_path / "g.sqlite3", clock=clock) as gw:
        customer = gw.create_customer(email="a@example.com", name="A", reference="member:3")
        for n in numbers:
            gw.attach_method(customer=customer, source=n)
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"pm_sim_" in stored  # the file does hold the methods ...
    for n in numbers:
        assert n.encode() not in stored  # ... but not one card number


def test_only_documented_test_cards_are_accepted(gateway: SimulatedGateway) -> None:
    customer = gateway.create_customer(email="a@example.com", name="A", reference="member:4")
    with pytest.raises(PaymentMethodRefused, match="only its documented test cards") as info:
        gateway.attach_method(customer=customer, source="4111 1111 1111 1111")
    assert "4111" not in str(info.value)
    with pytest.raises(PaymentMethodRefused, match="not a valid card number"):
        gateway.attach_method(customer=customer, source="4242424242424241")
    with pytest.raises(PaymentMethodRefused, match="expired in 02/2026"):
        gateway.attach_method(customer=customer, source="pm_card_visa", exp_month=2, exp_year=2026)
    with pytest.raises(PaymentMethodRefused, match="no such customer"):
        gateway.attach_method(customer="cus_nobody", source="pm_card_visa")


def test_same_key_same_parameters_returns_the_first_result_without_charging_again(
    gateway: SimulatedGateway,
) -> None:
    customer = gateway.create_customer(email="a@example.com", name="A", reference="member:5")
    card = gateway.attach_method(customer=customer, source="pm_card_visa")
    args = dict(invoice_id="9", amount=5000, currency="usd", customer=customer, method=card.token)
    first = gateway.charge(**args, idempotency_key="invoice:9:attempt:1")
    again = gateway.charge(**args, idempotency_key="invoice:9:attempt:1")
    assert again == first
    assert gateway.charge_count(invoice_id="9") == 1
    with pytest.raises(IdempotencyConflict, match="different parameters"):
        gateway.charge(**{**args, "amount": 5001}, idempotency_key="invoice:9:attempt:1")
    second = gateway.charge(**args, idempotency_key="invoice:9:attempt:2")
    assert second.charge_id != first.charge_id
    assert gateway.charge_count(invoice_id="9", succeeded_only=True) == 2


def test_a_decline_is_replayed_too(gateway: SimulatedGateway) -> None:
    first = pay(gateway, "4000000000009995", invoice="11")
    customer = gateway.ledger.charges()[0]["customer"]
    method = gateway.ledger.charges()[0]["method"]
    again = gateway.charge(
        invoice_id="11",
        amount=107000,
        currency="THB",
        customer=customer,
        method=method,
        idempotency_key=first.idempotency_key,
    )
    assert again == first
    assert gateway.charge_count(invoice_id="11") == 1


def test_a_lost_reply_is_recovered_by_retrying_the_same_key(gateway: SimulatedGateway) -> None:
    customer = gateway.create_customer(email="a@example.com", name="A", reference="member:6")
    card = gateway.attach_method(customer=customer, source="pm_card_visa")
    args = dict(
        invoice_id="12",
        amount=107000,
        currency="THB",
        customer=customer,
        method=card.token,
        idempotency_key="invoice:12:attempt:1",
    )
    gateway.fault = "lost_response"
    lost = gateway.charge(**args)
    assert lost.status is ChargeStatus.ERROR and lost.charge_id is None
    assert gateway.charge_count(invoice_id="12", succeeded_only=True) == 1  # money moved
    gateway.fault = None
    retried = gateway.charge(**args)
    assert retried.status is ChargeStatus.SUCCEEDED
    assert gateway.charge_count(invoice_id="12") == 1  # and only once


def test_an_unreachable_gateway_records_nothing(gateway: SimulatedGateway) -> None:
    gateway.fault = "unreachable"
    result = pay(gateway, "pm_card_visa", invoice="13")
    assert result.status is ChargeStatus.ERROR
    assert gateway.charge_count(invoice_id="13") == 0


def test_a_card_that_expired_since_it_was_saved_is_declined(
    gateway: SimulatedGateway, clock: ManualClock
) -> None:
    customer = gateway.create_customer(email="a@example.com", name="A", reference="member:7")
    card = gateway.attach_method(
        customer=customer, source="pm_card_visa", exp_month=4, exp_year=2026
    )
    args = dict(invoice_id="14", amount=100, currency="THB", customer=customer, method=card.token)
    assert gateway.charge(**args, idempotency_key="invoice:14:attempt:1").succeeded
    clock.set(datetime(2026, 5, 1, tzinfo=UTC))
    late = gateway.charge(**args, idempotency_key="invoice:14:attempt:2")
    assert (late.status, late.decline_reason) == (
        ChargeStatus.DECLINED,
        DeclineReason.EXPIRED_CARD,
    )


def test_detached_or_foreign_methods_cannot_be_charged(gateway: SimulatedGateway) -> None:
    alice = gateway.create_customer(email="a@example.com", name="A", reference="member:8")
    bob = gateway.create_customer(email="b@example.com", name="B", reference="member:9")
    card = gateway.attach_method(customer=alice, source="pm_card_visa")
    with pytest.raises(GatewayError, match="not attached"):
        gateway.charge(
            invoice_id="15",
            amount=100,
            currency="THB",
            customer=bob,
            method=card.token,
            idempotency_key="invoice:15:attempt:1",
        )
    gateway.detach_method(token=card.token)
    with pytest.raises(GatewayError, match="not attached"):
        gateway.charge(
            invoice_id="15",
            amount=100,
            currency="THB",
            customer=alice,
            method=card.token,
            idempotency_key="invoice:15:attempt:2",
        )
    assert gateway.charge_count() == 0


def test_bad_amounts_and_currencies_are_refused(gateway: SimulatedGateway) -> None:
    for amount, currency in ((0, "THB"), (-5, "THB"), (10.5, "THB"), (100, "BAHT")):
        with pytest.raises(GatewayError):
            gateway.charge(
                invoice_id="16",
                amount=amount,
                currency=currency,
                customer="c",
                method="m",
                idempotency_key="k",
            )


def test_refunds_are_partial_or_full_idempotent_and_bounded(gateway: SimulatedGateway) -> None:
    paid = pay(gateway, "pm_card_visa", invoice="17")
    assert paid.charge_id is not None
    part = gateway.refund(charge_id=paid.charge_id, amount=7000, idempotency_key="refund:1")
    assert (part.amount, part.currency, part.status) == (7000, "THB", "succeeded")
    assert gateway.refund(charge_id=paid.charge_id, amount=7000, idempotency_key="refund:1") == part
    with pytest.raises(IdempotencyConflict):
        gateway.refund(charge_id=paid.charge_id, amount=1, idempotency_key="refund:1")
    rest = gateway.refund(charge_id=paid.charge_id, idempotency_key="refund:2")
    assert rest.amount == 100000
    with pytest.raises(GatewayError, match="0 is left"):
        gateway.refund(charge_id=paid.charge_id, amount=1, idempotency_key="refund:3")
    declined = pay(gateway, "4000000000009995", invoice="18")
    with pytest.raises(GatewayError, match="did not succeed"):
        gateway.refund(charge_id=declined.charge_id or "", idempotency_key="refund:4")


def test_events_are_signed_verified_and_parsed(
    gateway: SimulatedGateway, clock: ManualClock
) -> None:
    ok = pay(gateway, "pm_card_visa", invoice="21")
    declined = pay(gateway, "4000000000009987", invoice="22")
    disputed = pay(gateway, "pm_card_createDispute", invoice="23")
    gateway.refund(charge_id=ok.charge_id or "", amount=500, idempotency_key="refund:21")
    events = [gateway.parse_webhook(e.payload, e.signature_header) for e in gateway.signed_events()]
    assert [e.kind for e in events] == [
        EventKind.PAYMENT_SUCCEEDED,
        EventKind.PAYMENT_FAILED,
        EventKind.PAYMENT_SUCCEEDED,
        EventKind.DISPUTE_OPENED,
        EventKind.REFUNDED,
    ]
    assert (events[0].charge_id, events[0].invoice_id, events[0].amount) == (
        ok.charge_id,
        "21",
        107000,
    )
    assert events[1].decline_reason is DeclineReason.LOST_CARD
    assert events[1].charge_id == declined.charge_id
    dispute = events[3].dispute
    assert dispute is not None and events[3].charge_id == disputed.charge_id
    assert (dispute.amount, dispute.currency, dispute.reason) == (107000, "THB", "fraudulent")
    assert (events[4].charge_id, events[4].amount) == (ok.charge_id, 500)
    assert len({e.event_id for e in events}) == 5
    later = gateway.signed_events(after_seq=gateway.signed_events()[-1].seq)
    assert later == []


def test_forged_or_stale_webhooks_are_refused(
    gateway: SimulatedGateway, clock: ManualClock
) -> None:
    pay(gateway, "pm_card_visa")
    event = gateway.signed_events()[0]
    with pytest.raises(WebhookVerificationError, match="does not match"):
        gateway.parse_webhook(event.payload.replace(b"107000", b"1"), event.signature_header)
    with pytest.raises(WebhookVerificationError, match="no t="):
        gateway.parse_webhook(event.payload, "")
    clock.advance(minutes=10)
    with pytest.raises(WebhookVerificationError, match="away from now"):
        gateway.parse_webhook(event.payload, event.signature_header)


CHARGE_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from hub.billing.simulated_gateway import SimulatedGateway
    path, customer, method, key = sys.argv[1:5]
    with SimulatedGateway(path) as gw:
        r = gw.charge(invoice_id="31", amount=107000, currency="THB", customer=customer,
                      method=method, idempotency_key=key)
    print(r.status.value, r.charge_id)
    """
)


def test_processes_sharing_the_ledger_charge_a_key_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    with SimulatedGateway(path) as gw:
        customer = gw.create_customer(email="a@example.com", name="A", reference="member:31")
        card = gw.attach_method(customer=customer, source="pm_card_visa")
    argv = [sys.executable, "-c", CHARGE_IN_ANOTHER_PROCESS, str(path), customer, card.token]
    procs = [
        subprocess.Popen([*argv, "invoice:31:attempt:1"], cwd=ROOT, stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = {p.communicate(timeout=60)[0].decode().strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(outputs) == 1 and next(iter(outputs)).startswith("succeeded pi_sim_")
    with SimulatedGateway(path) as gw:
        assert gw.charge_count(invoice_id="31") == 1
