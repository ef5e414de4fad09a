"""The system under fault: PostgreSQL, Mosquitto, a hub process, gates, members.

:class:`FaultWorld` starts a throwaway PostgreSQL database, a Mosquitto with
persistence and one hub process (``gatehouse hub serve`` on the manual clock kept in
the database), and offers what each fault row needs: gates provisioned with a
``gate.toml``, cards with a known ``valid_until``, and :meth:`FaultWorld.audit`, which
compares what every gate printed with what the hub stored::

    world = FaultWorld(tmp_path).start()
    gate = world.gate("kill-hub")
    cards = world.cards(10, valid_days=30)
    tap = gate.process.tap(cards[0], expect_allow=True)
    world.hub.kill(); world.hub.start()
    counts = world.audit(gate)        # lost, duplicated, wrong unlocks ...
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from edge.gate.config import (
    DecisionSection,
    GateConfig,
    GateSection,
    MqttSection,
    ReaderSection,
    StoreSection,
    dump_config,
)
from gatehouse.services import postgres
from gatehouse.services.mosquitto import Mosquitto
from hub.access.changes import access_changed
from hub.access.keys import gate_key, site_card_secret
from hub.clock.manual import DatabaseClock
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.migrations import upgrade
from hub.models import Card, CheckIn, Door, Entitlement, Gate, Member, Site
from hub.models.site import SiteCreate
from hub.services.gates import provision_gate
from hub.services.sites import create_site
from protocol.cardkey import card_key
from tests.faults.procs import GateProcess, HubProcess, Tap, eventually

_uids = itertools.count(1)
#: Settings every fault test's gates run with: production defaults but a 3 s resend.
GATE_RESEND_S = 3.0


def new_uid() -> bytes:
    """A card UID no other tap of this run uses (7 bytes, like an NTAG)."""
    return (
        bytes.fromhex("05")
        + (os.getpid() % 65536).to_bytes(2, "big")
        + next(_uids).to_bytes(4, "big")
    )


@dataclass
class FaultGate:
    """A provisioned gate, its config file and (once started) its process."""

    id: int
    slug: str
    config_path: Path
    store_path: Path
    card_secret: bytes
    process: GateProcess
    history: list[GateProcess] = field(default_factory=list)

    def taps(self) -> list[Tap]:
        """Every tap presented to this gate, over all its processes."""
        out: list[Tap] = []
        for proc in [*self.history, self.process]:
            out += proc.taps.values()
        return out

    def printed(self) -> list[Tap]:
        return [t for t in self.taps() if t.seq is not None]

    def restart(self) -> GateProcess:
        """A new process on the same config and store (after a kill)."""
        old = self.process
        self.history.append(old)
        self.process = GateProcess(old.config, old.log, old.clock_file, old.wrap, old.extra_env)
        return self.process

    def list_version(self) -> int:
        """The access-list version committed in the gate's store."""
        try:
            con = sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True, timeout=1)
            try:
                row = con.execute("SELECT value FROM state WHERE key = 'version'").fetchone()
            finally:
                con.close()
            return int(row[0]) if row else 0
        except sqlite3.Error:
            return 0


@dataclass
class Audit:
    """What one fault row did to check-ins and doors."""

    checkins: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_unlocks: int = 0
    wrong_denials: int = 0
    not_recorded: int = 0


