"""Two dunning workers on PostgreSQL over the same cases: every message and every retry
happens exactly once.

Each worker has its own database engine, its own handle on the simulated processor's
ledger, its own SMTP connection and SMS client; both run at every step of the clock, at
the same time, over the same twelve cases. Counted at the far ends -- the SMTP server
process, the SMS endpoint and the processor's ledger -- nothing is sent or charged
twice, and every case got the same messages and retries a single worker gives it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from gatehouse.clock import ManualClock
from gatehouse.services import postgres
from gatehouse.services.smtp import SmtpServer
from hub.billing.simulated_gateway import SimulatedGateway
from hub.clock.hooks import due_hooks
from hub.clock.manual import store_time
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.dunning.mailer import SmtpMailer
from hub.dunning.sms import WebhookSmsSender
from hub.dunning.worker import DunningReport, run_dunning
from hub.migrations import upgrade
from hub.models import ChargeAttempt, DunningAction, DunningCase, DunningMessage
from tests.hub.dunning.club import Club, dunning_mail
from tests.hub.dunning.conftest import Webhook

MEMBERS = 12
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 16:00 in Bangkok


@pytest.fixture
def pg_db() -> Iterator[str]:
    url = postgres.create_database()
    try:
        upgrade(url)
        yield url
    finally:
        postgres.drop_database(url)


def test_two_workers_send_and_charge_each_action_once(
    pg_db: str, tmp_path: Path, smtp_server: SmtpServer, sms_webhook: Webhook
) -> None:
    clock = ManualClock(START)
    settings = Settings(
        database_url=pg_db, mqtt_enabled=False, clock="manual",
        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"),
        mail_from="Lumpini Gym <billing@lumpini.example>", sms_webhook_url=sms_webhook.url,
    )  # fmt: skip
    engine = make_engine(pg_db)
    mailer = SmtpMailer("127.0.0.1", smtp_server.port, sender=settings.mail_from, timeout=5)
    club = Club(engine, settings, clock, tmp_path, mailer, language="en", grace_days=10)
    billing_only = [h for h in due_hooks() if h.name in ("billing", "entitlements")]
    for n in range(MEMBERS):
        club.failing_member(phone=f"+6681234{n:04d}")
    club.advance(days=31, hooks=billing_only)  # every renewal declines on 1 January
    with club.session() as s:
        cases = s.exec(select(DunningCase)).all()
    assert len(cases) == MEMBERS

    reports: list[list[DunningReport]] = [[], []]
    errors: list[BaseException] = []

    def worker(n: int, barrier: threading.Barrier) -> None:
        own_engine = make_engine(pg_db)
        gateway = SimulatedGateway(tmp_path / "gateway.sqlite3", clock=clock)
        own_mailer = SmtpMailer("127.0.0.1", smtp_server.port, sender=settings.mail_from)
        try:
            barrier.wait()
            reports[n].append(
                run_dunning(engine=own_engine, settings=settings, clock=clock, gateway=gateway,
                            mailer=own_mailer, sms=WebhookSmsSender(sms_webhook.url))
            )  # fmt: skip
        except BaseException as err:  # reported below
            errors.append(err)
        finally:
            gateway.close()
            own_engine.dispose()

    for _ in range(4 * 9):  # nine days in six-hour steps, both workers at every step
        clock.set(clock.now() + timedelta(hours=6))
        store_time(engine, clock.now())
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=worker, args=(n, barrier)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, [repr(e) for e in errors]

    # Both workers did work; together they planned each action once.
    done = [sum(r.done for r in rs) for rs in reports]
    assert all(d > 0 for d in done), done
    with club.session() as s:
        actions = s.exec(select(DunningAction)).all()
        messages = s.exec(select(DunningMessage)).all()
        attempts = s.exec(
            select(ChargeAttempt).where(ChargeAttempt.request_key.like("dunning:%"))  # type: ignore[union-attr]
        ).all()
    assert sum(done) == len(actions)
    assert all(a.status == "done" for a in actions)

    # The SMTP server got each dunning email once.
    mails = dunning_mail(smtp_server.messages())
    keys = Counter(str(m["X-Gatehouse-Key"]) for m in mails)
    assert keys and max(keys.values()) == 1
    assert set(keys) == {m.key for m in messages if m.channel == "email"}
    # The SMS endpoint got each text once.
    sms_keys = Counter(str(b["key"]) for b in sms_webhook.json_bodies())
    assert sms_keys and max(sms_keys.values()) == 1
    assert set(sms_keys) == {m.key for m in messages if m.channel == "sms"}
    # The processor's ledger: one charge per retry, none twice.
    ledger = club.gateway.ledger.charges()
    charged = Counter(c["idempotency_key"] for c in ledger)
    assert max(charged.values()) == 1
    retry_keys = {a.idempotency_key for a in attempts}
    assert retry_keys <= set(charged)
    retries = [a for a in actions if a.kind == "retry_charge"]
    assert len(retry_keys) == len(retries) == len(attempts)

    # Every case: retries on days 1, 3, 5 and 7; emails on days 0, 3, 5, 6 and 7; one SMS.
    per_case = Counter((a.case_id, a.kind, a.channel) for a in actions)
    for case in cases:
        assert per_case[(case.id, "retry_charge", None)] == 4
        assert per_case[(case.id, "send_message", "email")] == 5
        assert per_case[(case.id, "send_message", "sms")] == 1
        assert per_case[(case.id, "suspend_access", None)] == 1
    assert len(mails) == 5 * MEMBERS and len(sms_keys) == MEMBERS
    # first month paid, the renewal declined, then four retries each
    assert len(ledger) == MEMBERS * (1 + 1 + 4)
    club.gateway.close()
    engine.dispose()
