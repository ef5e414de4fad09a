"""Gateway webhooks, the test clock, invoice emails and the accounting export."""

from __future__ import annotations

import csv
import email
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from gatehouse.clock import ManualClock
from hub.billing.simulated_gateway import SimulatedGateway
from hub.clock.hooks import DueContext, due_hooks, register_due_hook, unregister_due_hook
from hub.core.config import Settings
from hub.models import Dispute, DunningCase, Invoice, Refund
from tests.hub.billing.test_api_billing import API, _member, _plan, _site


def _gateway(api: TestClient) -> SimulatedGateway:
    return api.app.state.billing.gateway  # type: ignore[attr-defined,no-any-return]


def _deliver(api: TestClient, after: int = 0) -> list[dict]:
    outcomes = []
    for event in _gateway(api).signed_events(after_seq=after):
        r = api.post(
            f"{API}/billing/webhooks/simulated",
            content=event.payload,
            headers={"Stripe-Signature": event.signature_header},
        )
        assert r.status_code == 200, r.text
        outcomes.append(r.json())
    return outcomes


def _subscribe(api: TestClient, card: str, email_: str = "a@example.com") -> tuple[dict, dict]:
    site = _site(api)
    plan = _plan(api, site)
    member = _member(api, email_, card=card)
    r = api.post(f"{API}/subscriptions", json={"member_id": member["id"], "plan_id": plan["id"]})
    assert r.status_code == 201, r.text
    return member, r.json()


def test_a_webhook_settles_a_charge_whose_answer_was_lost_once(api: TestClient) -> None:
    gateway = _gateway(api)
    gateway.fault = "lost_response"
    member, body = _subscribe(api, "4242424242424242")
    (invoice,) = body["invoices"]
    assert invoice["status"] == "open"
    gateway.fault = None
    outcomes = _deliver(api)
    assert [o["outcome"] for o in outcomes] == ["payment recorded"]
    detail = api.get(f"{API}/invoices/{invoice['id']}").json()
    assert detail["status"] == "paid" and detail["attempts"][0]["status"] == "succeeded"
    assert [o["outcome"] for o in _deliver(api)] == ["duplicate"]
    assert gateway.charge_count() == 1 and len(detail["payments"]) == 1
    event = gateway.signed_events()[0]
    forged = api.post(
        f"{API}/billing/webhooks/simulated",
        content=event.payload.replace(b"succeeded", b"failed"),
        headers={"Stripe-Signature": event.signature_header},
    )
    assert forged.status_code == 400
    wrong = api.post(f"{API}/billing/webhooks/stripe", content=event.payload)
    assert wrong.status_code == 404


def test_refunds_and_disputes_made_at_the_processor_reach_the_books(
    api: TestClient, engine: Engine
) -> None:
    gateway = _gateway(api)
    member, body = _subscribe(api, "4000000000000259")  # succeeds, then disputed
    (invoice,) = body["invoices"]
    assert invoice["status"] == "paid"
    seen = _deliver(api)
    assert [o["outcome"] for o in seen] == ["already recorded", "dispute needs_response"]
    charge_id = api.get(f"{API}/invoices/{invoice['id']}").json()["payments"][0][
        "gateway_charge_id"
    ]
    gateway.refund(charge_id=charge_id, amount=7000, idempotency_key="dashboard-1")
    after = gateway.signed_events()[-2].seq
    assert [o["outcome"] for o in _deliver(api, after)] == ["refund recorded"]
    assert [o["outcome"] for o in _deliver(api, after)] == ["duplicate"]
    with Session(engine) as s:
        (refund,) = s.exec(select(Refund)).all()
        note = s.get(Invoice, refund.credit_note_id)
        assert (refund.amount, note.total, note.status) == (7000, -7000, "paid")
        (dispute,) = s.exec(select(Dispute)).all()
        assert (dispute.invoice_id, dispute.status, dispute.reason) == (
            invoice["id"],
            "needs_response",
            "fraudulent",
        )


