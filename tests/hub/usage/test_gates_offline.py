"""Acceptance: a Pi gate process and the MicroPython firmware, both cut off from the
broker, admit a 3-visit-pack member twice each; when the partition heals the hub counts
the visits once across the site, applies the overuse rule once, and both gates get the
new count.

The hub runs in-process (MQTT service on a real Mosquitto, SQLite); the Pi gate is
``python -m gatehouse gate run --simulate`` reading UIDs on stdin; the firmware runs on
the micropython VM.  The partition is the broker stopped and started again.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from edge.fwbuild.boards import BOARDS
from edge.fwbuild.gateconfig import firmware_config
from edge.gate.config import dump_config
from edge.gate.provision import config_from_claim
from gatehouse.clock import ManualClock
from gatehouse.services import die_with_parent
from gatehouse.services.firmware import FirmwareProcess
from gatehouse.services.mosquitto import Mosquitto
from hub.core.config import Settings
from hub.migrations import upgrade
from hub.models import CheckIn, InvoiceLineRow, Site, UsageRecord
from hub.runtime import Hub
from hub.services.gates import provision_gate
from hub.usage.invoicing import bill_usage
from hub.usage.metering import set_reentry_window
from hub.usage.passes import create_plan, sell_pass
from hub.usage.plans import UsagePlanCreate
from protocol.records import visits
from tests.edge.gate.helpers import committed
from tests.firmware.conftest import firmware
from tests.hub.factories import Factory

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
UID = "04a1b2c3d4e5f6"


def eventually(
    predicate: Callable[[], Any], timeout: float = 20.0, what: Callable[[], str] = str
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {what()}")
        time.sleep(0.05)


class PiGate:
    """``gatehouse gate run --simulate`` in a subprocess: UIDs in, decision lines out."""

    def __init__(self, config: Path, log: Path) -> None:
        cmd = [sys.executable, "-m", "gatehouse", "gate", "run", "--config", str(config),
               "--simulate"]  # fmt: skip
        self.log = log.open("ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, preexec_fn=die_with_parent)  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.decode().strip())

    def tap(self, uid: str) -> str:
        """Tap *uid*; the reason the gate decided."""
        before = len(self.lines)
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{uid}\n".encode())
        self.proc.stdin.flush()
        line = eventually(
            lambda: next((x for x in self.lines[before:] if x.startswith(f"tap {uid}")), None)
        )
        return line.split()[-1]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        self.log.close()


class Club:
    """The hub with one site, two gates and a member holding a 3-visit pack."""

    def __init__(self, hub: Hub, tmp: Path, reentry_s: int, overuse: str) -> None:
        self.hub = hub
        s = Session(hub.engine, expire_on_commit=False)
        s.info["settings"] = hub.settings
        self.session = s
        make = Factory(s, hub.clock)  # type: ignore[arg-type]
        site = make.site()
        self.site_id = site.id or 0
        member = make.member()
        make.card(member, uid=UID)
        set_reentry_window(s, site_id=self.site_id, seconds=reentry_s, clock=hub.clock)
        plan = create_plan(s, UsagePlanCreate(site_id=self.site_id, name="3 visits",
                                              kind="visit_pack", visits=3, valid_days=30,
                                              overuse=overuse, visit_price_minor=20000),
                           clock=hub.clock)  # type: ignore[arg-type]  # fmt: skip
        sell_pass(s, member_id=member.id or 0, plan_id=plan.id or 0, clock=hub.clock)  # type: ignore[arg-type]
        tokens = {}
        self.gate_ids = {}
        for kind, name in (("pi", "Front door"), ("micropython", "Side door")):
            door = make.door(site, name)
            gate, _, token = provision_gate(s, site=site, door=door, slug=f"gate-{kind[:2]}",
                                            kind=kind, clock=hub.clock,  # type: ignore[arg-type]
                                            settings=hub.settings)  # fmt: skip
            tokens[kind] = token
            self.gate_ids[kind] = gate.id
        s.commit()
        api = TestClient(hub.app)
        claimed = {
            k: api.post("/api/v1/provision/claim", json={"token": t}).json()
            for k, t in tokens.items()
        }
        pi = config_from_claim(claimed["pi"], "http://127.0.0.1:9", str(tmp / "pi.db"))
        pi.decision.debounce_s = 0.0
        pi.mqtt.reconnect_min_s, pi.mqtt.reconnect_max_s, pi.mqtt.resend_s = 0.1, 0.5, 1.0
        self.pi_db = tmp / "pi.db"
        self.pi = PiGate(dump_config(pi, tmp / "pi.toml"), tmp / "pi.log")
        fw = firmware_config(claimed["micropython"], BOARDS["esp32"])
        fw.update(poll_ms=10, reader_ms=100, hold_ms=0, timeout_ms=1000)  # few reader polls: the
        # emulated chip keeps every frame it was sent
        self.fw: FirmwareProcess = firmware(fw, tmp / "fw").start()

    def fw_tap(self, uid: str) -> str:
        """Tap *uid* at the firmware gate; the reason it decided."""
        start = self.fw.mark()
        self.fw.tap(uid)
        line = self.fw.wait_for(f"tap uid={uid}", start=start)
        return dict(part.split("=") for part in line.split()[1:])["reason"]

    def list_version(self) -> int:
        self.session.expire_all()
        site = self.session.get(Site, self.site_id)
        assert site is not None
        return site.list_version

    def pi_visits(self) -> int | None:
        try:
            rows = committed(self.pi_db, "SELECT record FROM access")
        except Exception:
            return None
        return visits(rows[0][0][15]) if rows else None

    def both_synced(self, left: int) -> bool:
        version = self.list_version()
        return self.pi_visits() == left and self.fw.status().get("v") == version

    def describe(self) -> str:
        status = self.fw.status()
        return (
            f"hub v{self.list_version()} pi visits {self.pi_visits()} fw v{status.get('v')}"
            f" fw {status} usage {[(r.gate_id, r.ts) for r in self.usage()]}"
        )

    def usage(self) -> list[UsageRecord]:
        self.session.expire_all()
        return list(self.session.exec(select(UsageRecord).order_by(col(UsageRecord.ts))).all())

    def checkins(self) -> int:
        self.session.expire_all()
        return len(self.session.exec(select(CheckIn.id)).all())

    def sync_clocks(self) -> None:
        """Both gates take the hub's time at once (one clock for the window)."""
        self.hub.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        assert self.hub.mqtt is not None
        mark = self.fw.mark()
        sent = {
            kind: self.hub.mqtt.send_command(gate_id, "time", {"now": self.hub.clock.timestamp()},
                                             actor="test")["n"]
            for kind, gate_id in self.gate_ids.items()
        }  # fmt: skip
        self.fw.wait_for("cmd op=time", start=mark)
        eventually(
            lambda: int(committed(self.pi_db, "SELECT value FROM state WHERE key = 'last_cmd'")
                        [0][0]) == sent["pi"]
        )  # fmt: skip
        time.sleep(0.2)  # the Pi gate saves the command number, then sets its clock

    def close(self) -> None:
        self.pi.stop()
        self.fw.stop()
        self.session.close()


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Hub]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mqtt_port=mosquitto.port, acl_poll_s=0.5)
    with Hub(settings, clock=ManualClock(START)) as running:
        yield running


