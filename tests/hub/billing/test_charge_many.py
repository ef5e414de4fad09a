"""The simulated gateway's batch charge: one commit, the same answers as one by one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gatehouse.clock import ManualClock
from hub.billing.gateway import (
    ChargeResult,
    ChargeStatus,
    GatewayError,
    IdempotencyConflict,
    idempotency_key,
)
from hub.billing.simulated_gateway import SimulatedGateway

CARDS = ["4242424242424242", "4000000000009995", "4000002760003184", "4000000000000259"]


def _requests(gw: SimulatedGateway) -> list[dict]:
    customer = gw.create_customer(email="m@example.com", name="M", reference="member:1")
    tokens = [gw.attach_method(customer=customer, source=c).token for c in CARDS]
    return [
        {"invoice_id": str(n), "amount": 1000 + n, "currency": "thb", "customer": customer,
         "method": tokens[n % len(tokens)], "idempotency_key": idempotency_key(n, 1)}
        for n in range(1, 13)
    ]  # fmt: skip


def _shape(answer: ChargeResult | GatewayError) -> tuple:
    if isinstance(answer, GatewayError):
        return ("error", type(answer).__name__)
    return (answer.status, answer.amount, answer.currency, answer.decline_reason)


def test_a_batch_answers_like_single_charges_and_replays_without_charging(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    with (
        SimulatedGateway(tmp_path / "one.sqlite3", clock=clock) as one,
        SimulatedGateway(tmp_path / "many.sqlite3", clock=clock) as many,
    ):
        singles = [one.charge(**r) for r in _requests(one)]
        batch = _requests(many)
        answers = many.charge_many(batch)
        assert [_shape(a) for a in answers] == [_shape(a) for a in singles]
        assert many.charge_count() == 12 and len(many.signed_events()) == 12 + 3  # disputes
        again = many.charge_many(batch)
        assert [a.charge_id for a in again] == [a.charge_id for a in answers]  # type: ignore[union-attr]
        assert many.charge_count() == 12
        many.detach_method(token=batch[0]["method"])
        changed = [
            {**batch[1], "amount": 1},
            {**batch[0], "idempotency_key": "invoice:x:attempt:1"},
            {**batch[2], "idempotency_key": "invoice:y:attempt:1"},
            {**batch[3], "idempotency_key": "invoice:y:attempt:1"},
        ]
        mixed = many.charge_many(changed)
        assert isinstance(mixed[0], IdempotencyConflict)
        assert isinstance(mixed[1], GatewayError) and "not attached" in str(mixed[1])
        assert isinstance(mixed[2], ChargeResult) and mixed[2].status is ChargeStatus.SUCCEEDED
        assert isinstance(mixed[3], IdempotencyConflict)  # same key, other parameters
        assert many.charge_count() == 13


def test_a_lost_reply_in_a_batch_is_answered_from_the_ledger_next_time(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    with SimulatedGateway(tmp_path / "gw.sqlite3", clock=clock) as gw:
        batch = _requests(gw)
        gw.fault = "lost_response"
        assert {a.status for a in gw.charge_many(batch)} == {ChargeStatus.ERROR}  # type: ignore[union-attr]
        gw.fault = None
        assert gw.charge_count() == 12
        answers = gw.charge_many(batch)
        assert gw.charge_count() == 12
        assert [a.status for a in answers][:2] == [
            ChargeStatus.DECLINED,
            ChargeStatus.REQUIRES_ACTION,
        ]  # type: ignore[union-attr]
