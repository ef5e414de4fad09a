"""One run of the demo: broker, hub, club, two gate processes, and a month on the clock.

:class:`DemoRun` starts every part, plays the story day by day and stops everything::

    run = DemoRun(DemoOptions(workdir=Path("/tmp/club"), speed=2.0))
    try:
        run.start()          # broker, hub on :8000, club seeded, gates online
        run.play()           # one simulated day every `speed` seconds
    finally:
        run.stop()           # gates, hub, broker: nothing left running
    story.missing(run.journal, run.gate_names)

Each day the manual clock moves on (billing, emails, dunning and the access-list
refresh run as the clock's due hooks), every gate is told the hub's time, and a
scripted stream of members tap their cards.  What the run observes becomes
:class:`~gatehouse.demo.story.Event` rows in :attr:`DemoRun.journal`.

With ``partition`` set, that gate reaches the broker through a
:class:`~gatehouse.services.tcpproxy.PausableProxy` that is cut a few seconds of hub
time before the hero's ``valid_until``: the gate must refuse the hero on its own clock,
then upload every check-in once the relay heals.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gatehouse.clock import ManualClock
from gatehouse.demo import observe, story
from gatehouse.demo.club import Club, seed_club
from gatehouse.demo.gates import FirmwareGate, PiGate, Tap, micropython_available
from gatehouse.demo.pay import pay_by_link
from gatehouse.demo.state import DemoOptions, DemoState
from gatehouse.services.tcpproxy import PausableProxy
from gatehouse.services.web import AppServer
from hub.billing.services import billing_services
from hub.clock.advance import Span, advance_clock
from hub.clock.hooks import DueContext, run_due_work
from hub.clock.manual import store_time
from hub.core.config import Settings
from hub.runtime import Hub

#: Members joined on this day (09:00 in Bangkok); their renewals fall due from Dec 1.
JOINED = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
#: The story's first day.
STORY_START = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
PI_GATE = "front-door"
FW_GATE = "side-door"
#: Hub seconds between cutting the partitioned gate off and the hero's valid_until.
CUT_LEAD_S = 8


class DemoRun:
    """The whole demo; see the module documentation.

    :param on_change: called (from the run's thread) whenever :attr:`state` changed.
    """

    def __init__(self, options: DemoOptions, on_change: Callable[[], None] | None = None) -> None:
        self.options = options
        self.on_change = on_change or (lambda: None)
        self.state = DemoState(days=options.days)
        self.journal = story.Journal(on_event=self._on_event)
        self.clock = ManualClock(JOINED)
        self.rng = random.Random(11)
        self.gates: dict[str, Any] = {}
        self.taps: dict[str, list[Tap]] = {}
        self.club: Club | None = None
        self.hub: Hub | None = None
        self.server: AppServer | None = None
        self.relay: PausableProxy | None = None
        self.broker: Any = None
        self._own_broker = False
        self.cut_at_real: float | None = None
        self.stopping = threading.Event()
        self.outbox = observe.Outbox(options.workdir / "outbox")
        self.services: Any = None

    # -- parts ---------------------------------------------------------------------------
    @property
    def gate_names(self) -> list[str]:
        return list(self.gates)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.options.port}"

    def _on_event(self, event: story.Event) -> None:
        self.state.dunning.append(
            (event.at, event.name + (f": {event.detail}" if event.detail else ""))
        )
        self.on_change()

    def start(self) -> DemoRun:
        """Start the broker, the hub, seed the club and start both gates."""
        opts = self.options
        opts.workdir.mkdir(parents=True, exist_ok=True)
        if opts.broker == "amqtt":
            from gatehouse.services.amqtt_broker import EmbeddedBroker

            self.broker = EmbeddedBroker().start()
            self._own_broker = True
        else:
            self.broker = opts.broker
        settings = Settings(
            database_url=f"sqlite:///{opts.workdir / 'hub.db'}",
            mqtt_port=self.broker.port,
            acl_poll_s=0.2,
            clock="manual",
            public_url=self.url,
            mail_outbox=str(opts.workdir / "outbox"),
            simulated_gateway_path=str(opts.workdir / "gateway.sqlite3"),
        )
        self.hub = Hub(settings, clock=self.clock).start()
        self.server = AppServer(self.hub.app, port=opts.port).start()
        self.services = billing_services(self.hub.app.state)
        use_fw = micropython_available() if opts.firmware is None else opts.firmware
        kinds = {PI_GATE: "pi", FW_GATE: "micropython" if use_fw else "pi"}
        self.club = seed_club(self.hub, gateway=self.services.gateway, clock=self.clock,
                              members=opts.members, gates=kinds)  # fmt: skip
        second_port = None
        if opts.partition:
            self.relay = PausableProxy(self.broker.port).start()
            second_port = self.relay.port
        first = PiGate.provision(self.server.url, self.club.claims[PI_GATE], opts.workdir / PI_GATE)
        kind = FirmwareGate if use_fw else PiGate
        second = kind.provision(self.server.url, self.club.claims[FW_GATE],
                                opts.workdir / FW_GATE, mqtt_port=second_port)  # fmt: skip
        self.gates = {PI_GATE: first, FW_GATE: second}
        self.taps = {name: [] for name in self.gates}
        # The month before the story: first invoices charged, nothing else falls due.
        self.clock.set(STORY_START)
        store_time(self.hub.engine, STORY_START)
        run_due_work(DueContext(self.hub.engine, settings, self.clock, self.services))
        self.journal.add("hub ready", at=self.clock.now(), detail=self.url)
        for gate in self.gates.values():
            gate.start()
        version = self._site_version()
        for name, gate in self.gates.items():
            gate.wait_version(version, timeout=30)
            self.state.gates[name] = f"{gate.kind}, list v{version}"
        self.journal.add("gates online", at=self.clock.now(), detail=", ".join(self.gates))
        self._tell_time()
        return self

    def stop(self) -> None:
        """Stop the gates, the hub, the web server and the broker (each once)."""
        self.stopping.set()
        for gate in self.gates.values():
            gate.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.hub is not None:
            self.hub.stop()
            self.hub = None
        if self._own_broker and self.broker is not None:
            self.broker.stop()
            self.broker = None

    # -- the hub's side ------------------------------------------------------------------
    def _session(self) -> Any:
        assert self.hub is not None
        return self.hub.session()

    def _site_version(self) -> int:
        assert self.club is not None
        with self._session() as s:
            return observe.list_version(s, self.club.site_id)

    def _online(self) -> dict[str, Any]:
        cut = self.relay is not None and self.relay.is_cut
        return {n: g for n, g in self.gates.items() if not (cut and n == FW_GATE)}

    def _tell_time(self) -> None:
        """Send the hub's time to every reachable gate and wait until each applied it."""
        assert self.hub is not None and self.hub.mqtt is not None and self.club is not None
        for name, gate in self._online().items():
            now = {"now": self.clock.timestamp()}
            body = self.hub.mqtt.send_command(self.club.gate_ids[name], "time", now, actor="demo")
            gate.wait_time(body["n"])

    def _sync_gates(self, timeout: float = 15.0) -> None:
        version = self._site_version()
        for name, gate in self._online().items():
            gate.wait_version(version, timeout=timeout)
            self.state.gates[name] = f"{gate.kind}, list v{version}"
        self._tell_time()

    def _advance_to(self, when: datetime) -> None:
        assert self.hub is not None
        span = when - self.clock.now()
        if span > timedelta(0):
            advance_clock(engine=self.hub.engine, settings=self.hub.settings, clock=self.clock,
                          by=Span(span), services=self.services)  # fmt: skip
        self.state.now = self.clock.now()
        self._sync_gates()

    # -- what the run observes -----------------------------------------------------------
    def _observe(self) -> None:
        assert self.club is not None
        hero = self.club.hero
        now = self.clock.now()
        with self._session() as s:
            case = observe.dunning_case(s, member_id=hero.id)
            status = observe.subscription_status(s, hero.subscription_id)
            counts = observe.status_counts(s)
        self.state.subscriptions = counts["subscriptions"]
        self.state.invoices = counts["invoices"]
        self.state.cases = counts["cases"]
        if case is not None:
            self.journal.add("renewal failed", at=case.failed_at,
                             detail=f"{hero.name}: {case.last_decline or 'declined'}")  # fmt: skip
        if status == "suspended":
            self.journal.add("suspended", at=now, detail=f"{hero.name}'s subscription")
        for address, subject in self.outbox.read_new():
            self.state.mail.append((now, address, subject))
            if address == hero.email and subject.lower().startswith("reminder"):
                self.journal.add("reminder sent", at=now, detail=subject)
        del self.state.mail[:-50]

    # -- taps ----------------------------------------------------------------------------
    def tap(self, gate_name: str, uid: str) -> Tap:
        """Tap card *uid* at *gate_name*; record the decision and what it means."""
        assert self.club is not None
        tap = self.gates[gate_name].tap(uid)
        self.taps[gate_name].append(tap)
        member = self.club.by_uid(uid)
        who = member.name if member else uid
        now = self.clock.now()
        self.state.taps.append((now, tap, who))
        del self.state.taps[:-200]
        if member is not None and member.id == self.club.hero.id:
            self._hero_tap(gate_name, tap, now)
        self.on_change()
        return tap

    def _hero_tap(self, gate: str, tap: Tap, now: datetime) -> None:
        j = self.journal
        cut = self.relay is not None and self.relay.is_cut and gate == FW_GATE
        if tap.allow and not j.has("renewal failed"):
            j.add(f"admitted at {gate}", at=now)
        elif cut and not tap.allow:
            j.add(f"denied offline at {gate}", at=now, detail=f"{tap.reason} on its own clock")
        elif not tap.allow and j.has("renewal failed") and not j.has("paid") and not cut:
            # A refusal once grace ran out stands until one after the suspension is seen.
            denied, suspended = j.first(f"denied at {gate}"), j.first("suspended")
            if denied is None or (suspended is not None and denied.at < suspended.at):
                j.replace(f"denied at {gate}", at=now, detail=tap.reason)
        elif tap.allow and j.has("paid"):
            j.add(f"admitted again at {gate}", at=now)

    def _crowd(self) -> None:
        assert self.club is not None
        for _ in range(self.options.taps_per_day):
            member = self.rng.choice(self.club.members[1:])
            self.tap(self.rng.choice(self.gate_names), member.uid)

    # -- the story -----------------------------------------------------------------------
    def play(self) -> None:
        """Play the story day by day (see the module documentation)."""
        assert self.club is not None
        hero = self.club.hero
        healed_day: int | None = None
        paid_day: int | None = None
        for day in range(self.options.days):
            if self.stopping.is_set():
                return
            started = time.monotonic()
            self.state.day = day
            self._maybe_cut(day)
            self._advance_to(STORY_START + timedelta(days=day))
            self._observe()
            if self.relay is not None and self.relay.is_cut and self._ready_to_heal(day):
                self.relay.heal()
                self._sync_gates(timeout=90)  # its reconnect backoff has grown while cut
                self.journal.add("reconnected", at=self.clock.now(), detail=f"{FW_GATE} caught up")
                healed_day = day
            for name in self.gate_names:
                if name == FW_GATE and self.cut_at_real is not None and self.relay.is_cut:  # type: ignore[union-attr]
                    self._wait_offline_clock()
                self.tap(name, hero.uid)
            self._crowd()
            if paid_day is None and self._ready_to_pay(day, healed_day):
                outbox = self.options.workdir / "outbox"
                gateway = self.services.gateway
                detail = pay_by_link(hub=self.hub, clock=self.clock, gateway=gateway,
                                     outbox=outbox, address=hero.email)  # fmt: skip
                self.journal.add("payment sent", at=self.clock.now(), detail=detail)
                if self._paid_up(hero.id):
                    self.journal.add("paid", at=self.clock.now(), detail=detail)
                paid_day = day
                self._sync_gates()
                for name in self.gate_names:
                    self.tap(name, hero.uid)
            self._observe()
            self.on_change()
            pause = self.options.speed - (time.monotonic() - started)
            if pause > 0 and self.stopping.wait(pause):
                return
        self.state.now = self.clock.now()
        self._check_stored()

    def _paid_up(self, member_id: int) -> bool:
        with self._session() as s:
            return observe.nothing_open(s, member_id=member_id)

    def _ready_to_heal(self, day: int) -> bool:
        suspended = self.journal.first("suspended")
        return (suspended is not None and self.clock.now() > suspended.at) or day >= 12

    def _ready_to_pay(self, day: int, healed_day: int | None) -> bool:
        if self.relay is not None and healed_day is None:
            return False
        suspended = self.journal.first("suspended")
        if suspended is not None:
            return self.clock.now() - suspended.at >= timedelta(days=1)
        return day >= 12

    def _maybe_cut(self, day: int) -> None:
        """Cut the second gate off a few hub seconds before the hero's valid_until."""
        if self.relay is None or self.cut_at_real is not None:
            return
        with self._session() as s:
            until = observe.valid_until(s, self.club.hero.subscription_id)  # type: ignore[union-attr]
        if until is None or not self.journal.has("renewal failed"):
            return
        if STORY_START + timedelta(days=day) < until:
            return
        self._advance_to(until - timedelta(seconds=CUT_LEAD_S))
        self.tap(FW_GATE, self.club.hero.uid)  # type: ignore[union-attr]
        self.relay.cut()
        self.cut_at_real = time.monotonic()
        self.journal.add("cut off from the broker", at=self.clock.now(), detail=FW_GATE)

    def _wait_offline_clock(self) -> None:
        """Let the cut-off gate's own clock pass the hero's valid_until (real seconds)."""
        assert self.cut_at_real is not None
        left = self.cut_at_real + CUT_LEAD_S + 1.5 - time.monotonic()
        if left > 0:
            self.stopping.wait(left)

    def _check_stored(self, timeout: float = 30.0) -> None:
        """Record, per gate, that every decision is stored exactly once."""
        assert self.club is not None
        deadline = time.monotonic() + timeout
        for name, taps in self.taps.items():
            gate_id = self.club.gate_ids[name]
            wanted = sorted(t.seq for t in taps)
            while True:
                with self._session() as s:
                    got = observe.stored_seqs(s, gate_id)
                if got == wanted or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            if got == wanted:
                self.journal.add(f"check-ins stored once at {name}", at=self.clock.now(),
                                 detail=f"{len(got)} check-ins")  # fmt: skip
            else:
                extra = len(got) - len(set(got))
                self.state.dunning.append(
                    (self.clock.now(), f"{name}: stored {len(got)} of {len(wanted)}"
                     f" ({extra} duplicates)")
                )  # fmt: skip

    def missing(self) -> list[str]:
        """What the story expected and the run did not show (empty: the story held)."""
        extra = []
        if self.options.partition:
            extra = [
                ("cut off from the broker", "the second gate loses the broker before suspension"),
                (f"denied offline at {FW_GATE}", "it refuses the hero on its own clock"),
                ("reconnected", "the relay heals and the gate catches up"),
            ]
        return story.missing(self.journal, self.gate_names, extra=extra)