@pytest.fixture
def club_factory(hub: Hub, tmp_path: Path) -> Iterator[Callable[..., Club]]:
    made: list[Club] = []

    def make(reentry_s: int, overuse: str = "charge") -> Club:
        club = Club(hub, tmp_path, reentry_s, overuse)
        made.append(club)
        eventually(lambda: club.both_synced(3))
        return club

    yield make
    for club in made:
        club.close()


def test_four_offline_visits_of_a_three_pack_count_once_with_one_overuse(
    hub: Hub, mosquitto: Mosquitto, club_factory: Callable[..., Club]
) -> None:
    club = club_factory(reentry_s=0)  # every admitted tap is a visit
    mosquitto.stop()  # both gates (and the hub) are cut off from the broker
    taps = [club.pi.tap(UID), club.pi.tap(UID)]
    taps += [club.fw_tap(UID), club.fw_tap(UID)]
    assert taps == ["granted"] * 4  # each gate had 3 left and counted 2
    assert club.pi_visits() == 3 and club.checkins() == 0
    mosquitto.start()

    eventually(lambda: len(club.usage()) == 4)
    eventually(lambda: club.both_synced(0))  # both gates received "none left"
    rows = club.usage()
    assert [r.overuse for r in rows].count(True) == 1
    assert sum(r.amount_minor for r in rows) == 20000
    assert club.pi.tap(UID) == "no_visits"
    assert club.fw_tap(UID) == "no_visits"

    # the overuse is charged once, on the next usage invoice
    hub.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    bill_usage(engine=hub.engine, settings=hub.settings, clock=hub.clock)  # type: ignore[arg-type]
    bill_usage(engine=hub.engine, settings=hub.settings, clock=hub.clock)  # type: ignore[arg-type]
    club.session.expire_all()
    lines = club.session.exec(select(InvoiceLineRow.description)).all()
    assert len([d for d in lines if "overuse" in d]) == 1
    eventually(lambda: club.checkins() == 6)  # the refusals arrive too, and count nothing
    assert len(club.usage()) == 4


def test_taps_within_the_reentry_window_at_both_gates_are_two_visits(
    hub: Hub, mosquitto: Mosquitto, club_factory: Callable[..., Club]
) -> None:
    club = club_factory(reentry_s=10, overuse="record")
    club.sync_clocks()
    mosquitto.stop()
    t0 = time.monotonic()
    taps = [club.pi.tap(UID), club.fw_tap(UID)]  # one visit, seen by both gates
    time.sleep(max(0.0, 11.5 - (time.monotonic() - t0)))  # past the window
    taps += [club.pi.tap(UID), club.fw_tap(UID)]  # a second visit, both gates
    assert taps == ["granted"] * 4  # neither gate saw the other's entries
    mosquitto.start()

    eventually(lambda: club.checkins() == 4, what=lambda: f"check-ins {club.checkins()}")
    eventually(lambda: club.both_synced(1), what=club.describe)
    rows = club.usage()
    assert len(rows) == 2 and not any(r.overuse for r in rows)