def test_the_clock_endpoint_advances_day_by_day_and_is_refused_otherwise(
    api: TestClient, engine: Engine, db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    member, body = _subscribe(api, "4242424242424242")
    bad = api.post(f"{API}/clock/advance", json={"by": "a while"})
    assert bad.status_code == 422 and "30d" in bad.text
    r = api.post(f"{API}/clock/advance", json={"by": "2mo"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["now"].startswith("2027-02-01T09:00") and result["steps"] == 62
    assert (result["invoices_issued"], result["paid"]) == (2, 2)
    invoices = api.get(f"{API}/invoices", params={"member_id": member["id"]}).json()
    assert [i["period_start"] for i in invoices] == ["2026-12-01", "2027-01-01", "2027-02-01"]
    outbox = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(outbox) == 3  # emailed on issue by the due hook (the first: at the first step)
    subjects = {email.message_from_bytes(p.read_bytes())["Subject"] for p in outbox}
    assert subjects == {f"Invoice CLUB1-00000{n} from Club" for n in (1, 2, 3)}
    with pytest.raises(ValueError, match="local mode only"):
        Settings(mode="production", secret_key="x" * 40, mqtt_password="p", clock="manual")
    api.app.state.settings = Settings(database_url=db_url, mqtt_enabled=False)  # type: ignore[attr-defined]
    refused = api.post(f"{API}/clock/advance", json={"by": "1d"})
    assert refused.status_code == 403 and "GATEHOUSE_CLOCK=manual" in refused.text


def test_other_parts_register_due_work_in_order(
    engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    names = [h.name for h in due_hooks()]
    assert names == [
        "usage", "billing", "invoice-emails", "dunning", "card-expiry", "entitlements"
    ]  # fmt: skip
    calls: list[str] = []
    register_due_hook("reports", lambda ctx: calls.append(ctx.clock.now().isoformat()), order=500)
    try:
        assert [h.name for h in due_hooks()] == [
            "usage",
            "billing",
            "invoice-emails",
            "dunning",
            "card-expiry",
            "reports",
            "entitlements",
        ]
        from hub.clock.hooks import run_due_work

        ctx = DueContext(engine=engine, settings=settings, clock=clock)
        only = [h for h in due_hooks() if h.name == "reports"]
        run_due_work(ctx, only)
        assert calls == [clock.now().isoformat()]
    finally:
        unregister_due_hook("reports")


def test_the_cli_advances_the_stored_clock_and_exports_books_that_reconcile(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatehouse.cli import app as cli
    from hub.core.config import get_settings

    env = {
        "GATEHOUSE_DATABASE_URL": db_url,
        "GATEHOUSE_CLOCK": "manual",
        "GATEHOUSE_MQTT_ENABLED": "false",
        "GATEHOUSE_SIMULATED_GATEWAY_PATH": str(tmp_path / "gw.sqlite3"),
        "GATEHOUSE_MAIL_OUTBOX": str(tmp_path / "outbox"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        _cli_year(cli, tmp_path)
    finally:
        get_settings.cache_clear()


def _cli_year(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hub.billing.run import open_session
    from hub.billing.services import BillingServices
    from hub.clock.manual import DatabaseClock, store_time
    from hub.core.config import get_settings
    from hub.core.db import make_engine
    from tests.hub.billing.world import World

    settings = get_settings()
    engine = make_engine(settings.database_url)
    store_time(engine, datetime(2026, 1, 1, 2, 0, tzinfo=UTC))  # 09:00 in Bangkok
    clock = DatabaseClock(engine)
    gateway = BillingServices.from_settings(settings, clock=clock).gateway
    world = World(engine, settings, clock, tmp_path, gateway=gateway)  # type: ignore[arg-type]
    site = world.site()
    plan = world.plan(site, setup_fee_minor=50000)
    usd = world.plan(
        site,
        name="Basic",
        price_minor=4999,
        currency="USD",
        tax_rate_bp=0,
        tax_inclusive=False,
        interval_unit="quarter",
    )
    good = [world.member() for _ in range(3)]
    bad = world.member(card_number="4000000000009995")
    for m in good[:2] + [bad]:
        world.subscribe(m, plan)
    world.subscribe(good[2], usd)
    runner = CliRunner()
    result = runner.invoke(cli, ["hub", "clock", "advance", "12mo"])
    assert result.exit_code == 0, result.output
    assert "365 steps" in result.output
    assert DatabaseClock(engine).now().date() == date(2027, 1, 1)
    with open_session(engine, settings) as s:
        paid = s.exec(select(Invoice).where(Invoice.status == "paid")).all()
        assert len(paid) == 2 * 13 + 5
        cases = s.exec(select(DunningCase)).all()
        unpaid = s.exec(select(Invoice).where(Invoice.member_id == bad.id)).all()
        assert sorted(c.invoice_id for c in cases) == sorted(i.id for i in unpaid)
        # dunning gave up on day 21: subscription cancelled, the one invoice written off
        assert len(unpaid) == 1 and {i.status for i in unpaid} == {"uncollectible"}
        assert [(c.status, c.closed_reason) for c in cases] == [("closed", "uncollectible")]
    # a refund at the desk of one card payment, so the ledger has refunds too
    with open_session(engine, settings) as s:
        from hub.billing.refunds import credit_note_for, pay_out_credit_note

        note = credit_note_for(s, invoice_id=paid[0].id, amount=10000, reason="x", clock=clock)
        s.commit()
        pay_out_credit_note(s, credit_note_id=note, gateway=world.gateway, clock=clock, actor="t")
        s.commit()
    out = tmp_path / "export"
    result = runner.invoke(
        cli,
        [
            "hub",
            "billing",
            "export",
            "--from",
            "2026-01-01",
            "--to",
            "2027-01-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "reconciled" in result.output
    with (out / "payments.csv").open() as f:
        rows = list(csv.DictReader(f))
    exported: dict[str, int] = {}
    for row in rows:
        minor = int(Decimal(row["amount"]) * 100)
        exported[row["currency"]] = exported.get(row["currency"], 0) + minor
    ledger = world.gateway.ledger  # type: ignore[attr-defined]
    charged = dict(
        ledger.read(
            "SELECT currency, SUM(amount) FROM charges WHERE status = 'succeeded' GROUP BY currency"
        )
    )
    refunded = dict(
        ledger.read(
            "SELECT c.currency, SUM(r.amount) FROM refunds r JOIN charges c ON c.id = r.charge_id"
            " GROUP BY c.currency"
        )
    )
    assert exported == {c: charged[c] - refunded.get(c, 0) for c in charged}
    assert exported["THB"] == 2 * (157000 + 12 * 107000) - 10000
    assert exported["USD"] == 5 * 4999
    with (out / "invoices.csv").open() as f:
        assert sum(1 for _ in csv.DictReader(f)) == 2 * 13 + 1 + 5 + 1  # one unpaid
    world.gateway.close()  # type: ignore[attr-defined]
    engine.dispose()
