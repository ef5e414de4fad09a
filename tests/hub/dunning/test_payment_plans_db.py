"""Part payments and payment plans on the hub's database, on the manual clock.

Part payments at the front desk shrink the balance the reminders ask for; a payment
plan's instalments are charged by the worker on their dates, once each however often it
runs; the policy pauses while the plan runs; and the case closes (and the member gets
their access back) when the balance reaches zero. A plan whose instalment fails every
try is broken, and the policy takes the case back.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from hub.billing.desk import AmountRefused, pay_at_desk
from hub.dunning.instalments import TRIES, active_plan, plan_state
from hub.dunning.tasks import create_payment_plan
from hub.dunning.worker import run_dunning
from hub.models import (
    ChargeAttempt,
    DunningAction,
    DunningCase,
    DunningMessage,
    Invoice,
    Payment,
    PaymentPlanRow,
    Subscription,
)
from tests.hub.dunning.club import PAYS, Club, body_text, parse_eml
from tests.hub.dunning.test_worker_db import make_club

DAY = timedelta(days=1)


def the_case(club: Club) -> DunningCase:
    with club.session() as s:
        return s.exec(select(DunningCase)).one()


def plan_charges(club: Club) -> list[ChargeAttempt]:
    with club.session() as s:
        return list(
            s.exec(
                select(ChargeAttempt)
                .where(col(ChargeAttempt.request_key).startswith("plan:"))
                .order_by(col(ChargeAttempt.id))
            )
        )


def work(club: Club) -> None:
    run_dunning(engine=club.engine, settings=club.settings, clock=club.clock,
                gateway=club.gateway, mailer=club.mailer)  # fmt: skip


def test_part_payments_and_instalments_pay_the_balance_and_close_the_case(
    db_url: str, tmp_path: Path
) -> None:
    club = make_club(db_url, tmp_path)
    member, sub = club.failing_member()
    club.advance(days=31)  # the renewal of 1,070.00 baht declines: day 0
    case = the_case(club)
    invoice = club.get(Invoice, case.invoice_id)
    assert invoice.total == 107_000

    with club.session() as s:  # 200 baht at the front desk; more than is due is refused
        with pytest.raises(AmountRefused):
            pay_at_desk(s, invoice_id=invoice.id or 0, method="cash", clock=club.clock,
                        actor="desk", amount=200_000)  # fmt: skip
        pay_at_desk(s, invoice_id=invoice.id or 0, method="cash", clock=club.clock,
                    actor="desk", amount=20_000)  # fmt: skip
        s.commit()
    assert club.get(Invoice, invoice.id or 0).status == "open"
    assert the_case(club).status == "open"

    club.advance(days=3)  # the day-3 reminder asks for what is left: 870.00
    with club.session() as s:
        reminder = s.exec(
            select(DunningMessage).where(DunningMessage.template == "reminder")
        ).first()
    assert reminder is not None
    text = body_text(parse_eml(club.mailer.path_for(reminder.key)))  # type: ignore[attr-defined]
    assert "870.00" in text and "1,070.00" not in text

    # Staff agree a plan: 870.00 in three weekly instalments from tomorrow; the member
    # saves a card that works.
    club.add_card(member, PAYS, default=True)
    today = club.clock.now().date()
    with club.session() as s:
        row = s.get(DunningCase, case.id)
        assert row is not None
        plan = create_payment_plan(s, row, count=3, first_due=today + DAY, every_days=7,
                                   actor="user:1", clock=club.clock)  # fmt: skip
        s.commit()
        assert [i["amount_minor"] for i in plan.instalments] == [29_000, 29_000, 29_000]
    actions_before = _actions(club)

    club.advance(days=1)  # instalment 1 is due
    work(club)  # the worker running again the same day charges nothing more
    work(club)
    assert [(a.amount, a.status) for a in plan_charges(club)] == [(29_000, "succeeded")]
    assert club.get(Invoice, invoice.id or 0).status == "open"
    with club.session() as s:
        state = plan_state(s, s.get(PaymentPlanRow, plan.id), s.get(Invoice, invoice.id))
    assert state.paid_minor == 29_000 and state.outstanding_minor == 58_000

    # A part payment at the desk covers most of instalment 2 before its date...
    with club.session() as s:
        pay_at_desk(s, invoice_id=invoice.id or 0, method="transfer", clock=club.clock,
                    actor="desk", amount=20_000)  # fmt: skip
        s.commit()
    club.advance(days=7)  # ...so on its date only the 90.00 left of it is charged
    assert [a.amount for a in plan_charges(club)] == [29_000, 9_000]
    # While the plan runs the policy is paused: no retries, no suspension (day 7 passed).
    assert _actions(club) == actions_before
    assert club.get(Subscription, sub.id or 0).status == "past_due"

    club.advance(days=7)  # the last instalment: the balance reaches zero
    assert [a.amount for a in plan_charges(club)] == [29_000, 9_000, 29_000]
    assert club.get(Invoice, invoice.id or 0).status == "paid"
    closed = the_case(club)
    assert closed.status == "closed" and closed.closed_reason == "paid"
    assert club.get(Subscription, sub.id or 0).status == "active"
    with club.session() as s:
        payments = s.exec(select(Payment).where(Payment.invoice_id == invoice.id)).all()
    paid = sum(p.amount for p in payments)
    assert paid == 107_000 and len(payments) == 5  # two at the desk, three instalments
    club.advance(days=14)
    assert len(plan_charges(club)) == 3
    club.gateway.close()


def _actions(club: Club) -> list[str]:
    with club.session() as s:
        return sorted(a.key for a in s.exec(select(DunningAction)))


def test_an_instalment_failing_every_try_breaks_the_plan_and_the_policy_resumes(
    db_url: str, tmp_path: Path
) -> None:
    club = make_club(db_url, tmp_path)
    _, sub = club.failing_member()  # the only card declines
    club.advance(days=31)
    case = the_case(club)
    with club.session() as s:
        row = s.get(DunningCase, case.id)
        assert row is not None
        plan = create_payment_plan(s, row, count=2, first_due=club.clock.now().date(),
                                   every_days=14, actor="user:1", clock=club.clock)  # fmt: skip
        s.commit()
    work(club)
    work(club)  # one try a day
    assert len(plan_charges(club)) == 1
    club.advance(days=TRIES + 1)
    tries = plan_charges(club)
    assert [a.request_key for a in tries] == [
        f"plan:{plan.id}:1:try:{n}" for n in range(1, TRIES + 1)
    ]
    assert all(a.status == "declined" for a in tries)
    with club.session() as s:
        row = s.get(DunningCase, case.id)
        assert row is not None and active_plan(s, row) is None  # broken
    club.advance(days=4)  # the policy takes over again: suspended
    assert club.get(Subscription, sub.id or 0).status == "suspended"
    club.gateway.close()
