"""Property: whatever the taps, gates and partitions, billed visits equal an oracle
computed from the full check-in log.

Two gates decide every tap as the real gates do (:func:`protocol.decision.decide` with
:mod:`protocol.metering`: the record's visits minus their own unreflected visits, the
site's re-entry window).  A gate that is online delivers its check-ins through the hub's
ingest and takes the hub's new record; one that is partitioned keeps them.  When all
partitions heal, batches arrive in any order, some twice.  Then the hub's usage records
and the usage invoice must match the oracle: visit starts over all admitted check-ins in
time order; visits beyond the pack are overuse, each charged once.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, select

import hub.models  # noqa: F401
from gatehouse.clock import ManualClock
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.models import InvoiceLineRow
from hub.usage.invoicing import bill_usage
from hub.usage.metering import set_reentry_window
from protocol import decision
from protocol.metering import reentry_until, visits_left
from protocol.records import FLAG_METERED, pack, with_visits
from protocol.schedule import Schedules
from tests.hub.conftest import START
from tests.hub.usage.world import World

PRICE = 20000


class GateModel:
    """One gate's decisions and outbox, as the Pi gate and the firmware keep them."""

    def __init__(self, name: str, world: World, visits: int, window: int) -> None:
        self.name, self.world, self.window = name, world, window
        self.record_visits = visits
        self.counted: list[int] = []  # seqs of visits the record does not reflect
        self.start: int | None = None
        self.outbox: list[list[int | str]] = []
        self.batches: list[list[list[int | str]]] = []
        self.acked = 0

    def tap(self, ts: int) -> None:
        flags = with_visits(FLAG_METERED, self.record_visits)
        record = pack(bytes.fromhex(self.world.key), 2**32 - 1, 1, 0, flags)
        _, reason = decision.decide(
            record, ts, 0, Schedules(),
            remaining=visits_left(flags, len(self.counted)),
            reentry_until=reentry_until(self.start, flags, self.window),
        )  # fmt: skip
        entry = self.world.entry(self.name, START.fromtimestamp(ts, START.tzinfo), reason)
        if reason == decision.GRANTED:
            self.counted.append(int(entry[0]))
            self.start = ts
        self.outbox.append(entry)

    def cut(self) -> None:
        """What is unsent becomes one batch waiting for the partition to heal."""
        if self.outbox:
            self.batches.append(self.outbox)
            self.outbox = []

    def sync(self) -> None:
        """Online: deliver, take the ack and the hub's new record."""
        self.cut()
        for batch in self.batches:
            self.acked = max(self.acked, self.world.deliver(self.name, batch))
        self.batches = []
        self.record_visits = self.world.visits_left()
        self.counted = [s for s in self.counted if s > self.acked]


def oracle(log: list[tuple[int, int]], window: int, visits: int) -> tuple[int, int]:
    """``(visits, overuse)`` from every admitted ``(ts, reason)`` of both gates."""
    times = sorted(ts for ts, reason in log if reason in (decision.GRANTED, decision.REENTRY))
    count, until = 0, None
    for t in times:
        if until is not None and t < until:
            continue
        count += 1
        until = t + window if window else None
    return count, max(0, count - visits)


taps = st.lists(
    st.tuples(st.sampled_from("ab"), st.integers(1, 240), st.booleans()), min_size=1, max_size=14
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    taps=taps,
    visits=st.integers(1, 4),
    window=st.sampled_from([0, 3600, 3 * 3600]),
    order=st.randoms(use_true_random=False),
)
def test_billed_visits_equal_the_oracle_over_the_full_log(
    taps: list[tuple[str, int, bool]], visits: int, window: int, order: object
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hub.db'}"
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        conf = Settings(database_url=url, mqtt_enabled=False)
        clock = ManualClock(START)
        try:
            with Session(engine, expire_on_commit=False) as session:
                session.info["settings"] = conf
                world = World(session, clock, conf)
                set_reentry_window(session, site_id=world.site.id or 0, seconds=window,
                                   clock=clock)  # fmt: skip
                world.sell(world.plan(name="pack", kind="visit_pack", visits=visits,
                                      valid_days=30, visit_price_minor=PRICE))  # fmt: skip
                gates = {g: GateModel(g, world, visits, window) for g in "ab"}
                ts = int(START.timestamp())
                for gate, minutes, online in taps:
                    ts += minutes * 60
                    gates[gate].tap(ts)
                    if online:
                        gates[gate].sync()
                    else:
                        gates[gate].cut()
                # the partitions heal: batches in any order, some delivered twice
                pending = [(g, b) for g in "ab" for b in gates[g].batches + [gates[g].outbox]]
                pending = [p for p in pending if p[1]]
                pending += pending[: len(pending) // 2]
                order.shuffle(pending)  # type: ignore[attr-defined]
                for g, batch in pending:
                    world.deliver(g, batch)
                log = [(int(e[1]), int(e[3])) for m in gates.values() for e in _all(m)]
                want_visits, want_overuse = oracle(log, window, visits)
                rows = world.records()
                assert len(rows) == want_visits
                assert sum(r.overuse for r in rows) == want_overuse
                assert world.visits_left() == max(0, visits - want_visits)

            clock.advance(timedelta(days=12))
            bill_usage(engine=engine, settings=conf, clock=clock)
            bill_usage(engine=engine, settings=conf, clock=clock)
            with Session(engine) as s:
                lines = s.exec(select(InvoiceLineRow.total)).all()
            assert len(lines) == want_overuse and sum(lines) == want_overuse * PRICE
        finally:
            engine.dispose()


def _all(gate: GateModel) -> list[list[int | str]]:
    return gate.world.seqs_log[gate.name]  # type: ignore[no-any-return]
