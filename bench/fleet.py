"""A fleet under load: N simulated gates tapping at 1 Hz against one hub process.

The hub runs as ``gatehouse hub serve`` (API + MQTT service) in its own process, on a
Mosquitto and a database of the bench's own.  Every gate speaks the real protocol
(:class:`gatehouse.sim.gates.SimGate`): once a second it decides a tap from its list,
sends the check-in (``up/checkin``, QoS 1) and drops it when the hub's ack arrives.
``ingest_p99`` is from the gate sending a check-in to the hub storing it (the row's
``received_at``, same machine clock); ``ack_p99`` from sending to the gate seeing the ack
(sent after the commit), which also counts the bench's own 200 gates competing for one
interpreter.  A revoke is applied by each simulated gate with :func:`remove_records`
(same result as :func:`protocol.delta.apply`, a fraction of the CPU).
Every ten seconds a card is deactivated through the hub's API and the time until every
gate has applied the new list version is measured.  The hub's CPU and memory are
sampled from its process.

    .venv/bin/python bench/fleet.py [--quick] [--gates 200] [--seconds 600]
    GATEHOUSE_BENCH_PG=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/fleet.py --seconds 60

Prints ``ingest_p99`` (ms), ``revoke_p99`` (ms), ``hub_cpu`` (% of one core),
``hub_rss_mb`` and the figures around them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
from sqlmodel import Session, func, select  # noqa: E402

from bench._hubsetup import bench_database, machine_line  # noqa: E402
from bench.acl_push import add_members, percentile  # noqa: E402
from gatehouse.clock import SystemClock  # noqa: E402
from gatehouse.services import free_port, wait_for_port  # noqa: E402
from gatehouse.services.mosquitto import Mosquitto  # noqa: E402
from gatehouse.sim.gates import SimGate  # noqa: E402
from hub.access.changes import access_changed  # noqa: E402
from hub.access.keys import gate_key, site_card_secret  # noqa: E402
from hub.core.config import Settings  # noqa: E402
from hub.core.db import make_engine  # noqa: E402
from hub.migrations import upgrade  # noqa: E402
from hub.models import Card, CheckIn, Door, Gate, Role  # noqa: E402
from hub.models.site import SiteCreate  # noqa: E402
from hub.services.gates import provision_gate  # noqa: E402
from hub.services.sites import create_site  # noqa: E402
from hub.services.users import issue_api_token  # noqa: E402
from protocol import messages, records  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def remove_records(data: bytes, keys: list[bytes]) -> bytes:
    """*data* without the records of *keys* (a binary search and a slice each).

    What a revoke costs a simulated gate: :func:`protocol.delta.apply` rebuilds the
    whole list in pure Python (about 1.3 ms for 2,000 records), which is right for a
    gate but, times 200 gates in one interpreter, would stall the bench itself.
    """
    for key in keys:
        i = records.find(data, key)
        if i >= 0:
            data = data[: i * records.RECORD_SIZE] + data[(i + 1) * records.RECORD_SIZE :]
    return data


class TimedGate(SimGate):
    """A simulated gate that notes when each check-in was sent and when it was acked."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent_at: dict[int, float] = {}
        self.sent_wall: dict[int, float] = {}
        self.latencies: list[float] = []
        self.timeline: list[tuple[float, float]] = []
        self._sent_high = 0

    def send_new(self) -> None:
        """Send the check-ins queued since the last call (one batch)."""
        with self._cond:
            new = [e for e in self.outbox if e[0] > self._sent_high]
            if not new:
                return
            self._sent_high = new[-1][0]
            now, wall = time.monotonic(), time.time()
            for e in new:
                self.sent_at[e[0]] = now
                self.sent_wall[e[0]] = wall
        self._publish("checkin", messages.checkin_batch(self.gate, self.link.sid, new))

    def _apply(self, event: str, value: Any) -> None:
        if event == "delta" and not value[1]:  # a revoke: cut the records out in place
            version, _add, delete = value
            self.data = remove_records(self.data, delete)
            self.link.applied(version)
            self.applied_at[version] = time.monotonic()
            self.deltas += 1
        else:
            super()._apply(event, value)
        if event == "ack":
            now = time.monotonic()
            for seq in [s for s in self.sent_at if s <= value]:
                sent = self.sent_at.pop(seq)
                self.latencies.append(now - sent)
                self.timeline.append((sent, now - sent))


