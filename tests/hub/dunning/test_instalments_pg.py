"""Two workers charging payment-plan instalments on PostgreSQL at the same moments:
each instalment is charged exactly once (counted in the processor's ledger)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from gatehouse.clock import ManualClock
from hub.billing.simulated_gateway import SimulatedGateway
from hub.clock.hooks import due_hooks
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.dunning.instalments import charge_due_instalments
from hub.dunning.mailer import FolderMailer
from hub.dunning.tasks import create_payment_plan
from hub.models import ChargeAttempt, DunningCase, Invoice
from tests.hub.dunning.club import PAYS, Club
from tests.hub.dunning.test_two_workers_pg import pg_db  # noqa: F401 (fixture)

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MEMBERS = 6


def test_two_workers_charge_each_instalment_once(pg_db: str, tmp_path: Path) -> None:  # noqa: F811
    clock = ManualClock(START)
    settings = Settings(database_url=pg_db, mqtt_enabled=False, clock="manual",
                        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"))  # fmt: skip
    mailer = FolderMailer(tmp_path / "outbox", sender="Club <billing@club.example>")
    club = Club(make_engine(pg_db), settings, clock, tmp_path, mailer, language="en")
    billing_only = [h for h in due_hooks() if h.name in ("billing", "entitlements")]
    members = [club.failing_member()[0] for _ in range(MEMBERS)]
    club.advance(days=31, hooks=billing_only)
    for member in members:
        club.add_card(member, PAYS, default=True)
    with club.session() as s:
        cases = s.exec(select(DunningCase)).all()
        assert len(cases) == MEMBERS
        for case in cases:
            create_payment_plan(s, case, count=2, first_due=clock.now().date(), every_days=7,
                                actor="user:1", clock=clock)  # fmt: skip
        s.commit()

    errors: list[BaseException] = []

    def worker(barrier: threading.Barrier) -> None:
        engine = make_engine(pg_db)
        gateway = SimulatedGateway(tmp_path / "gateway.sqlite3", clock=clock)
        try:
            barrier.wait()
            charge_due_instalments(engine=engine, settings=settings, clock=clock,
                                   gateway=gateway)  # fmt: skip
        except BaseException as err:  # noqa: BLE001 (reported below)
            errors.append(err)
        finally:
            gateway.close()
            engine.dispose()

    for _day in range(9):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=worker, args=(barrier,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        clock.advance(timedelta(days=1))
    assert errors == []
    with club.session() as s:
        for case in cases:
            attempts = s.exec(
                select(ChargeAttempt).where(
                    ChargeAttempt.invoice_id == case.invoice_id,
                    ChargeAttempt.request_key.startswith("plan:"),  # type: ignore[union-attr]
                )
            ).all()
            assert sorted(a.status for a in attempts) == ["succeeded", "succeeded"]
            assert club.gateway.charge_count(invoice_id=str(case.invoice_id),
                                             succeeded_only=True) == 2  # fmt: skip
            invoice = s.get(Invoice, case.invoice_id)
            assert invoice is not None and invoice.status == "paid"
    club.gateway.close()