class FaultWorld:
    """PostgreSQL + Mosquitto + a hub process, and the club they serve.

    :param workdir: a folder for logs, configs and gate stores.
    :param hub_env: extra ``GATEHOUSE_*`` settings for the hub process.
    """

    def __init__(self, workdir: Path, hub_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.url = ""
        self.broker = Mosquitto(workdir / "broker", persistence=True)
        self.hub_env = hub_env or {}
        self.hubs: list[HubProcess] = []
        self.engine = None
        self.settings: Settings | None = None
        self.clock: DatabaseClock | None = None
        self.site_id = 0
        self.door_id = 0
        self.valid_until: dict[bytes, int] = {}

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, replicas: int = 1) -> FaultWorld:
        self.url = postgres.create_database("gh_fault")
        upgrade(self.url)
        self.engine = make_engine(self.url)
        self.broker.start()
        self.settings = Settings(database_url=self.url, mqtt_port=self.broker.port)
        start = datetime.now(UTC).replace(microsecond=0)
        self.clock = DatabaseClock(self.engine, start=start)  # type: ignore[arg-type]
        with self.session() as s:
            site = create_site(s, data=SiteCreate(slug="club1", name="Club 1"), clock=self.clock)
            door = Door(site_id=site.id or 0, name="Front door", zone=0)
            s.add(door)
            s.commit()
            self.site_id, self.door_id = site.id or 0, door.id or 0
        env = {
            "GATEHOUSE_DATABASE_URL": self.url,
            "GATEHOUSE_MQTT_PORT": str(self.broker.port),
            "GATEHOUSE_CLOCK": "manual",
            "GATEHOUSE_ACL_POLL_S": "0.5",
            "GATEHOUSE_SIMULATED_GATEWAY_PATH": str(self.workdir / "gateway.sqlite3"),
            "GATEHOUSE_MAIL_OUTBOX": str(self.workdir / "outbox"),
            **self.hub_env,
        }
        if replicas > 1:
            env.setdefault("GATEHOUSE_MQTT_SHARE_GROUP", "hub")
        self.hubs = [HubProcess(env, self.workdir, f"hub-{i + 1}") for i in range(replicas)]
        for hub in self.hubs:
            hub.start()
        return self

    @property
    def hub(self) -> HubProcess:
        return self.hubs[0]

    def close(self) -> None:
        for hub in self.hubs:
            with contextlib.suppress(Exception):
                hub.kill()
        with contextlib.suppress(Exception):
            self.broker.stop()
        if self.engine is not None:
            self.engine.dispose()  # type: ignore[attr-defined]
        if self.url:
            with contextlib.suppress(Exception):
                postgres.drop_database(self.url)

    def session(self) -> Session:
        s = Session(self.engine, expire_on_commit=False)  # type: ignore[arg-type]
        s.info["settings"] = self.settings
        return s

    def ensure_running(self) -> None:
        """Bring back whatever a previous row left stopped."""
        if not self.broker.running:
            self.broker.start()
        for hub in self.hubs:
            if not hub.running:
                hub.start()

    # -- time ---------------------------------------------------------------------------
    def now(self) -> int:
        """The hub's time (the true time of the simulated world).

        Read again if the database drops the connection (a fault row may be killing
        every connection to it)."""
        assert self.clock is not None
        for attempt in range(20):
            try:
                return self.clock.timestamp()
            except OperationalError:
                if attempt == 19:
                    raise
                time.sleep(0.1)
        raise AssertionError("unreachable")

    def advance(self, **kwargs: float) -> None:
        assert self.clock is not None
        self.clock.advance(timedelta(**kwargs))

    # -- cards and gates ------------------------------------------------------------------
    def cards(self, count: int, valid_days: float) -> list[bytes]:
        """*count* members with one card each, admitted until now + *valid_days*."""
        assert self.clock is not None
        now = self.clock.now()
        until = now + timedelta(days=valid_days)
        uids = [new_uid() for _ in range(count)]
        with self.session() as s:
            base = secrets.randbelow(10**9)
            rows = [
                {"first_name": "F", "last_name": f"{base}-{i}",
                 "email": f"f{base}-{i}@fault.example", "status": "active",
                 "created_at": now, "updated_at": now}
                for i in range(count)
            ]  # fmt: skip
            ids = list(s.execute(insert(Member).returning(Member.id), rows).scalars())  # type: ignore[attr-defined]
            s.execute(
                insert(Card),
                [{"member_id": m, "uid_hex": u.hex(), "active": True, "created_at": now}
                 for m, u in zip(ids, uids, strict=True)],
            )  # fmt: skip
            s.execute(
                insert(Entitlement),
                [{"member_id": m, "site_id": self.site_id, "zones": 1,
                  "valid_from": now - timedelta(days=400), "valid_until": until,
                  "source": "manual", "flags": 0, "created_at": now, "updated_at": now}
                 for m in ids],
            )  # fmt: skip
            access_changed(s, site_id=self.site_id, reason="fault test", clock=self.clock,
                           member_ids=ids)  # fmt: skip
            s.commit()
        for u in uids:
            self.valid_until[u] = int(until.timestamp())
        return uids

    def list_version(self) -> int:
        with self.session() as s:
            return s.exec(select(Site.list_version).where(Site.id == self.site_id)).one()

    def expect(self, uid: bytes, at: int | None = None) -> bool:
        """Should the door open for *uid* at the hub's time (or at *at*)?"""
        return (self.now() if at is None else at) < self.valid_until.get(uid, 0)

    def gate(
        self,
        slug: str,
        *,
        clock_file: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        wrap: object = None,
        store_dir: Path | None = None,
        **mqtt: object,
    ) -> FaultGate:
        """Provision gate *slug* at the club's door and write its ``gate.toml``."""
        assert self.settings is not None and self.clock is not None
        with self.session() as s:
            site = s.get(Site, self.site_id)
            door = s.get(Door, self.door_id)
            assert site is not None and door is not None
            row, _, _ = provision_gate(s, site=site, door=door, slug=slug, kind="pi",
                                       clock=self.clock, settings=self.settings)  # fmt: skip
            s.commit()
            key, secret = gate_key(s, row), site_card_secret(s, site)
        folder = self.workdir / slug
        folder.mkdir(parents=True, exist_ok=True)
        store = (store_dir or folder) / "gate.db"
        config = GateConfig(
            gate=GateSection(site="club1", gate=slug, door="Front door", zone=0,
                             gate_key=key.hex(), card_secret=secret.hex()),
            mqtt=MqttSection(host=host, port=port or self.broker.port,
                             resend_s=GATE_RESEND_S, reconnect_max_s=5.0,
                             **mqtt),  # type: ignore[arg-type]
            store=StoreSection(path=str(store)),
            reader=ReaderSection(backend="scripted", poll_ms=5),
            decision=DecisionSection(debounce_s=0.0),
        )  # fmt: skip
        path = dump_config(config, folder / "gate.toml")
        if clock_file is not None and not clock_file.exists():
            set_gate_clock(clock_file, wall=0, elapsed=0)
        proc = GateProcess(path, folder / "gate.log", clock_file, wrap)
        return FaultGate(row.id or 0, slug, path, store, secret, proc)

    def wait_list(self, gate: FaultGate, timeout: float = 30.0) -> bool:
        """Wait until *gate* holds the site's current list."""
        want = self.list_version()
        return eventually(lambda: gate.list_version() >= want, timeout) is not None

    # -- checking -------------------------------------------------------------------------
    def stored(self, gate: FaultGate) -> list[tuple[str, bool, str, int]]:
        """``(card_key, allowed, store_id, seq)`` of every check-in stored for *gate*."""
        with self.session() as s:
            rows = s.exec(
                select(CheckIn.card_key, CheckIn.allowed, CheckIn.store_id, CheckIn.seq).where(
                    CheckIn.gate_id == gate.id
                )
            ).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def wait_stored(self, gate: FaultGate, taps: list[Tap], timeout: float = 60.0) -> float | None:
        """Seconds until every printed tap in *taps* is stored by the hub (or ``None``)."""
        keys = {card_key(gate.card_secret, t.uid).hex() for t in taps if t.seq is not None}

        def done() -> bool:
            return keys <= {r[0] for r in self.stored(gate)}

        return eventually(done, timeout, step=0.1)

    def missing(self, gate: FaultGate) -> str:
        """Why a gate's printed check-ins are not all stored: for a failure message."""
        stored = self.stored(gate)
        keys = {r[0] for r in stored}
        lost = sorted(t.seq or 0 for t in gate.printed()
                      if card_key(gate.card_secret, t.uid).hex() not in keys)  # fmt: skip
        try:
            con = sqlite3.connect(f"file:{gate.store_path}?mode=ro", uri=True, timeout=1)
            state = dict(con.execute("SELECT key, value FROM state").fetchall())
            outbox = con.execute("SELECT min(seq), max(seq), count(*) FROM outbox").fetchone()
            con.close()
        except sqlite3.Error as err:
            state, outbox = {"error": str(err)}, None
        seqs = sorted(r[3] for r in stored)
        alive = gate.process.proc is not None and gate.process.proc.poll() is None
        return (f"{gate.slug}: {len(lost)} printed not stored (seqs {lost[:10]}...), "
                f"hub has {len(seqs)} rows up to seq {seqs[-1] if seqs else 0}; gate acked="
                f"{state.get('acked')} outbox(min,max,n)={outbox}; "
                f"process alive={alive}")  # fmt: skip

    def audit(self, gate: FaultGate) -> Audit:
        """Compare every tap the gate printed with what the hub stored.

        * lost: printed (so committed at the gate) but not stored at the hub;
        * duplicated: one tap stored more than once (every tap uses its own card);
        * wrong unlock: the door opened (printed, or stored as allowed) for a card that
          was not admitted at that moment;
        * wrong denial: refused although admitted (reported; not a safety fault).
        """
        rows = self.stored(gate)
        by_key = Counter(r[0] for r in rows)
        allowed_keys = {r[0] for r in rows if r[1]}
        taps = gate.taps()
        key_of = {card_key(gate.card_secret, t.uid).hex(): t for t in taps}
        a = Audit(checkins=len(rows))
        for key, tap in key_of.items():
            if tap.seq is not None and key not in by_key:
                a.lost += 1
            opened = tap.allowed or key in allowed_keys
            if opened and not tap.expect_allow:
                a.wrong_unlocks += 1
            if tap.allowed is False and tap.expect_allow:
                a.wrong_denials += 1
            a.not_recorded += tap.not_recorded
        a.duplicated = sum(n - 1 for n in by_key.values() if n > 1)
        a.duplicated += len(rows) - len({(r[2], r[3]) for r in rows})
        return a


def set_gate_clock(path: Path, *, wall: float, elapsed: float) -> None:
    """Set a skewed-clock gate's offsets (seconds) atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"wall": wall, "elapsed": elapsed}))
    os.replace(tmp, path)


def gates_of(world: FaultWorld) -> list[int]:
    with world.session() as s:
        return [g for g in s.exec(select(Gate.id)).all() if g is not None]
