"""Check-ins per second through the hub's ingest when members are metered, against the
same taps by members on a time-based membership; then the usage invoices.

Every batch of 500 is stored with :func:`hub.mqtt.ingest.store_batch` and committed, as
the MQTT service does; for metered members that includes reconciling their visits and
pushing new records into the site's list.  Each member taps ``taps`` times, spread over
two gates and over days (every tap a new visit), so a 3-visit pack ends in overuse.

    .venv/bin/python bench/usage_reconcile.py [--quick]
    GATEHOUSE_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/usage_reconcile.py
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, func, select  # noqa: E402

from bench._hubsetup import bench_database, machine_line  # noqa: E402
from gatehouse.clock import ManualClock  # noqa: E402
from hub.access.changes import access_changed  # noqa: E402
from hub.access.keys import gate_key, site_card_secret  # noqa: E402
from hub.core.config import Settings  # noqa: E402
from hub.core.db import make_engine  # noqa: E402
from hub.migrations import upgrade  # noqa: E402
from hub.models import Card, Door, Entitlement, Member, UsagePass, UsageRecord  # noqa: E402
from hub.models.site import SiteCreate  # noqa: E402
from hub.mqtt import ingest  # noqa: E402
from hub.mqtt.registry import GateInfo  # noqa: E402
from hub.services.gates import provision_gate  # noqa: E402
from hub.services.sites import create_site  # noqa: E402
from hub.usage.invoicing import bill_usage  # noqa: E402
from hub.usage.plans import UsageKind  # noqa: E402
from protocol.cardkey import card_key  # noqa: E402
from protocol.mac import MacKey  # noqa: E402

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def setup(s: Session, clock: ManualClock, settings: Settings, members: int, metered: bool):  # type: ignore[no-untyped-def]
    site = create_site(s, data=SiteCreate(slug="club1", name="Club", timezone="Asia/Bangkok"),
                       clock=clock)  # fmt: skip
    gates = []
    for name in ("a", "b"):
        door = Door(site_id=site.id or 0, name=f"Door {name}", zone=0)
        s.add(door)
        s.flush()
        gate, _, _ = provision_gate(s, site=site, door=door, slug=f"gate-{name}", kind="pi",
                                    clock=clock, settings=settings)  # fmt: skip
        gates.append(GateInfo(id=gate.id or 0, site_id=site.id or 0, site=site.slug,
                              gate=gate.slug, door_id=door.id or 0, zone=0,
                              key=MacKey(gate_key(s, gate))))  # fmt: skip
    plan_id = None
    if metered:
        from hub.models import UsagePlan

        plan = UsagePlan(site_id=site.id or 0, name="3 visits", kind="visit_pack",
                         currency="THB", visits=3, valid_days=30, visit_price_minor=20000,
                         created_at=clock.now())  # fmt: skip
        s.add(plan)
        s.flush()
        plan_id = plan.id
    secret = site_card_secret(s, site)
    now = clock.now()
    keys = []
    for i in range(members):
        m = Member(first_name="M", last_name=str(i), email=f"m{i}@x.co", status="active",
                   created_at=now, updated_at=now)  # fmt: skip
        s.add(m)
        s.flush()
        uid = f"04{i:012x}"
        s.add(Card(member_id=m.id or 0, uid_hex=uid, active=True, created_at=now))
        ent = Entitlement(member_id=m.id or 0, site_id=site.id or 0, zones=1,
                          valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=30),
                          source="manual", created_at=now, updated_at=now)  # fmt: skip
        s.add(ent)
        s.flush()
        if metered:
            ent.source = f"usage:{m.id}"
            s.add(UsagePass(member_id=m.id or 0, site_id=site.id or 0, plan_id=plan_id or 0,
                            kind=UsageKind.VISIT_PACK.value, visits=3, starts_at=now,
                            expires_at=now + timedelta(days=30), entitlement_id=ent.id,
                            created_at=now))  # fmt: skip
        keys.append(card_key(secret, bytes.fromhex(uid)).hex())
    s.flush()
    access_changed(s, site_id=site.id or 0, reason="bench", clock=clock)
    s.commit()
    return gates, keys


def run(members: int, taps: int, metered: bool) -> tuple[float, int, int]:
    with bench_database("gh_usage") as (url, _backend):
        upgrade(url)
        engine = make_engine(url)
        settings = Settings(database_url=url, mqtt_enabled=False)
        clock = ManualClock(START)
        with Session(engine, expire_on_commit=False) as s:
            s.info["settings"] = settings
            gates, keys = setup(s, clock, settings, members, metered)
            sids = [secrets.token_hex(8), secrets.token_hex(8)]
            seqs = [0, 0]
            batches: list[list[tuple]] = [[], []]  # type: ignore[type-arg]
            t0 = int(START.timestamp())
            pending = []
            for n in range(taps):
                for i, key in enumerate(keys):
                    g = (i + n) % 2
                    seqs[g] += 1
                    batches[g].append((seqs[g], t0 + n * 86400 + i, key, 0, 1, 0))
                    if len(batches[g]) == 500:
                        pending.append((g, batches[g]))
                        batches[g] = []
            pending += [(g, b) for g, b in enumerate(batches) if b]
            start = time.perf_counter()
            for g, batch in pending:
                ingest.store_batch(s, gate=gates[g], sid=sids[g], entries=batch, clock=clock)
                s.commit()
            elapsed = time.perf_counter() - start
            records = s.exec(select(func.count()).select_from(UsageRecord)).one()
        clock.advance(timedelta(days=taps + 1))
        b0 = time.perf_counter()
        invoices = len(bill_usage(engine=engine, settings=settings, clock=clock))
        bill_s = time.perf_counter() - b0
        engine.dispose()
        total = members * taps
        if metered:
            print(f"usage_records: {records} (of {total} taps)")
            print(f"usage_invoices: {invoices} in {bill_s:.2f} s")
        return total / elapsed, records, invoices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 members (under 30 s)")
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--taps", type=int, default=4)
    args = parser.parse_args()
    members = args.members or (200 if args.quick else 2000)
    print(machine_line())
    with bench_database("gh_probe") as (_u, backend):
        print(f"database: {backend}")
    print(f"sizes: members={members} taps_per_member={args.taps} gates=2 batch=500")
    plain, _, _ = run(members, args.taps, metered=False)
    print(f"plain_checkins_per_s: {plain:.0f} /s")
    metered, _, _ = run(members, args.taps, metered=True)
    print(f"metered_checkins_per_s: {metered:.0f} /s")


if __name__ == "__main__":
    main()
