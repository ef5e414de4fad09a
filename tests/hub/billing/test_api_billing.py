"""The billing API: plans, payment methods, subscriptions, invoices -- and bad input."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gatehouse.clock import ManualClock

API = "/api/v1"
TODAY = date(2026, 12, 1)  # the clock fixture's day in Bangkok


def _site(api: TestClient) -> dict:
    r = api.post(f"{API}/sites", json={"slug": "club1", "name": "Club", "timezone": "Asia/Bangkok"})
    assert r.status_code == 201, r.text
    return r.json()


def _plan(api: TestClient, site: dict, **terms: object) -> dict:
    body = {
        "site_id": site["id"],
        "name": "Gold",
        "price_minor": 107000,
        "currency": "THB",
        "tax_rate_bp": 700,
        "tax_inclusive": True,
        **terms,
    }
    r = api.post(f"{API}/plans", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _member(api: TestClient, email: str = "somchai@example.com", card: str | None = None) -> dict:
    r = api.post(
        f"{API}/members", json={"first_name": "Somchai", "last_name": "Jaidee", "email": email}
    )
    assert r.status_code == 201, r.text
    member = r.json()
    if card:
        r = api.post(f"{API}/payment-methods", json={"member_id": member["id"], "source": card})
        assert r.status_code == 201, r.text
    return member


def _fields(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return {".".join(str(p) for p in e["loc"][1:]): e["msg"] for e in response.json()["detail"]}


def test_bad_plans_are_refused_with_a_message_per_field(api: TestClient) -> None:
    site = _site(api)
    body = {
        "site_id": site["id"],
        "name": "Gold",
        "price_minor": -100,
        "currency": "BAHT",
        "interval_unit": "month",
        "interval_count": 0,
        "tax_rate_bp": 700,
    }
    fields = _fields(api.post(f"{API}/plans", json=body))
    assert set(fields) == {"price_minor", "currency", "interval_count"}
    assert "negative" in fields["price_minor"]
    assert "ISO 4217" in fields["currency"]
    assert "at least 1" in fields["interval_count"]
    good = {**body, "price_minor": 100, "currency": "THB", "interval_count": 1}
    fields = _fields(api.post(f"{API}/plans", json={**good, "schedule_id": 7}))
    assert "no schedule 7" in fields["schedule_id"]
    assert (
        "no site 999" in _fields(api.post(f"{API}/plans", json={**good, "site_id": 999}))["site_id"]
    )
    plan = _plan(api, site)
    assert api.get(f"{API}/plans", params={"site_id": site["id"]}).json()[0]["id"] == plan["id"]
    r = api.patch(f"{API}/plans/{plan['id']}", json={"active": False})
    assert r.json()["active"] is False


def test_a_card_number_is_exchanged_for_a_token_and_never_stored(
    api: TestClient, engine: Engine, tmp_path: Path
) -> None:
    member = _member(api)
    r = api.post(
        f"{API}/payment-methods", json={"member_id": member["id"], "source": "5555 5555 5555 4444"}
    )
    assert r.status_code == 201, r.text
    method = r.json()
    assert (method["brand"], method["last4"], method["is_default"]) == ("mastercard", "4444", True)
    assert "token" not in method
    refused = api.post(
        f"{API}/payment-methods", json={"member_id": member["id"], "source": "4111111111111111"}
    )
    assert "test card" in _fields(refused)["source"]
    db_file = Path(engine.url.database or "")
    with sqlite3.connect(db_file) as db:
        dump = "\n".join(db.iterdump())
    assert "5555555555554444" not in dump and "5555 5555 5555 4444" not in dump
    assert "4111111111111111" not in dump
    second = api.post(
        f"{API}/payment-methods",
        json={"member_id": member["id"], "source": "4242424242424242", "make_default": True},
    ).json()
    listed = api.get(f"{API}/payment-methods", params={"member_id": member["id"]}).json()
    assert [m["is_default"] for m in listed] == [False, True]
    assert api.delete(f"{API}/payment-methods/{second['id']}").status_code == 204
    listed = api.get(f"{API}/payment-methods", params={"member_id": member["id"]}).json()
    assert [(m["last4"], m["is_default"]) for m in listed] == [("4444", True)]


def test_signing_up_charges_the_first_invoice_and_refuses_a_start_in_the_past(
    api: TestClient,
) -> None:
    site = _site(api)
    plan = _plan(api, site, setup_fee_minor=50000, grace_days=2)
    member = _member(api, card="4242424242424242")
    past = api.post(
        f"{API}/subscriptions",
        json={
            "member_id": member["id"],
            "plan_id": plan["id"],
            "start_on": (TODAY - timedelta(days=1)).isoformat(),
        },
    )
    assert "in the past" in _fields(past)["start_on"]
    r = api.post(f"{API}/subscriptions", json={"member_id": member["id"], "plan_id": plan["id"]})
    assert r.status_code == 201, r.text
    body = r.json()
    (invoice,) = body["invoices"]
    assert (invoice["status"], invoice["total"], invoice["label"]) == (
        "paid",
        157000,
        "CLUB1-000001",
    )
    sub = body["subscription"]
    assert sub["paid_through"] == "2026-12-31" and sub["next_bill_on"] == "2027-01-01"
    detail = api.get(f"{API}/invoices/{invoice['id']}").json()
    assert [(line["total"], line["tax"]) for line in detail["lines"]] == [
        (107000, 7000),
        (50000, 3271),
    ]
    (attempt,) = detail["attempts"]
    assert attempt["idempotency_key"] == f"invoice:{invoice['id']}:attempt:1"
    assert detail["payments"][0]["method_label"] == "visa 4242"
    ents = api.get(f"{API}/entitlements", params={"member_id": member["id"]}).json()
    assert ents[0]["source"] == f"subscription:{sub['id']}"
    assert ents[0]["valid_until"].startswith("2027-01-02T17:00:00")  # Jan 3 00:00 Bangkok


def test_plan_changes_prorate_and_refuse_the_past(api: TestClient, clock: ManualClock) -> None:
    site = _site(api)
    gold = _plan(api, site)
    platinum = _plan(api, site, name="Platinum", price_minor=214000, zones=3)
    basic = _plan(api, site, name="Basic", price_minor=53500)
    member = _member(api, card="4242424242424242")
    sub = api.post(
        f"{API}/subscriptions", json={"member_id": member["id"], "plan_id": gold["id"]}
    ).json()
    sid = sub["subscription"]["id"]
    clock.advance(days=10)  # Dec 11: 21 of 31 days left
    into_past = api.post(
        f"{API}/subscriptions/{sid}/change-plan",
        json={"plan_id": platinum["id"], "effective_on": "2026-12-05"},
    )
    assert "in the past" in _fields(into_past)["effective_on"]
    r = api.post(f"{API}/subscriptions/{sid}/change-plan", json={"plan_id": platinum["id"]})
    assert r.status_code == 200, r.text
    (change,) = r.json()["invoices"]
    # credit -107000 x 21/31 = -72484 (half up), charge 214000 x 21/31 = 144968
    assert (change["total"], change["status"], change["reason"]) == (72484, "paid", "plan_change")
    ents = api.get(f"{API}/entitlements", params={"member_id": member["id"]}).json()
    assert ents[0]["zones"] == 3
    r = api.post(f"{API}/subscriptions/{sid}/change-plan", json={"plan_id": basic["id"]})
    (credit,) = r.json()["invoices"]
    # credit -214000 x 21/31 = -144968, charge 53500 x 21/31 = 36242
    assert (credit["kind"], credit["total"], credit["status"]) == ("credit_note", -108726, "paid")
    detail = api.get(f"{API}/invoices/{credit['id']}").json()
    assert sum(r["amount"] for r in detail["refunds"]) == 108726
    gateway = api.app.state.billing.gateway  # type: ignore[attr-defined]
    refunded = gateway.ledger.read("SELECT COALESCE(SUM(amount), 0) FROM refunds")[0][0]
    assert refunded == 108726


def test_freeze_and_cancel_refuse_bad_dates(api: TestClient, clock: ManualClock) -> None:
    site = _site(api)
    plan = _plan(api, site)
    member = _member(api, card="4242424242424242")
    sid = api.post(
        f"{API}/subscriptions", json={"member_id": member["id"], "plan_id": plan["id"]}
    ).json()["subscription"]["id"]
    fields = _fields(
        api.post(
            f"{API}/subscriptions/{sid}/freeze",
            json={"from_on": "2026-12-20", "resume_on": "2026-12-10"},
        )
    )
    assert "resume_on must be after from_on" in " ".join(fields.values())
    fields = _fields(
        api.post(
            f"{API}/subscriptions/{sid}/freeze",
            json={"from_on": "2026-11-20", "resume_on": "2026-12-10"},
        )
    )
    assert "past" in fields["from_on"]
    r = api.post(
        f"{API}/subscriptions/{sid}/freeze",
        json={"from_on": "2026-12-15", "resume_on": "2027-01-15"},
    )
    assert r.status_code == 200, r.text
    again = api.post(
        f"{API}/subscriptions/{sid}/freeze",
        json={"from_on": "2026-12-20", "resume_on": "2027-01-20"},
    )
    assert "one freeze at a time" in _fields(again)["from_on"]
    r = api.post(f"{API}/subscriptions/{sid}/cancel", json={"at_period_end": True})
    assert r.json()["cancel_at_period_end"] is True and r.json()["status"] == "active"
    r = api.post(f"{API}/subscriptions/{sid}/cancel", json={"at_period_end": False})
    assert r.json()["status"] == "cancelled"
    ents = api.get(f"{API}/entitlements", params={"member_id": member["id"]}).json()
    assert ents[0]["valid_until"].startswith("2026-12-01T09:00:00")


def test_selling_at_the_desk_and_refunding(api: TestClient) -> None:
    site = _site(api)
    member = _member(api, card="4000000000009995")  # declines: insufficient funds
    bad = api.post(
        f"{API}/invoices",
        json={
            "member_id": member["id"],
            "site_id": site["id"],
            "currency": "THB",
            "items": [{"name": "PT", "unit_price": -5}],
        },
    )
    assert "greater than or equal to 0" in _fields(bad)["items.0.unit_price"]
    bad = api.post(
        f"{API}/invoices",
        json={
            "member_id": member["id"],
            "site_id": site["id"],
            "currency": "XXY",
            "items": [{"name": "PT", "unit_price": 5}],
        },
    )
    assert "ISO 4217" in _fields(bad)["currency"]
    body = {
        "member_id": member["id"],
        "site_id": site["id"],
        "currency": "THB",
        "items": [
            {
                "name": "PT session",
                "unit_price": 150050,
                "quantity": 2,
                "kind": "pt_session",
                "tax_rate_bp": 700,
            },
            {
                "name": "Class pack x10",
                "unit_price": 250000,
                "kind": "class_pack",
                "tax_rate_bp": 700,
                "tax_inclusive": True,
            },
        ],
    }
    r = api.post(f"{API}/invoices", json=body)
    assert r.status_code == 201, r.text
    invoice = r.json()
    # 300100 + 7% = 21007 -> 321107; 250000 incl. 7% -> VAT 16355
    assert [(x["net"], x["tax"], x["total"]) for x in invoice["lines"]] == [
        (300100, 21007, 321107),
        (233645, 16355, 250000),
    ]
    assert invoice["status"] == "open" and invoice["attempts"][0]["status"] == "declined"
    iid = invoice["id"]
    wrong = api.post(f"{API}/invoices/{iid}/pay", json={"method": "cash", "amount": 1_000_000})
    assert "THB 5,711.07" in _fields(wrong)["amount"]  # more than is due
    part = api.post(f"{API}/invoices/{iid}/pay", json={"method": "cash", "amount": 100})
    assert part.status_code == 200 and part.json()["status"] == "open"  # a part payment
    paid = api.post(f"{API}/invoices/{iid}/pay", json={"method": "cash", "reference": "R-1"})
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["payments"][0]["method"] == "cash"
    assert api.post(f"{API}/invoices/{iid}/void").status_code == 409
    refund = api.post(f"{API}/invoices/{iid}/refund", json={"amount": 10700, "reason": "no-show"})
    assert refund.status_code == 200, refund.text
    note = refund.json()
    assert (note["kind"], note["total"], note["tax"], note["status"]) == (
        "credit_note",
        -10700,
        -700,
        "paid",
    )
    assert note["refunds"][0]["method_label"] == "cash" and note["credit_for_id"] == iid
    too_much = api.post(f"{API}/invoices/{iid}/refund", json={"amount": 571107})
    assert "at most THB 5,604.07 can be refunded" in _fields(too_much)["amount"]


def test_an_unpaid_invoice_can_be_voided_and_printed(api: TestClient) -> None:
    site = _site(api)
    api.put(
        f"{API}/sites/{site['id']}/billing-profile",
        json={
            "legal_name": "Lumpini <Gym> Co., Ltd.",
            "tax_id": "0105551234567",
            "logo_url": "https://lumpini.example/logo.png",
            "invoice_prefix": "LPN",
            "language": "th",
        },
    )
    member = _member(api)
    r = api.post(
        f"{API}/invoices",
        json={
            "member_id": member["id"],
            "site_id": site["id"],
            "currency": "THB",
            "collect": False,
            "items": [{"name": "Towel <b>XL</b>", "unit_price": 15050, "tax_rate_bp": 700}],
        },
    )
    invoice = r.json()
    assert invoice["label"] == "LPN-000001" and invoice["total"] == 16104
    html = api.get(f"{API}/invoices/{invoice['id']}/html").text
    assert "ใบแจ้งหนี้" in html and "LPN-000001" in html and "2569" in html
    assert "Lumpini &lt;Gym&gt; Co., Ltd." in html and "Towel &lt;b&gt;XL&lt;/b&gt;" in html
    assert 'src="https://lumpini.example/logo.png"' in html and "0105551234567" in html
    assert "161.04" in html and "10.54" in html
    english = api.get(f"{API}/invoices/{invoice['id']}/html", params={"language": "en"}).text
    assert "Invoice" in english and "1 December 2026" in english
    assert (
        api.get(f"{API}/invoices/{invoice['id']}/html", params={"language": "fr"}).status_code
        == 422
    )
    voided = api.post(f"{API}/invoices/{invoice['id']}/void")
    assert voided.json()["status"] == "void"
    assert (
        api.post(f"{API}/invoices/{invoice['id']}/pay", json={"method": "cash"}).status_code == 409
    )