def setup(url: str, broker: Mosquitto, gates: int, members: int) -> dict[str, Any]:
    """Site, members with cards, *gates* provisioned; returns what the bench needs."""
    clock = SystemClock()
    settings = Settings(database_url=url, mqtt_port=broker.port)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        s.info["settings"] = settings
        site = create_site(s, data=SiteCreate(slug="fleet", name="Fleet"), clock=clock)
        door = Door(site_id=site.id or 0, name="Door")
        s.add(door)
        s.flush()
        add_members(s, site, members, clock.now())
        access_changed(s, site_id=site.id or 0, reason="bench", clock=clock)
        keys = []
        for i in range(gates):
            g, _, _ = provision_gate(s, site=site, door=door, slug=f"g{i}", kind="pi",
                                     clock=clock, settings=settings)  # fmt: skip
            keys.append((g.slug, gate_key(s, g)))
        secret = site_card_secret(s, site)
        cards = s.exec(select(Card.id, Card.uid_hex)).all()
        _, token = issue_api_token(s, name="fleet bench", role=Role.OWNER.value, clock=clock)
        s.commit()
    engine.dispose()
    return {"keys": keys, "secret": secret, "cards": list(cards), "token": token}


def start_hub(url: str, broker: Mosquitto, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "GATEHOUSE_DATABASE_URL": url,
           "GATEHOUSE_MQTT_PORT": str(broker.port), "GATEHOUSE_ACL_POLL_S": "2"}  # fmt: skip
    log = (tmp / "hub.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "hub", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    wait_for_port("127.0.0.1", port, 60)
    return proc, port


def revoke(port: int, token: str, card_id: int) -> None:
    """Deactivate a card through the hub's API (the hub pushes the delta at once)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/cards/{card_id}",
        data=json.dumps({"active": False}).encode(),
        method="PATCH",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a run under 30 s")
    parser.add_argument("--gates", type=int, help="simulated gates (default 200)")
    parser.add_argument("--seconds", type=float, help="tapping time (default 600)")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--revoke-every", type=float, default=10.0, help="seconds")
    parser.add_argument("--timeline", action="store_true", help="per-second worst latency")
    args = parser.parse_args()
    gates = args.gates or (50 if args.quick else 200)
    seconds = args.seconds or (15.0 if args.quick else 600.0)
    print(machine_line())
    with bench_database("gh_bench_fleet") as (url, backend), tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        note = "" if backend == "postgresql" else " (set GATEHOUSE_BENCH_PG for PostgreSQL)"
        print(f"database: {backend}{note}")
        print(f"sizes: gates={gates} taps_per_gate_per_s=1 seconds={seconds:g} "
              f"members={args.members} revoke_every_s={args.revoke_every:g}")  # fmt: skip
        upgrade(url)
        with Mosquitto(tmp / "broker") as broker:
            world = setup(url, broker, gates, args.members)
            hub, port = start_hub(url, broker, tmp)
            try:
                run(url, broker, hub, port, world, seconds, args.revoke_every, args.timeline)
            finally:
                hub.terminate()
                hub.wait(30)


def run(url: str, broker: Mosquitto, hub: subprocess.Popen[bytes], port: int,
        world: dict[str, Any], seconds: float, revoke_every: float,
        timeline: bool = False) -> None:  # fmt: skip
    sims = [
        TimedGate(host="127.0.0.1", port=broker.port, site="fleet", gate=slug, key=key,
                  card_secret=world["secret"])
        for slug, key in world["keys"]
    ]  # fmt: skip
    started = time.monotonic()
    for sim in sims:
        sim.start()
    if not all(sim.wait_version(1, timeout=180) for sim in sims):
        raise SystemExit("not every gate got its list")
    print(f"fleet_ready: {time.monotonic() - started:.1f} s")
    proc = psutil.Process(hub.pid)
    rng = random.Random(1)
    cards = list(world["cards"])
    rng.shuffle(cards)
    to_revoke = cards[: max(1, int(seconds / revoke_every) + 1)]
    uids = [bytes.fromhex(uid) for _, uid in cards[len(to_revoke) :]]
    revokes: list[float] = []
    revoked_at: list[float] = []
    rss: list[float] = []
    stop = threading.Event()

    def revoker() -> None:
        for card_id, _uid in to_revoke:
            if stop.wait(revoke_every):
                return
            version = max(sim.version for sim in sims) + 1
            t0 = time.monotonic()
            revoked_at.append(t0)
            revoke(port, world["token"], card_id)
            if all(sim.wait_version(version, timeout=30) for sim in sims):
                revokes.append(max(sim.applied_at[version] for sim in sims) - t0)

    thread = threading.Thread(target=revoker, daemon=True)
    cpu0 = proc.cpu_times()
    t0 = time.monotonic()
    thread.start()
    taps = 0
    tick = 0
    while time.monotonic() - t0 < seconds:
        tick += 1
        for i, sim in enumerate(sims):  # spread each second's taps over the second
            due = t0 + tick - 1 + i / len(sims)
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sim.tap(rng.choice(uids))
            sim.send_new()
            taps += 1
        rss.append(proc.memory_info().rss / 1e6)
    elapsed = time.monotonic() - t0
    cpu1 = proc.cpu_times()
    stop.set()
    deadline = time.monotonic() + 60
    while any(sim.sent_at for sim in sims) and time.monotonic() < deadline:
        time.sleep(0.1)
    thread.join(40)
    for sim in sims:
        sim.stop(graceful=False)
    acks = sorted(x for sim in sims for x in sim.latencies)
    engine = make_engine(url)
    with Session(engine) as s:
        stored = s.exec(select(func.count()).select_from(CheckIn)).one()
        slugs = dict(s.exec(select(Gate.id, Gate.slug)).all())
        rows = s.exec(select(CheckIn.gate_id, CheckIn.seq, CheckIn.received_at)).all()
    engine.dispose()
    by_slug = {sim.gate: sim for sim in sims}
    latencies = sorted(  # sent by the gate -> in the hub's hands, on this machine's clock
        max(0.0, received.timestamp() - by_slug[slugs[gate_id]].sent_wall[seq])
        for gate_id, seq, received in rows
    )
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / elapsed * 100
    print(f"taps: {taps} count")
    print(f"stored: {stored} count")
    print(f"unacked: {sum(len(sim.sent_at) for sim in sims)} count")
    print(f"ingest_p50: {percentile(latencies, 50) * 1000:.1f} ms")
    print(f"ingest_p99: {percentile(latencies, 99) * 1000:.1f} ms")
    print(f"ingest_max: {latencies[-1] * 1000:.1f} ms")
    print(f"ack_p50: {percentile(acks, 50) * 1000:.1f} ms")
    print(f"ack_p99: {percentile(acks, 99) * 1000:.1f} ms")
    if revokes:
        print(f"revokes: {len(revokes)} count")
        print(f"revoke_p50: {percentile(revokes, 50) * 1000:.1f} ms")
        print(f"revoke_p99: {percentile(revokes, 99) * 1000:.1f} ms")
    print(f"hub_cpu: {cpu:.1f} %")
    print(f"hub_rss_mb: {max(rss):.1f} MB")
    print(f"hub_rss_mean_mb: {sum(rss) / len(rss):.1f} MB")
    if timeline:  # worst send-to-stored and send-to-ack per second of the run
        wall0 = time.time() - (time.monotonic() - t0)
        stored_worst: dict[int, float] = {}
        for gate_id, seq, received in rows:
            sent = by_slug[slugs[gate_id]].sent_wall[seq]
            second = int(sent - wall0)
            stored_worst[second] = max(stored_worst.get(second, 0.0), received.timestamp() - sent)
        ack_worst: dict[int, float] = {}
        for sim in sims:
            for sent, latency in sim.timeline:
                second = int(sent - t0)
                ack_worst[second] = max(ack_worst.get(second, 0.0), latency)
        marks = {int(r - t0) for r in revoked_at}
        for second in sorted(ack_worst):
            mark = " revoke" if second in marks else ""
            print(f"  t={second:4d}s stored {stored_worst.get(second, 0) * 1000:7.1f} ms"
                  f" ack {ack_worst[second] * 1000:7.1f} ms{mark}")  # fmt: skip


if __name__ == "__main__":
    main()
