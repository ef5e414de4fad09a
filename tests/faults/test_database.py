"""PostgreSQL connections killed under a billing run, while the hub keeps ingesting.

Every few hundred milliseconds, at a moment some statement is in flight, every
connection to the hub's database is terminated (``pg_terminate_backend``: what a
PostgreSQL restart or fail-over does to its clients) -- the billing run's, in the middle
of issuing or charging, and the hub process's, in the middle of storing check-ins.
Runs cut off are run again; the club is billed month after month until the killing
stops and a run completes.  The gateway's own ledger must show no invoice charged
twice, no invoice may be issued twice for a period, and every check-in the gate printed
must be stored exactly once.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta

import psycopg
import pytest

from gatehouse.clock import ManualClock
from hub.core.config import Settings
from tests.faults.money import add_months, double_charges, invoices_per_period, paying_club
from tests.faults.table import FaultRow, add_row
from tests.faults.tapping import Tapper
from tests.faults.world import FaultWorld
from tests.hub.billing.test_crash_and_concurrency import Worker
from tests.hub.billing.world import World

FAST = pytest.param(6, 60, id="6-kills")
FULL = pytest.param(30, 300, id="30-kills", marks=pytest.mark.faults)


class ConnectionKiller:
    """Terminates every backend of one database, *kills* times at random intervals."""

    def __init__(self, url: str, kills: int, seed: int) -> None:
        self.dsn = url.replace("postgresql+psycopg://", "postgresql://")
        self.name = url.rsplit("/", 1)[1]
        self.kills = kills
        self.done = 0
        self.terminated = 0
        self.last = 0.0
        self.rng = random.Random(seed)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ConnectionKiller:
        self._thread.start()
        return self

    def _run(self) -> None:
        admin = self.dsn.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            while self.done < self.kills:
                time.sleep(self.rng.uniform(0.05, 0.5))
                deadline = time.monotonic() + 2.0
                while time.monotonic() < deadline:  # strike while some work is in flight
                    busy = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                        " AND state <> 'idle' AND pid <> pg_backend_pid()",
                        (self.name,),
                    ).fetchone()
                    if busy and busy[0]:
                        break
                    time.sleep(0.005)
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.name,),
                ).fetchall()
                self.terminated += len(rows)
                self.done += 1
                self.last = time.monotonic()

    def join(self) -> None:
        self._thread.join(120)


@pytest.mark.parametrize(("kills", "members"), [FAST, FULL])
def test_database_connections_killed_under_billing_lose_and_double_nothing(
    live: FaultWorld, kills: int, members: int
) -> None:
    world = live
    folder = world.workdir / f"billing-{kills}"
    folder.mkdir(exist_ok=True)
    settings = Settings(database_url=world.url, mqtt_enabled=False)
    club = World(world.engine, settings, ManualClock(world.clock.now()), folder)  # type: ignore[arg-type]
    paying_club(club, slug=f"pg{kills}", members=members, declining_every=5)
    gate = world.gate(f"pg-kill-{kills}")
    gate.process.start()
    cards = world.cards(400, valid_days=30)
    assert world.wait_list(gate)
    tapper = Tapper(world, gate, cards).start()
    worker = Worker(club)
    at = club.clock.now() + timedelta(days=40)  # two periods due
    runs = failed = 0
    killer = ConnectionKiller(world.url, kills, seed=kills).start()
    try:
        while True:  # bill month after month while the connections are being killed
            killing = killer.done < kills
            worker.start(at, batch=3)
            code = worker.wait()
            runs += 1
            failed += code != 0
            if code == 0 and not killing:
                break
            if code == 0:
                at = datetime.combine(add_months(at.date(), 1), at.timetz())
        completed = time.monotonic()
    finally:
        killer.join()
        tapper.stop()
        worker.close()
    assert gate.process.wait_decided(list(gate.process.taps.values()), timeout=30)
    stored = world.wait_stored(gate, gate.printed(), timeout=120)
    recovery = None if stored is None else time.monotonic() - killer.last
    recovery = None if stored is None else max(completed - killer.last, recovery or 0.0)
    ledger = club.gateway.ledger.charges()
    doubles = double_charges(ledger) + invoices_per_period(club)
    audit = world.audit(gate)
    row = add_row(FaultRow(
        "PostgreSQL connections killed", f"{kills} kills ({killer.terminated} backends), "
        f"{runs} billing runs ({failed} cut off), {len(ledger)} charges", audit,
        double_charges=doubles, recovery_s=recovery,
    ))  # fmt: skip
    club.gateway.close()
    assert (audit.lost, audit.duplicated, audit.wrong_unlocks, doubles) == (0, 0, 0, 0), row
    assert len(ledger) >= members, "the billing run charged nothing"
    assert recovery is not None
