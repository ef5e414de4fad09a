"""Suspension reaches a real gate, and paying through the pay link opens it again.

The hub's MQTT service and a protocol-level gate (``SimGate``: the real wire protocol,
list format and decision function) talk through a real Mosquitto. A member's renewal
declines and every retry fails; on the policy's day 7 the worker suspends them and the
gate refuses the card within a second. The member pays through the link in the
suspension email (the function the portal calls) and the gate admits them again within
a second.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from gatehouse.clock import ManualClock
from gatehouse.services.mosquitto import Mosquitto
from gatehouse.sim.gates import SimGate
from hub.access.keys import gate_key, site_card_secret
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.dunning.links import tracker
from hub.dunning.mailer import FolderMailer
from hub.dunning.paylink import PayLinks
from hub.dunning.payments import pay_open_invoice
from hub.models import Card, DunningCase, DunningMessage, Subscription
from hub.models.site import Door
from hub.mqtt.service import HubMqtt
from hub.services.gates import provision_gate
from protocol.decision import EXPIRED, GRANTED
from tests.hub.dunning.club import PAYS, Club, body_text, parse_eml

AFTERNOON = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 16:00 in Bangkok


def test_suspended_on_day_seven_refused_at_the_door_and_admitted_after_paying(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    clock = ManualClock(AFTERNOON)
    settings = Settings(
        database_url=db_url, mqtt_port=mosquitto.port, acl_poll_s=0.5, clock="manual",
        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"),
        sms_outbox=str(tmp_path / "sms"),
    )  # fmt: skip
    engine = make_engine(db_url)
    mailer = FolderMailer(tmp_path / "outbox", sender="Lumpini Gym <billing@lumpini.example>")
    club = Club(engine, settings, clock, tmp_path, mailer, language="en", grace_days=10)
    service = HubMqtt(engine=engine, settings=settings, clock=clock).start()
    gate = None
    try:
        with club.session() as s:
            door = Door(site_id=club.club.id or 0, name="Front door", zone=0)
            s.add(door)
            s.flush()
            row, _, _ = provision_gate(s, site=club.club, door=door, slug="front-door",
                                       kind="pi", clock=clock, settings=settings)  # fmt: skip
            s.commit()
            key, secret = gate_key(s, row), site_card_secret(s, club.club)
        gate = SimGate(host="127.0.0.1", port=mosquitto.port, site=club.club.slug,
                       gate="front-door", key=key, card_secret=secret,
                       now=clock.timestamp).start()  # fmt: skip
        member, sub = club.failing_member()
        with club.session() as s:
            uid = bytes.fromhex(s.exec(select(Card.uid_hex)).one())
        assert gate.wait_for(lambda: gate.tap(uid)[0], timeout=2)

        club.advance(days=31 + 6)  # renewal declined on 1 January; day 6: still in
        with club.session() as s:
            (case,) = s.exec(select(DunningCase)).all()
        assert case.status == "open" and club.get(Subscription, sub.id or 0).status == "past_due"
        assert gate.tap(uid) == (True, GRANTED)

        start = time.monotonic()  # the whole clock step is counted: billing, dunning, push
        club.advance(days=1)  # day 7: the last retry declines, access is suspended
        assert club.get(Subscription, sub.id or 0).status == "suspended"
        assert gate.wait_for(lambda: gate.tap(uid) == (False, EXPIRED), timeout=1.0)
        refused_after = time.monotonic() - start
        assert refused_after < 1.0

        # The suspension email's pay link, paid with a new card.
        with club.session() as s:
            notice = s.exec(
                select(DunningMessage).where(DunningMessage.template == "suspended")
            ).one()
        mail = parse_eml(mailer.path_for(notice.key))
        link = next(w for w in body_text(mail).split() if "/t/c/" in w)
        target = tracker(settings).click_event(link.rsplit("/", 1)[-1]).target
        paid_at = time.monotonic()
        result = pay_open_invoice(
            engine=engine, settings=settings, clock=clock, gateway=club.gateway,
            token=PayLinks.token_from_url(target), card_source=PAYS, request_key="form-1",
        )  # fmt: skip
        assert result.paid and result.status == "paid"
        assert gate.wait_for(lambda: gate.tap(uid) == (True, GRANTED), timeout=1.0)
        admitted_after = time.monotonic() - paid_at
        assert admitted_after < 1.0
        print(f"refused_after_s: {refused_after:.3f}\nadmitted_after_s: {admitted_after:.3f}")

        with club.session() as s:
            case = s.get(DunningCase, case.id)
            assert case is not None and case.status == "closed" and case.closed_reason == "paid"
        assert club.get(Subscription, sub.id or 0).status == "active"
        before = len(list((tmp_path / "outbox").glob("*.eml")))
        club.advance(days=14)  # no collections, no cancellation, no more mail
        with club.session() as s:
            assert s.exec(select(DunningMessage).where(DunningMessage.step == "12")).all() == []
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == before
        assert gate.tap(uid) == (True, GRANTED)
    finally:
        if gate is not None:
            gate.stop(graceful=False)
        service.stop()
        club.gateway.close()
        engine.dispose()
