"""Two hub replicas on one PostgreSQL and one Mosquitto, killed and restarted at random
through a simulated month of billing and ingest.

Both replicas run ``gatehouse hub serve`` with an MQTT v5 shared subscription
(``$share/hub/...``: each gate message goes to one of them) and the due work every few
hundred milliseconds (billing run, invoice emails over SMTP, entitlement refresh:
claimed with ``FOR UPDATE SKIP LOCKED``, so they split it).  The hub's manual clock is
moved a day at a time through a month while gates tap, and every few seconds one replica
is killed with SIGKILL and started again.  Afterwards: no invoice charged twice (the
gateway's own ledger), none issued twice for a period, every due invoice issued, every
invoice emailed, no check-in lost or stored twice.  Invoice emails are at-least-once:
a replica killed between the SMTP server's acceptance and its commit resends that one
email, under the same ``Message-ID``; the SMTP server's count of them is reported and
bounded by one per kill.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from gatehouse.clock import ManualClock
from gatehouse.services.smtp import SmtpServer
from hub.billing.renewals import bill_due, start_subscription
from hub.billing.sitetime import site_today
from hub.core.config import Settings
from hub.models import Invoice, Plan, Site, Subscription
from tests.faults.money import double_charges, invoices_per_period, paying_club, unsettled
from tests.faults.table import FaultRow, add_row
from tests.faults.tapping import Tapper
from tests.faults.world import Audit, FaultWorld
from tests.hub.billing.world import World

SHORT = pytest.param(31, 40, 2, id="month")
LONG = pytest.param(62, 200, 4, id="two-months", marks=pytest.mark.faults)


@pytest.fixture
def chain(fault_dir: Path) -> Iterator[tuple[FaultWorld, SmtpServer]]:
    """Two replicas sharing the ingest and the due work, mailing through SMTP."""
    tmp_path = fault_dir / f"chain-{len(list(fault_dir.iterdir()))}"
    with SmtpServer(tmp_path / "smtp") as smtp:
        env = {
            "GATEHOUSE_MQTT_SHARE_GROUP": "hub",
            "GATEHOUSE_DUE_EVERY_S": "0.3",
            "GATEHOUSE_SMTP_HOST": "127.0.0.1",
            "GATEHOUSE_SMTP_PORT": str(smtp.port),
            "GATEHOUSE_SMTP_STARTTLS": "false",
        }
        world = FaultWorld(tmp_path, hub_env=env)
        try:
            world.start(replicas=2)
            yield world, smtp
        finally:
            world.close()


class ReplicaKiller:
    """Kills a random replica with SIGKILL every few seconds and starts it again."""

    def __init__(self, world: FaultWorld, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.kills = 0
        self.restarts: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ReplicaKiller:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(1.0, 4.0)):
            hub = self.rng.choice(self.world.hubs)
            hub.kill()
            self.kills += 1
            self._stop.wait(self.rng.uniform(0.2, 2.0))
            hub.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(90)


def _expected_invoices(club: World, site_id: int) -> tuple[int, int]:
    """(invoices the rules say are due by today, invoices stored) for the club's active
    subscriptions."""
    with club.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        plans = {p.id: p.terms() for p in s.exec(select(Plan).where(Plan.site_id == site_id))}
        # members whose cards decline may be suspended by dunning: only the paying ones
        # are sure to be billed every period
        active = (Subscription.site_id == site_id, Subscription.status == "active")
        subs = s.exec(select(Subscription).where(*active)).all()
        ids = [sub.id for sub in subs]
        stored = len(s.exec(select(Invoice.id).where(col(Invoice.subscription_id).in_(ids))).all())
    today = site_today(club.clock.now(), site.timezone)
    due = 0
    for sub in subs:
        expected, _ = bill_due(start_subscription(plans[sub.plan_id], start_on=sub.started_on),
                               today=today)  # fmt: skip
        due += len(expected)
    return due, stored


@pytest.mark.parametrize(("days", "members", "gates"), [SHORT, LONG])
def test_two_replicas_killed_at_random_through_a_month(
    chain: tuple[FaultWorld, SmtpServer], days: int, members: int, gates: int
) -> None:
    world, smtp = chain
    club = World(world.engine, Settings(database_url=world.url, mqtt_enabled=False),  # type: ignore[arg-type]
                 ManualClock(world.clock.now()), world.workdir)  # type: ignore[union-attr]  # fmt: skip
    site = paying_club(club, slug="chain", members=members, declining_every=6)
    fleet = [world.gate(f"replica-gate-{i}") for i in range(gates)]
    for gate in fleet:
        gate.process.start()
    cards = world.cards(60 * gates * days // 10 + 40, valid_days=days + 30)
    assert all(world.wait_list(g) for g in fleet)
    tappers = [Tapper(world, g, cards[i::gates], interval_s=0.1).start()
               for i, g in enumerate(fleet)]  # fmt: skip
    killer = ReplicaKiller(world, seed=days).start()
    try:
        for _ in range(days):
            time.sleep(0.5)
            world.advance(days=1)
            club.clock.set(world.clock.now())  # type: ignore[union-attr]
    finally:
        killer.stop()
        for t in tappers:
            t.stop()
    world.ensure_running()
    calm = time.monotonic()
    today = site_today(world.clock.now(), "Asia/Bangkok")  # type: ignore[union-attr]
    settled = _wait(lambda: unsettled(club, site.id or 0, today) == 0, 120)
    for gate in fleet:
        assert gate.process.wait_decided(list(gate.process.taps.values()), timeout=30)
    stored = [world.wait_stored(g, g.printed(), timeout=60) for g in fleet]
    assert None not in stored, "; ".join(world.missing(g) for g in fleet)
    recovery = None if settled is None or None in stored else time.monotonic() - calm
    due, issued = _expected_invoices(club, site.id or 0)
    mails = _wait(lambda: len(smtp.messages()) >= issued, 60)  # invoices, dunning too
    received = Counter(m["Message-ID"] for m in smtp.messages())
    duplicate_mails = sum(n - 1 for n in received.values() if n > 1)
    ledger = club.gateway.ledger.charges()
    doubles = double_charges(ledger) + invoices_per_period(club)
    audit = Audit()
    for gate in fleet:
        a = world.audit(gate)
        for name in ("checkins", "lost", "duplicated", "wrong_unlocks", "wrong_denials"):
            setattr(audit, name, getattr(audit, name) + getattr(a, name))
    row = add_row(FaultRow(
        "2 replicas, kill -9 at random",
        f"{days} days, {killer.kills} kills, {issued} invoices (paying), {len(ledger)} charges, "
        f"{len(received)} emails ({duplicate_mails} resent after a kill)",
        audit, double_charges=doubles, recovery_s=recovery,
    ))  # fmt: skip
    club.gateway.close()
    assert (audit.lost, audit.duplicated, audit.wrong_unlocks, doubles) == (0, 0, 0, 0), row
    # Email is at-least-once: a replica killed between the SMTP server's "250 OK" and
    # its commit sends that one email again, under the same Message-ID.  Emails are
    # claimed one at a time, so a kill can cause at most one resend.
    assert duplicate_mails <= killer.kills, row
    assert killer.kills >= 2, "no replica was killed"
    assert issued == due, f"{due} invoices were due, {issued} issued"
    assert mails is not None, "invoice emails missing"
    assert recovery is not None


def _wait(predicate: object, timeout: float) -> float | None:
    from tests.faults.procs import eventually

    return eventually(predicate, timeout, step=0.2)
