"""A site with two gates, a member with a card, and usage plans: check-ins go through
the hub's real ingest (:func:`hub.mqtt.ingest.store_batch`) as gates deliver them."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from gatehouse.clock import ManualClock
from hub.access.keys import gate_key, site_card_secret
from hub.core.config import Settings
from hub.models import AclEntry, UsagePass, UsagePlan, UsageRecord
from hub.mqtt import ingest
from hub.mqtt.registry import GateInfo
from hub.services.gates import provision_gate
from hub.usage.passes import create_plan, sell_pass
from hub.usage.plans import UsagePlanCreate
from protocol import records
from protocol.cardkey import card_key
from protocol.decision import GRANTED
from protocol.mac import MacKey
from tests.hub.factories import Factory


class World:
    """One site (Asia/Bangkok), gates ``a`` and ``b``, one member with one card."""

    def __init__(self, session: Session, clock: ManualClock, settings: Settings) -> None:
        self.session = session
        self.clock = clock
        make = Factory(session, clock)
        self.site = make.site()
        self.door_a = make.door(self.site, "Front door")
        self.door_b = make.door(self.site, "Side door")
        self.gates: dict[str, GateInfo] = {}
        self.sids = {"a": secrets.token_hex(8), "b": secrets.token_hex(8)}
        self.seqs = {"a": 0, "b": 0}
        self.seqs_log: dict[str, list[list[Any]]] = {"a": [], "b": []}  # every check-in made
        for name, door in (("a", self.door_a), ("b", self.door_b)):
            gate, _, _ = provision_gate(session, site=self.site, door=door, slug=f"gate-{name}",
                                        kind="pi", clock=clock, settings=settings)  # fmt: skip
            self.gates[name] = GateInfo(
                id=gate.id or 0, site_id=self.site.id or 0, site=self.site.slug,
                gate=gate.slug, door_id=door.id or 0, zone=0,
                key=MacKey(gate_key(session, gate)),
            )  # fmt: skip
        self.member = make.member()
        self.card = make.card(self.member)
        self.key = card_key(
            site_card_secret(session, self.site), bytes.fromhex(self.card.uid_hex)
        ).hex()
        session.commit()

    def plan(self, **terms: Any) -> UsagePlan:
        terms.setdefault("currency", "THB")
        plan = create_plan(
            self.session, UsagePlanCreate(site_id=self.site.id or 0, **terms), clock=self.clock
        )
        self.session.commit()
        return plan

    def sell(self, plan: UsagePlan) -> UsagePass:
        p = sell_pass(self.session, member_id=self.member.id or 0, plan_id=plan.id or 0,
                      clock=self.clock)  # fmt: skip
        self.session.commit()
        return p

    def entry(self, gate: str, at: datetime, reason: int = GRANTED) -> list[Any]:
        """A check-in the gate made (not yet delivered): ``[seq, ts, key, reason, v, flags]``."""
        self.seqs[gate] += 1
        entry = [self.seqs[gate], int(at.timestamp()), self.key, reason, 1, 0]
        self.seqs_log[gate].append(entry)
        return entry

    def deliver(self, gate: str, entries: list[list[Any]]) -> int:
        """One batch through the hub's ingest, committed; returns the acked seq."""
        high = ingest.store_batch(self.session, gate=self.gates[gate], sid=self.sids[gate],
                                  entries=[tuple(e) for e in entries], clock=self.clock)  # type: ignore[misc]  # fmt: skip
        self.session.commit()
        return high

    def records(self) -> list[UsageRecord]:
        self.session.expire_all()
        return list(self.session.exec(select(UsageRecord).order_by(col(UsageRecord.ts))).all())

    def visits_left(self) -> int:
        """What the member's record on the site's list says is left."""
        self.session.expire_all()
        row = self.session.exec(select(AclEntry.record).where(AclEntry.card_key == self.key)).one()
        return records.visits(bytes.fromhex(row)[15])

    def at(self, hours: float) -> datetime:
        return self.clock.now() + timedelta(hours=hours)
