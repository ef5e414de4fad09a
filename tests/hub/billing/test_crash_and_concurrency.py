"""The billing run killed at random points, and two runs at once on PostgreSQL.

Runs are real processes (forked from ``run_worker``), killed with SIGKILL at random
moments and run again. Afterwards every due invoice exists exactly once, numbers have
no gaps, the gateway's own ledger shows no invoice charged twice, and the money adds up.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from gatehouse.clock import ManualClock
from hub.billing.periods import add_months
from hub.billing.renewals import bill_due, start_subscription
from hub.billing.sitetime import site_today
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.migrations import upgrade
from hub.models import ChargeAttempt, DunningCase, Invoice, Payment, Plan, Site, Subscription
from tests.hub.billing.world import World

ROOT = Path(__file__).resolve().parents[3]


class Worker:
    """The ``run_worker`` process: forks one billing run per :meth:`start`."""

    def __init__(self, world: World) -> None:
        env = {
            **os.environ,
            "GATEHOUSE_DATABASE_URL": world.settings.database_url,
            "GATEHOUSE_SIMULATED_GATEWAY_PATH": str(world.gateway.ledger.path),
            "GATEHOUSE_MQTT_ENABLED": "false",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.hub.billing.run_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )

    def _line(self, prefix: str) -> str:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"run_worker ended (exit {self.proc.wait()})")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()

    def start(self, at: datetime, batch: int) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {at.isoformat()} {batch}\n")
        self.proc.stdin.flush()
        return int(self._line("pid "))

    def wait(self) -> int:
        """The run's exit code (``-9``: killed); its report is kept in :attr:`done`."""
        self.done: tuple[int, int] | None = None
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"run_worker ended (exit {self.proc.wait()})")
            done = re.match(r"done (\d+) (\d+)", line)
            if done:  # a child killed mid-line leaves the parent's "exit" glued on
                self.done = (int(done.group(1)), int(done.group(2)))
                line = line[done.end() :]
            exited = re.search(r"exit (-?\d+)", line)
            if exited:
                return int(exited.group(1))

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _club(world: World, members: int, declining_every: int) -> set[int]:
    """Members on one plan, every *declining_every*-th with a card that declines;
    returns the ids of those members."""
    site = world.site()
    plan = world.plan(site, setup_fee_minor=50000, grace_days=2)
    declining = set()
    for n in range(members):
        card = "4000000000009995" if n % declining_every == 0 else "4242424242424242"
        member = world.member(card_number=card)
        world.subscribe(member, plan)
        if n % declining_every == 0:
            declining.add(member.id or 0)
    return declining


def _check_books(world: World, at: datetime, declining: set[int]) -> dict[str, int]:
    """Every invariant the billing run promises, checked against the gateway's ledger."""
    with world.session() as s:
        site = s.exec(select(Site)).one()
        today = site_today(at, site.timezone)
        plans = {p.id: p.terms() for p in s.exec(select(Plan))}
        subs = s.exec(select(Subscription)).all()
        invoices = s.exec(select(Invoice)).all()
        attempts = s.exec(select(ChargeAttempt)).all()
        payments = s.exec(select(Payment)).all()
        cases = s.exec(select(DunningCase)).all()
    by_sub = defaultdict(list)
    for inv in invoices:
        by_sub[inv.subscription_id].append(inv.period_start)
    for sub in subs:
        expected, _ = bill_due(
            start_subscription(plans[sub.plan_id], start_on=sub.started_on), today=today
        )
        assert sorted(by_sub[sub.id]) == [d.period.start for d in expected]
    assert sorted(i.number for i in invoices) == list(range(1, len(invoices) + 1))
    assert not [a for a in attempts if a.status == "pending"]
    ledger = world.gateway.ledger.charges()
    keys = {a.idempotency_key for a in attempts}
    assert {c["idempotency_key"] for c in ledger} <= keys  # nothing charged unrecorded
    succeeded = Counter(c["invoice_id"] for c in ledger if c["status"] == "succeeded")
    charged = Counter(c["invoice_id"] for c in ledger)
    assert max(succeeded.values(), default=0) <= 1, "an invoice was charged twice"
    assert max(charged.values(), default=0) <= 1, "an invoice was sent to the processor twice"
    paid = {str(i.id): i for i in invoices if i.status == "paid"}
    assert set(succeeded) == set(paid)
    assert sum(c["amount"] for c in ledger if c["status"] == "succeeded") == sum(
        i.total for i in paid.values()
    )
    assert sorted(p.invoice_id for p in payments) == sorted(int(i) for i in paid)
    assert sum(p.amount for p in payments) == sum(i.total for i in paid.values())
    unpaid = {i.id for i in invoices if i.status == "open"}
    assert {c.invoice_id for c in cases} == unpaid
    assert {i.member_id for i in invoices if i.status == "open"} <= declining
    assert all(i.status == "paid" for i in invoices if i.member_id not in declining)
    assert len(paid) == sum(1 for i in invoices if i.member_id not in declining) > 0
    return {"invoices": len(invoices), "paid": len(paid), "unpaid": len(unpaid)}


