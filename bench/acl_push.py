"""Access-list push: revoke -> every gate applied (p99), and list sizes on the wire.

1. ``revoke_p99``: 200 simulated gates (real protocol, real Mosquitto) hold the list of
   a site; a card is deactivated in the hub (``access_changed`` + commit) and the time
   until each gate has verified and applied the delta is measured, per gate and revoke.
2. ``snapshot_bytes_per_member``: every sealed payload of a snapshot (manifest and
   chunks) for a site of 100,000 members with one card each, divided by the members,
   for a gate taking 64 KiB payloads; also shown for a 4 KiB MicroPython gate.
3. ``delta_bytes``: the sealed one-card revoke delta.

    .venv/bin/python bench/acl_push.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench._hubsetup import bench_database, machine_line  # noqa: E402
from gatehouse.clock import SystemClock  # noqa: E402
from gatehouse.services.mosquitto import Mosquitto  # noqa: E402
from gatehouse.sim.gates import SimGate  # noqa: E402
from hub.access.changes import access_changed  # noqa: E402
from hub.access.keys import gate_key  # noqa: E402
from hub.access.lists import current_list, site_schedules, snapshot_bodies  # noqa: E402
from hub.core.config import Settings  # noqa: E402
from hub.core.db import make_engine  # noqa: E402
from hub.migrations import upgrade  # noqa: E402
from hub.models import Card, Door, Entitlement, Member, Site  # noqa: E402
from hub.models.site import SiteCreate  # noqa: E402
from hub.mqtt.service import HubMqtt  # noqa: E402
from hub.services.gates import provision_gate  # noqa: E402
from hub.services.sites import create_site  # noqa: E402
from protocol import delta, envelope  # noqa: E402


def add_members(session: Session, site: Site, count: int, now: datetime) -> None:
    """Bulk-add *count* members with one card and one entitlement each."""
    first = (session.exec(select(Member.id).order_by(Member.id.desc())).first() or 0) + 1  # type: ignore[union-attr]
    members = [
        {
            "id": first + i,
            "first_name": "M",
            "last_name": str(first + i),
            "email": f"m{first + i}@bench.example",
            "status": "active",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    session.execute(insert(Member), members)
    session.execute(
        insert(Card),
        [
            {
                "member_id": m["id"],
                "uid_hex": f"04{m['id']:012x}",
                "active": True,
                "created_at": now,
            }
            for m in members
        ],
    )
    session.execute(
        insert(Entitlement),
        [
            {
                "member_id": m["id"],
                "site_id": site.id,
                "zones": 1,
                "valid_from": now - timedelta(days=1),
                "valid_until": now + timedelta(days=30),
                "source": "bench",
                "flags": 0,
                "created_at": now,
                "updated_at": now,
            }
            for m in members
        ],
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def revoke_bench(url: str, tmp: Path, gates: int, members: int, revokes: int) -> None:
    clock = SystemClock()
    engine = make_engine(url)
    with Mosquitto(tmp / "broker") as broker:
        settings = Settings(database_url=url, mqtt_port=broker.port)
        with Session(engine, expire_on_commit=False) as s:
            s.info["settings"] = settings
            site = create_site(s, data=SiteCreate(slug="bench", name="Bench"), clock=clock)
            door = Door(site_id=site.id or 0, name="Door")
            s.add(door)
            s.flush()
            add_members(s, site, members, clock.now())
            access_changed(s, site_id=site.id or 0, reason="bench", clock=clock)
            keys = []
            for i in range(gates):
                g, _, _ = provision_gate(
                    s, site=site, door=door, slug=f"g{i}", kind="pi", clock=clock, settings=settings
                )
                keys.append((g.slug, gate_key(s, g)))
            s.commit()
            site_id = site.id or 0
        with HubMqtt(engine=engine, settings=settings, clock=clock) as service:
            sims = [
                SimGate(host="127.0.0.1", port=broker.port, site="bench", gate=slug, key=key)
                for slug, key in keys
            ]
            for sim in sims:
                sim.start()
            if not all(sim.wait_version(1, timeout=120) for sim in sims):
                raise SystemExit("not every gate got its snapshot")
            service.wait_idle(60)
            latencies: list[float] = []
            with Session(engine, expire_on_commit=False) as s:
                s.info["settings"] = settings
                cards = s.exec(select(Card).limit(revokes)).all()
                for card in cards:
                    card.active = False
                    s.add(card)
                    started = time.monotonic()
                    version = access_changed(
                        s,
                        site_id=site_id,
                        reason="revoke",
                        clock=clock,
                        member_ids=[card.member_id],
                    )
                    s.commit()
                    if not all(sim.wait_version(version, timeout=30) for sim in sims):
                        raise SystemExit(f"not every gate applied version {version}")
                    latencies += [sim.applied_at[version] - started for sim in sims]
            for sim in sims:
                sim.stop(graceful=False)
    engine.dispose()
    ms = [x * 1000 for x in latencies]
    print(f"revoke_p50: {statistics.median(ms):.1f} ms")
    print(f"revoke_p99: {percentile(ms, 99):.1f} ms")
    print(f"revoke_max: {max(ms):.1f} ms")


def size_bench(url: str, members: int) -> None:
    clock = SystemClock()
    engine = make_engine(url)
    settings = Settings(database_url=url, mqtt_enabled=False)
    with Session(engine, expire_on_commit=False) as s:
        s.info["settings"] = settings
        site = create_site(
            s, data=SiteCreate(slug="sizes", name="Sizes", timezone="Europe/Berlin"), clock=clock
        )
        add_members(s, site, members, clock.now())
        s.commit()
        started = time.monotonic()
        access_changed(s, site_id=site.id or 0, reason="bench", clock=clock)
        s.commit()
        print(f"full_build_s: {time.monotonic() - started:.2f} s")
        key = b"k" * 32
        now = clock.timestamp()
        started = time.monotonic()
        version, data = current_list(s, site.id or 0)
        sched = site_schedules(s, site, now)
        for mtu, label in ((65536, ""), (4096, "_4k_mtu")):
            bodies = snapshot_bodies("front-door", version, data, now, sched, mtu)
            wire = sum(len(envelope.seal(key, b)) for b in bodies)
            if not label:
                print(f"snapshot_build_s: {time.monotonic() - started:.2f} s")
            print(f"snapshot_bytes_per_member{label}: {wire / members:.2f} B")
        card_key_hex = data[:8]
        d = delta.make("front-door", version, version + 1, [], [card_key_hex], now)
        print(f"delta_bytes: {len(envelope.seal_json(key, d))} B")
        print(f"list_bytes_per_member: {len(data) / members:.2f} B")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    args = parser.parse_args()
    gates = 50 if args.quick else 200
    revokes = 5 if args.quick else 30
    list_members = 1000
    size_members = 20_000 if args.quick else 100_000
    print(machine_line())
    print(
        f"sizes: gates={gates} revokes={revokes} list_members={list_members} "
        f"size_members={size_members}"
    )
    with bench_database("gh_bench_acl") as (url, backend), tempfile.TemporaryDirectory() as tmp:
        print(f"database: {backend}")
        upgrade(url)
        revoke_bench(url, Path(tmp), gates, list_members, revokes)
    with bench_database("gh_bench_sizes") as (url, _):
        upgrade(url)
        size_bench(url, size_members)


if __name__ == "__main__":
    main()
