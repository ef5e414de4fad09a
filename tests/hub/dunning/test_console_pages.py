"""The dunning pages of the console: queue, case history, collections tasks, policies,
in Thai and English, for owners and managers only."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from hub.billing.desk import pay_at_desk
from hub.billing.run import run_billing
from hub.dunning.console import HERE
from hub.dunning.mailer import FolderMailer
from hub.dunning.worker import run_dunning
from hub.models import CollectionTask, DunningCase, PaymentPlanRow, Role
from tests.hub.console.conftest import Console
from tests.hub.dunning.club import Club

KEYS = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""")


def test_catalogs_match_and_hold_every_word_the_pages_use() -> None:
    en, th = (json.loads((HERE / "locales" / f"{lang}.json").read_text("utf-8"))
              for lang in ("en", "th"))  # fmt: skip
    assert set(en) == set(th)
    used = {k for f in (HERE / "templates").rglob("*.html") for k in KEYS.findall(f.read_text())}
    core = json.loads((HERE.parents[1] / "console" / "locales" / "en.json").read_text("utf-8"))
    assert sorted(k for k in used if k not in en and k not in core) == []


def _case_after_three_weeks(console: Console, tmp_path: Path) -> DunningCase:
    """A member whose renewal declined, played by the worker to day 15 (collections)."""
    settings = console.settings.model_copy(
        update={"simulated_gateway_path": str(tmp_path / "gw.sqlite3"),
                "sms_outbox": str(tmp_path / "sms")}
    )  # fmt: skip
    mailer = FolderMailer(tmp_path / "outbox", sender="Club <billing@club.example>")
    club = Club(console.engine, settings, console.clock, tmp_path, mailer, language="en")
    club.failing_member()
    for _ in range(31 + 15):
        console.clock.advance(timedelta(days=1))
        run_billing(engine=console.engine, settings=settings, clock=console.clock,
                    gateway=club.gateway)  # fmt: skip
        run_dunning(engine=console.engine, settings=settings, clock=console.clock,
                    gateway=club.gateway, mailer=mailer)  # fmt: skip
    club.gateway.close()
    with console.session() as s:
        return s.exec(select(DunningCase)).one()


def test_queue_case_tasks_and_policies(console: Console, tmp_path: Path) -> None:
    case = _case_after_three_weeks(console, tmp_path)
    manager = console.client(Role.MANAGER)
    queue = manager.get("/console/dunning")
    assert queue.status_code == 200
    assert f"/console/dunning/cases/{case.id}" in queue.text and "THB 1,070.00" in queue.text
    detail = manager.get(f"/console/dunning/cases/{case.id}").text
    assert "suspend_access" in detail and "escalate" in detail and "payment_failed" in detail
    assert manager.get("/console/dunning/cases/999999").status_code == 404
    figures = queue.text[queue.text.index('id="dunning-figures"') :]
    assert "payment_failed" in figures and "n/a (0/0)" in figures  # nothing ended yet

    csrf = console.csrf(manager)
    first = (console.clock.now() + timedelta(days=3)).date().isoformat()
    planned = manager.post(f"/console/dunning/cases/{case.id}/plan",
                           data={"csrf_token": csrf, "count": "3", "first_due": first})  # fmt: skip
    assert planned.headers["location"].endswith("msg=plan_saved")
    with console.session() as s:
        (plan,) = s.exec(select(PaymentPlanRow)).all()
    assert [i["amount_minor"] for i in plan.instalments] == [35667, 35667, 35666]
    with console.session() as s:  # a part payment at the desk fills the first instalment
        pay_at_desk(s, invoice_id=case.invoice_id, method="cash", clock=console.clock,
                    actor="desk", amount=10_000)  # fmt: skip
        s.commit()
    shown = manager.get(f"/console/dunning/cases/{case.id}").text
    assert "THB 356.67 (paid THB 100.00)" in shown
    past = {"csrf_token": csrf, "count": "3", "first_due": "2000-01-01"}
    refused = manager.post(f"/console/dunning/cases/{case.id}/plan", data=past)
    assert refused.headers["location"].endswith("msg=plan_refused")

    with console.session() as s:
        task = s.exec(select(CollectionTask)).one()
    page = manager.get("/console/dunning/tasks").text
    assert f'id="task-{task.id}"' in page and "offer a payment plan" in page
    url = f"/console/dunning/tasks/{task.id}"
    today = console.clock.now().date()
    for data in (
        {"action": "assign", "assignee": "Nok"},
        {"action": "note", "note": "Lost her job; will pay on the 20th"},
        {"action": "promise", "promised_to_pay_on": (today + timedelta(days=5)).isoformat()},
    ):
        answer = manager.post(url, data={"csrf_token": csrf, **data})
        assert answer.headers["location"].endswith("msg=task_saved"), data
    past = manager.post(url, data={"csrf_token": csrf, "action": "promise",
                                   "promised_to_pay_on": "2000-01-01"})  # fmt: skip
    assert past.headers["location"].endswith("msg=task_refused")
    closed = manager.post(url, data={"csrf_token": csrf, "action": "close",
                                     "outcome": "payment_plan"})  # fmt: skip
    assert closed.headers["location"].endswith("msg=task_saved")
    with console.session() as s:
        row = s.get(CollectionTask, task.id)
        assert row is not None and row.assignee == "Nok" and row.outcome == "payment_plan"
        assert [n["text"] for n in row.notes][:2] == [
            "assigned to Nok",
            "Lost her job; will pay on the 20th",
        ]
        assert row.promised_to_pay_on == today + timedelta(days=5)
    again = manager.post(url, data={"csrf_token": csrf, "action": "note", "note": "late"})
    assert again.headers["location"].endswith("msg=task_refused")  # closed: no more edits

    policies = manager.get("/console/dunning/policies").text
    assert 'id="policy-default"' in policies and "suspension_notice" in policies
    text = (HERE.parent / "policies" / "default.yaml").read_text("utf-8")
    rude = text.replace("tone: polite", "tone: rude", 1)
    bad = manager.post("/console/dunning/policies", data={"csrf_token": csrf, "text": rude})
    assert bad.status_code == 422 and "on_authentication_required.tone: Input should be" in bad.text
    fewer = text.replace("max_messages: 4", "max_messages: 3")
    good = manager.post("/console/dunning/policies", data={"csrf_token": csrf, "text": fewer})
    assert good.status_code == 303
    assert "default v2" in manager.get("/console/dunning/policies").text

    thai = console.client(Role.OWNER)
    thai.post(
        "/console/account/language",
        data={"csrf_token": console.csrf(thai), "language": "th", "next": "/console/dunning"},
    )
    assert "คิวติดตามการชำระ" in thai.get("/console/dunning").text
    assert console.client(Role.FRONT_DESK).get("/console/dunning").status_code == 403
