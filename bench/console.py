"""Console pages: how long each takes to render, and a tapped card's way to the page.

1. ``<page>_p50`` / ``<page>_p99`` (ms): the dashboard, its live refresh, a member
   search, a member page and the 30-day attendance report, rendered in-process
   (``TestClient``) for a club with many members and a month of check-ins.
2. ``enroll_tap_p50`` / ``enroll_tap_p99`` (ms): a simulated gate in enroll mode sends a
   card's UID over a real Mosquitto; time until the console's tap log holds it (the
   member page polls every 500 ms on top of this).

    .venv/bin/python bench/console.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bench._hubsetup import bench_database, machine_line  # noqa: E402
from bench.acl_push import add_members, percentile  # noqa: E402
from gatehouse.clock import SystemClock  # noqa: E402
from gatehouse.services.mosquitto import Mosquitto  # noqa: E402
from gatehouse.sim.gates import SimGate  # noqa: E402
from hub.access.changes import access_changed  # noqa: E402
from hub.access.keys import gate_key, site_card_secret  # noqa: E402
from hub.console import sessions  # noqa: E402
from hub.core.config import Settings  # noqa: E402
from hub.migrations import upgrade  # noqa: E402
from hub.models import CheckIn, Door, Role, User  # noqa: E402
from hub.models.site import SiteCreate  # noqa: E402
from hub.runtime import Hub  # noqa: E402
from hub.services.gates import provision_gate  # noqa: E402
from hub.services.sites import create_site  # noqa: E402


def seed(hub: Hub, members: int, per_day: int) -> dict[str, int]:
    """A site with *members* members and 30 days of *per_day* visits; a manager."""
    clock = hub.clock
    now = clock.now()
    with hub.session() as s:
        site = create_site(
            s, data=SiteCreate(slug="bench", name="Bench", timezone="Asia/Bangkok"), clock=clock
        )
        door = Door(site_id=site.id or 0, name="Front door")
        s.add(door)
        s.flush()
        gate, _, _ = provision_gate(
            s, site=site, door=door, slug="front", kind="pi", clock=clock, settings=hub.settings
        )
        add_members(s, site, members, now)
        access_changed(s, site_id=site.id or 0, reason="bench", clock=clock)
        rng = random.Random(1)
        rows = [
            {
                "gate_id": gate.id, "site_id": site.id, "door_id": door.id,
                "member_id": rng.randint(1, members), "store_id": "bench00000000000",
                "seq": i + 1, "ts": now - timedelta(seconds=rng.randint(0, 30 * 86400)),
                "card_key": "00" * 8, "reason": "granted", "allowed": True,
                "list_version": 1, "flags": 0, "received_at": now,
            }
            for i in range(30 * per_day)
        ]  # fmt: skip
        for i in range(0, len(rows), 5000):
            s.execute(insert(CheckIn), rows[i : i + 5000])
        user = User(
            email="manager@bench.example", full_name="Manager", role=Role.MANAGER.value,
            password_hash="-", created_at=now,
        )  # fmt: skip
        s.add(user)
        s.commit()
        return {"site": site.id or 0, "gate": gate.id or 0, "user": user.id or 0}


def signed_in(hub: Hub, user_id: int) -> TestClient:
    with hub.session() as s:
        user = s.get(User, user_id)
        assert user is not None
        _, token = sessions.start_session(s, user=user, clock=hub.clock, settings=hub.settings)
        s.commit()
    client = TestClient(hub.app)
    client.cookies.set(sessions.SESSION_COOKIE, sessions.sign(token, hub.settings), path="/console")
    return client


def page_times(client: TestClient, pages: dict[str, str], rounds: int) -> None:
    for name, path in pages.items():
        assert client.get(path).status_code == 200, path  # warm up
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200
        print(f"{name}_p50: {percentile(times, 50):.1f} ms")
        print(f"{name}_p99: {percentile(times, 99):.1f} ms")


def enroll_latency(hub: Hub, gate_id: int, taps: int) -> None:
    from hub.console.web import Console

    console: Console = hub.app.state.console
    with hub.session() as s:
        from hub.models import Gate, Site

        gate = s.get(Gate, gate_id)
        site = s.get(Site, gate.site_id)  # type: ignore[union-attr]
        sim = SimGate(
            host="127.0.0.1", port=hub.settings.mqtt_port, site=site.slug, gate=gate.slug,  # type: ignore[union-attr]
            key=gate_key(s, gate), card_secret=site_card_secret(s, site),  # type: ignore[arg-type]
        )  # fmt: skip
    sim.start()
    times = []
    try:
        for _ in range(taps):
            mark = console.taps.open_window()
            assert hub.mqtt is not None
            hub.mqtt.send_command(gate_id, "enroll", {"seconds": 30}, actor="bench")
            assert sim.wait_command("enroll") and sim.wait_for(lambda: sim.enrolling)
            sim.commands.clear()
            start = time.perf_counter()
            sim.present(b"\x04" + secrets.token_bytes(6))
            while not console.taps.taps(gate_id=gate_id, after=mark):
                if time.perf_counter() - start > 5:
                    raise TimeoutError("no enroll tap within 5 s")
                time.sleep(0.001)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        sim.stop()
        console.taps.close()
    print(f"enroll_tap_p50: {percentile(times, 50):.1f} ms")
    print(f"enroll_tap_p99: {percentile(times, 99):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small club, under 30 s")
    args = parser.parse_args()
    members, per_day, rounds, taps = (500, 100, 10, 10) if args.quick else (5000, 1000, 30, 50)
    print(machine_line())
    with bench_database("console") as (url, backend), tempfile.TemporaryDirectory() as tmp:
        print(f"sizes: backend={backend} members={members} checkins={30 * per_day} rounds={rounds}")
        upgrade(url)
        with Mosquitto(Path(tmp) / "broker") as broker:
            settings = Settings(database_url=url, mqtt_port=broker.port)
            with Hub(settings, clock=SystemClock(), migrate=False) as hub:
                ids = seed(hub, members, per_day)
                client = signed_in(hub, ids["user"])
                page_times(
                    client,
                    {
                        "dashboard": "/console/dashboard",
                        "dashboard_live": "/console/dashboard/live.json",
                        "member_search": "/console/members?q=M+12",
                        "member_page": "/console/members/7",
                        "attendance_report": "/console/reports",
                    },
                    rounds,
                )
                enroll_latency(hub, ids["gate"], taps)


if __name__ == "__main__":
    main()