def _crash_and_rerun(world: World, *, members: int, kills_wanted: int, seed: int) -> dict:
    declining = _club(world, members, declining_every=5)
    rng = random.Random(seed)
    worker = Worker(world)
    at = world.clock.now() + timedelta(days=40)  # two periods due at the first run
    kills = completed = 0
    estimate = 0.5
    try:
        for _ in range(kills_wanted * 10):
            if kills >= kills_wanted:
                break
            started = time.monotonic()
            pid = worker.start(at, batch=rng.choice([2, 3, 5]))
            time.sleep(rng.uniform(0.0, estimate))
            with contextlib.suppress(ProcessLookupError):  # it may have finished
                os.kill(pid, signal.SIGKILL)
            code = worker.wait()
            if code == -signal.SIGKILL:
                kills += 1
                estimate = min(3.0, estimate * 1.05)  # later and later, until one finishes
            else:
                assert code == 0, "a billing run failed on its own"
                completed += 1
                estimate = max(0.05, (time.monotonic() - started) * 1.2)
                _check_books(world, at, declining)
                at = datetime.combine(add_months(at.date(), 1), at.timetz())
        assert kills >= kills_wanted
        worker.start(at, batch=4)
        assert worker.wait() == 0
        books = _check_books(world, at, declining)
        worker.start(at, batch=4)  # a rerun changes nothing
        assert worker.wait() == 0
        assert _check_books(world, at, declining) == books
    finally:
        worker.close()
    return {**books, "kills": kills, "completed": completed}


def test_runs_killed_at_random_points_never_double_charge(world: World) -> None:
    result = _crash_and_rerun(world, members=12, kills_wanted=32, seed=6)
    assert result["invoices"] >= 12 * 2 and result["unpaid"] > 0


@pytest.mark.slow
def test_runs_killed_at_random_points_never_double_charge_bigger(world: World) -> None:
    result = _crash_and_rerun(world, members=300, kills_wanted=120, seed=7)
    assert result["invoices"] >= 300 * 2 and result["completed"] > 0


@pytest.fixture
def pg_world(pg_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[World]:
    upgrade(pg_url)
    engine: Engine = make_engine(pg_url)
    settings = Settings(
        database_url=pg_url,
        mqtt_enabled=False,
        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"),
    )
    world = World(engine, settings, clock, tmp_path)
    yield world
    world.gateway.close()
    engine.dispose()


def test_two_runs_at_once_on_postgresql_share_the_work_and_never_double_charge(
    pg_world: World,
) -> None:
    declining = _club(pg_world, 60, declining_every=7)
    at = pg_world.clock.now() + timedelta(days=40)
    first, second = Worker(pg_world), Worker(pg_world)
    try:
        first.start(at, batch=3)
        second.start(at, batch=3)
        assert (first.wait(), second.wait()) == (0, 0)
    finally:
        first.close()
        second.close()
    books = _check_books(pg_world, at, declining)
    assert books["invoices"] == 60 * 2
    assert first.done and second.done
    assert first.done[0] + second.done[0] == 60 * 2  # each invoice issued by one of them
    assert first.done[0] > 0 and second.done[0] > 0  # and both took part
