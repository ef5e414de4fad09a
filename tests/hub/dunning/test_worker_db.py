"""The dunning worker's guarantees on the hub's database: a crash between charging and
recording charges nothing twice; a payment closes the case and stops everything; a card
that expires before the renewal gets one reminder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from gatehouse.clock import ManualClock
from hub.billing.collect import collect_invoice
from hub.billing.desk import pay_at_desk
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.dunning.mailer import FolderMailer
from hub.dunning.worker import plan_cases, run_dunning
from hub.models import (
    ChargeAttempt,
    CollectionTask,
    DunningAction,
    DunningCase,
    DunningMessage,
    PaymentMethod,
    Subscription,
)
from tests.hub.dunning.club import Club, parse_eml

AFTERNOON = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 16:00 in Bangkok


def make_club(db_url: str, tmp_path: Path) -> Club:
    settings = Settings(
        database_url=db_url, mqtt_enabled=False, clock="manual",
        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"),
        sms_outbox=str(tmp_path / "sms"),
    )  # fmt: skip
    mailer = FolderMailer(tmp_path / "outbox", sender="Lumpini Gym <billing@lumpini.example>")
    return Club(make_engine(db_url), settings, ManualClock(AFTERNOON), tmp_path, mailer,
                language="en")  # fmt: skip


def run(club: Club) -> object:
    return run_dunning(engine=club.engine, settings=club.settings, clock=club.clock,
                       gateway=club.gateway, mailer=club.mailer)  # fmt: skip


def test_a_charge_made_before_a_crash_is_not_made_again(db_url: str, tmp_path: Path) -> None:
    club = make_club(db_url, tmp_path)
    _, sub = club.failing_member()
    club.advance(days=31)  # renewal declined; day-0 email sent
    club.clock.advance(timedelta(days=1))  # day 1: a retry is due
    with club.session() as s:
        _, recorded = plan_cases(s, clock=club.clock, gateway=club.gateway.name)
        s.commit()
        (retry,) = s.exec(select(DunningAction).where(DunningAction.kind == "retry_charge")).all()
        case = s.exec(select(DunningCase)).one()
    assert recorded == 1 and retry.status == "pending"
    # The worker charged, then died before marking the action done.
    collect_invoice(engine=club.engine, settings=club.settings, clock=club.clock,
                    gateway=club.gateway, invoice_id=case.invoice_id,
                    payment_method_id=int(retry.method_id or 0), request_key=retry.key)  # fmt: skip
    before = club.gateway.charge_count(invoice_id=str(case.invoice_id))
    run(club)  # the next worker finds the action pending and carries it out again
    assert club.gateway.charge_count(invoice_id=str(case.invoice_id)) == before
    with club.session() as s:
        done = s.get(DunningAction, retry.id)
        attempts = s.exec(select(ChargeAttempt).where(ChargeAttempt.request_key == retry.key))
        assert done is not None and done.status == "done" and done.outcome == "declined"
        assert len(attempts.all()) == 1
    club.gateway.close()


def test_paying_at_the_desk_closes_the_case_and_stops_the_messages(
    db_url: str, tmp_path: Path
) -> None:
    club = make_club(db_url, tmp_path)
    _, sub = club.failing_member()
    club.advance(days=31 + 8)  # suspended on day 7
    assert club.get(Subscription, sub.id or 0).status == "suspended"
    with club.session() as s:
        case = s.exec(select(DunningCase)).one()
        case_id = case.id
        pay_at_desk(s, invoice_id=case.invoice_id, method="cash", clock=club.clock, actor="desk")
        s.commit()
        sent = len(s.exec(select(DunningMessage)).all())
    assert club.get(Subscription, sub.id or 0).status == "active"
    club.advance(days=20)
    with club.session() as s:
        closed = s.get(DunningCase, case_id)
        assert closed is not None and closed.closed_reason == "paid"
        assert len(s.exec(select(DunningMessage)).all()) == sent
        assert s.exec(select(DunningAction).where(DunningAction.kind == "escalate")).all() == []
    club.gateway.close()


def test_a_card_expiring_before_the_renewal_gets_one_reminder(db_url: str, tmp_path: Path) -> None:
    club = make_club(db_url, tmp_path)
    member = club.member(email="expiring@club.example")
    sub = club.subscribe(member, club.gold)
    assert club.run(subscription_ids=[sub.id or 0]).paid == 1
    with club.session() as s:  # the card on file runs out at the end of December
        method = s.exec(select(PaymentMethod).where(PaymentMethod.member_id == member.id)).one()
        method.exp_month, method.exp_year = 12, 2026
        s.add(method)
        s.commit()
    club.advance(days=16)  # 17 December: the renewal on 1 January is 15 days away
    with club.session() as s:
        assert s.exec(select(DunningMessage)).all() == []
    club.advance(days=10)
    with club.session() as s:
        (reminder,) = s.exec(select(DunningMessage)).all()
    assert reminder.step == "card_expiry" and reminder.case_id is None
    assert reminder.sent_at.date() == datetime(2026, 12, 18).date()
    mail = parse_eml(club.mailer.path_for(reminder.key))  # type: ignore[attr-defined]
    assert str(mail["Subject"]) == "Your card expires before your next Lumpini Gym payment"
    assert "1 January 2027" in mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    club.gateway.close()


def test_a_phone_number_sms_cannot_use_fails_that_text_and_nothing_else(
    db_url: str, tmp_path: Path
) -> None:
    club = make_club(db_url, tmp_path)
    _, sub = club.failing_member(phone="081-234-5678")  # no country code: not E.164
    club.advance(days=31 + 7)
    with club.session() as s:
        actions = s.exec(select(DunningAction).order_by(DunningAction.id)).all()
    (sms,) = [a for a in actions if a.channel == "sms"]
    assert sms.status == "failed" and "E.164" in (sms.error or "")
    assert [a.status for a in actions if a.channel == "email"] == ["done"] * 5
    assert club.get(Subscription, sub.id or 0).status == "suspended"
    club.gateway.close()


def test_a_high_value_member_gets_a_staff_call_and_more_time(db_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=db_url, mqtt_enabled=False, clock="manual",
        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"), sms_outbox=str(tmp_path / "sms"),
    )  # fmt: skip
    mailer = FolderMailer(tmp_path / "outbox", sender="Lumpini Gym <billing@lumpini.example>")
    club = Club(make_engine(db_url), settings, ManualClock(AFTERNOON), tmp_path, mailer,
                language="en", name="Platinum", price_minor=5_000_000)  # fmt: skip
    _, sub = club.failing_member()  # paid 50,000 baht already: high value
    club.advance(days=31 + 8)
    with club.session() as s:
        case = s.exec(select(DunningCase)).one()
        tasks = s.exec(select(CollectionTask)).all()
    assert (case.segment, case.policy_name, case.policy_version) == (
        "high_value",
        "high_value",
        "1",
    )
    assert [(t.kind, t.brief) for t in tasks] == [
        ("call", "Valued member: call personally, help update the card.")
    ]
    assert club.get(Subscription, sub.id or 0).status == "past_due"  # the door closes on day 10
    club.advance(days=2)
    assert club.get(Subscription, sub.id or 0).status == "suspended"
    club.gateway.close()


def test_a_payment_the_webhook_brings_reinstates_the_member(db_url: str, tmp_path: Path) -> None:
    """The member pays through the pay link but the processor's answer is lost; the
    payment arrives by webhook, and that alone closes the case and reinstates them."""
    from fastapi.testclient import TestClient

    from hub.app import create_app
    from hub.dunning.links import pay_links
    from hub.dunning.payments import pay_open_invoice
    from tests.hub.dunning.club import PAYS

    club = make_club(db_url, tmp_path)
    member, sub = club.failing_member()
    club.advance(days=31 + 8)
    assert club.get(Subscription, sub.id or 0).status == "suspended"
    with club.session() as s:
        case = s.exec(select(DunningCase)).one()
    token = pay_links(club.settings).token(
        str(member.id), str(case.invoice_id), expires_at=club.clock.now() + timedelta(days=1)
    )
    seen = club.gateway.signed_events()[-1].seq
    club.gateway.fault = "lost_response"
    result = pay_open_invoice(engine=club.engine, settings=club.settings, clock=club.clock,
                              gateway=club.gateway, token=token, card_source=PAYS)  # fmt: skip
    club.gateway.fault = None
    assert result.status == "pending" and not result.paid
    assert club.get(Subscription, sub.id or 0).status == "suspended"

    app = create_app(club.settings, clock=club.clock, engine=club.engine)
    app.state.billing = club.services
    with TestClient(app) as web:
        for event in club.gateway.signed_events(after_seq=seen):
            answer = web.post("/api/v1/billing/webhooks/simulated", content=event.payload,
                              headers={"Stripe-Signature": event.signature_header})  # fmt: skip
            assert answer.status_code == 200, answer.text
    with club.session() as s:
        closed = s.get(DunningCase, case.id)
        assert closed is not None and closed.closed_reason == "paid"
    assert club.get(Subscription, sub.id or 0).status == "active"
    run(club)  # nothing more for the worker to do
    with club.session() as s:
        assert s.exec(select(DunningAction).where(DunningAction.status == "pending")).all() == []
    club.gateway.close()
