"""Check-ins per second from simulated gates, through a real Mosquitto, into the database.

Each gate queues its check-ins and sends them as batches (``up/checkin``, QoS 1); the
hub's MQTT service verifies each batch, stores it with one ``INSERT ... ON CONFLICT DO
NOTHING`` and acks it after the commit.  The clock runs from the first batch sent to the
last ack received, and the stored rows are counted at the end.

    .venv/bin/python bench/ingest.py [--quick]
    GATEHOUSE_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/ingest.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, func, select  # noqa: E402

from bench._hubsetup import bench_database, machine_line  # noqa: E402
from gatehouse.clock import SystemClock  # noqa: E402
from gatehouse.services.mosquitto import Mosquitto  # noqa: E402
from gatehouse.sim.gates import SimGate  # noqa: E402
from hub.access.keys import gate_key  # noqa: E402
from hub.core.config import Settings  # noqa: E402
from hub.core.db import make_engine  # noqa: E402
from hub.migrations import upgrade  # noqa: E402
from hub.models import CheckIn, Door  # noqa: E402
from hub.models.site import SiteCreate  # noqa: E402
from hub.mqtt.service import HubMqtt  # noqa: E402
from hub.services.gates import provision_gate  # noqa: E402
from hub.services.sites import create_site  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--gates", type=int)
    parser.add_argument("--per-gate", type=int)
    parser.add_argument("--batch", type=int, default=500, help="check-ins per batch (max 500)")
    args = parser.parse_args()
    gates = args.gates or (10 if args.quick else 40)
    per_gate = args.per_gate or (2000 if args.quick else 5000)
    print(machine_line())
    with bench_database("gh_bench_ingest") as (url, backend), tempfile.TemporaryDirectory() as tmp:
        print(
            f"database: {backend}"
            + (
                ""
                if backend == "postgresql"
                else " (set GATEHOUSE_BENCH_PG for PostgreSQL; the target is for PostgreSQL)"
            )
        )
        print(f"sizes: gates={gates} checkins_per_gate={per_gate} batch={args.batch}")
        upgrade(url)
        run(url, Path(tmp), gates, per_gate, args.batch)


def run(url: str, tmp: Path, gates: int, per_gate: int, batch: int) -> None:
    clock = SystemClock()
    engine = make_engine(url)
    with Mosquitto(tmp / "broker") as broker:
        settings = Settings(database_url=url, mqtt_port=broker.port)
        sims = []
        with Session(engine, expire_on_commit=False) as s:
            s.info["settings"] = settings
            site = create_site(s, data=SiteCreate(slug="bench", name="Bench"), clock=clock)
            door = Door(site_id=site.id or 0, name="Door")
            s.add(door)
            s.flush()
            for i in range(gates):
                g, _, _ = provision_gate(
                    s, site=site, door=door, slug=f"g{i}", kind="pi", clock=clock, settings=settings
                )
                sims.append((g.slug, gate_key(s, g)))
            s.commit()
        with HubMqtt(engine=engine, settings=settings, clock=clock) as service:
            gate_objs = [
                SimGate(host="127.0.0.1", port=broker.port, site="bench", gate=slug, key=key).start(
                    hello=False
                )
                for slug, key in sims
            ]
            ts = int(datetime.now(UTC).timestamp())
            for g in gate_objs:
                for n in range(per_gate):
                    g.tap_key(n.to_bytes(8, "big"), now=ts)
            started = time.monotonic()
            for g in gate_objs:
                g.flush(max_batch=batch)
            ok = all(g.wait_acked(per_gate, timeout=600) for g in gate_objs)
            elapsed = time.monotonic() - started
            service.wait_idle()
            for g in gate_objs:
                g.stop(graceful=False)
        with Session(engine) as s:
            stored = s.exec(select(func.count()).select_from(CheckIn)).one()
    engine.dispose()
    total = gates * per_gate
    print(f"stored: {stored} of {total} ({'all acked' if ok else 'NOT all acked'})")
    print(f"elapsed_s: {elapsed:.2f} s")
    print(f"checkins_per_s: {stored / elapsed:.0f} /s")


if __name__ == "__main__":
    main()
