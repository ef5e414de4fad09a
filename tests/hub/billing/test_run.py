"""The billing run over the database: invoices, charges, access and dunning cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hub.billing.access import subscription_source
from hub.billing.sitetime import local_midnight
from hub.models import (
    ChargeAttempt,
    DunningCase,
    Entitlement,
    Invoice,
    Payment,
    Site,
    Subscription,
)
from tests.hub.billing.world import World


def test_a_due_subscription_is_invoiced_charged_and_opens_the_door(world: World) -> None:
    site = world.site()
    plan = world.plan(site, grace_days=3, setup_fee_minor=50000)
    member = world.member()
    sub = world.subscribe(member, plan)
    today = world.today(site)

    report = world.run()
    assert (report.invoices_issued, report.paid, report.failed) == (1, 1, 0)
    (invoice,) = world.all(Invoice)
    assert (invoice.number, invoice.status, invoice.total, invoice.tax) == (
        1,
        "paid",
        157000,
        7000 + 3271,
    )
    assert invoice.period_start == today
    (payment,) = world.all(Payment)
    assert payment.amount == 157000 and payment.method_label == "visa 4242"
    assert world.gateway.charge_count(invoice_id=str(invoice.id), succeeded_only=True) == 1
    sub = world.get(Subscription, sub.id)
    period_end = date(today.year + (today.month == 12), today.month % 12 + 1, today.day)
    assert sub.paid_through == period_end - timedelta(days=1)
    assert sub.status == "active" and sub.next_bill_on == period_end
    (ent,) = world.all(Entitlement, Entitlement.source == subscription_source(sub.id))
    assert ent.valid_until == local_midnight(period_end + timedelta(days=3), site.timezone)
    assert world.get(Site, site.id).list_version == 1

    again = world.run()
    assert (again.invoices_issued, again.charges_sent) == (0, 0)
    assert len(world.all(Invoice)) == 1 and world.gateway.charge_count() == 1


def test_a_month_later_the_next_period_is_billed_and_access_extended(world: World) -> None:
    site = world.site()
    plan = world.plan(site)
    sub = world.subscribe(world.member(), plan)
    world.run()
    first = world.get(Subscription, sub.id).paid_through
    world.clock.advance(days=31)
    report = world.run()
    assert (report.invoices_issued, report.paid) == (1, 1)
    numbers = sorted(i.number for i in world.all(Invoice))
    assert numbers == [1, 2]
    assert world.get(Subscription, sub.id).paid_through > first


def test_a_declined_card_makes_it_past_due_and_opens_one_dunning_case(world: World) -> None:
    site = world.site()
    plan = world.plan(site)
    member = world.member(card_number="4000000000009995")
    sub = world.subscribe(member, plan)
    report = world.run()
    assert (report.paid, report.failed, report.cases_opened) == (0, 1, 1)
    (invoice,) = world.all(Invoice)
    assert invoice.status == "open"
    assert world.get(Subscription, sub.id).status == "past_due"
    (case,) = world.all(DunningCase)
    assert (case.member_id, case.invoice_id, case.amount_minor, case.currency) == (
        member.id,
        invoice.id,
        107000,
        "THB",
    )
    assert case.last_decline == "insufficient_funds" and case.status == "open"
    (attempt,) = world.all(ChargeAttempt)
    assert case.declined_method_id == attempt.payment_method_id
    assert attempt.idempotency_key == f"invoice:{invoice.id}:attempt:1"
    assert attempt.status == "declined" and attempt.decline_reason == "insufficient_funds"
    world.run()
    assert len(world.all(DunningCase)) == 1 and world.gateway.charge_count() == 1
    assert world.all(Entitlement) == []


def test_a_lost_gateway_reply_is_resent_with_the_same_key_and_charged_once(world: World) -> None:
    site = world.site()
    sub = world.subscribe(world.member(), world.plan(site))
    world.gateway.fault = "lost_response"
    report = world.run()
    assert (report.paid, report.unknown) == (0, 1)
    (attempt,) = world.all(ChargeAttempt)
    assert attempt.status == "pending" and attempt.tries == 1
    world.gateway.fault = None
    report = world.run()
    assert report.paid == 1
    (attempt,) = world.all(ChargeAttempt)
    assert attempt.status == "succeeded" and attempt.tries == 2
    assert world.gateway.charge_count() == 1
    assert world.get(Subscription, sub.id).paid_through is not None


def test_nothing_to_charge_opens_a_case_without_a_decline(world: World) -> None:
    site = world.site()
    world.subscribe(world.member(card_number=None), world.plan(site))
    report = world.run()
    assert (report.charges_sent, report.cases_opened) == (0, 1)
    (case,) = world.all(DunningCase)
    assert case.last_decline is None and case.declined_method_id is None


def test_a_trial_opens_the_door_at_once_and_bills_when_it_ends(world: World) -> None:
    site = world.site()
    plan = world.plan(site, trial_days=7)
    sub = world.subscribe(world.member(), plan)
    assert world.get(Subscription, sub.id).status == "trialing"
    (ent,) = world.all(Entitlement)
    today = world.today(site)
    assert ent.valid_until == local_midnight(today + timedelta(days=7), site.timezone)
    assert world.run().invoices_issued == 0
    world.clock.set(local_midnight(today + timedelta(days=7), site.timezone) + timedelta(hours=1))
    report = world.run()
    assert (report.invoices_issued, report.paid) == (1, 1)
    assert world.get(Subscription, sub.id).status == "active"
    assert datetime(2026, 1, 1, tzinfo=UTC) < world.all(Entitlement)[0].valid_until
