"""Dunning through the hub's database on the manual clock, with a real SMTP server.

A renewal declines at 22:00 in Bangkok; reminders go on the policy's days but never in
the night (they wait for 08:00); the member saves a second card and the next retry
charges it; the case closes and nothing more is sent. The emails are read back from the
SMTP server process: Thai, the right amount, and a pay link that verifies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlmodel import select

from gatehouse.clock import ManualClock
from gatehouse.services.smtp import SmtpServer
from hub.app import create_app
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.dunning.links import pay_links, tracker
from hub.dunning.mailer import SmtpMailer
from hub.dunning.paylink import PayLinks
from hub.dunning.policy import QuietHours
from hub.dunning.timing import in_quiet_hours
from hub.models import (
    ActionStatus,
    DunningAction,
    DunningCase,
    DunningMessage,
    Invoice,
    InvoiceStatus,
    Subscription,
)
from tests.hub.dunning.club import PAYS_TOO, Club, body_text, dunning_mail

BANGKOK = ZoneInfo("Asia/Bangkok")
# 22:00 in Bangkok: the renewal a month later fails in the members' quiet hours.
EVENING = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def settings_for(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        mqtt_enabled=False,
        clock="manual",
        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"),
        mail_outbox=str(tmp_path / "outbox"),
        sms_outbox=str(tmp_path / "sms"),
        mail_from="Lumpini Gym <billing@lumpini.example>",
    )


def test_reminders_keep_quiet_hours_and_a_second_card_pays(
    db_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    clock = ManualClock(EVENING)
    settings = settings_for(db_url, tmp_path)
    engine = make_engine(db_url)
    mailer = SmtpMailer("127.0.0.1", smtp_server.port, sender=settings.mail_from, timeout=5)
    club = Club(engine, settings, clock, tmp_path, mailer)
    try:
        member, sub = club.failing_member()
        club.advance(days=31)  # the renewal on 1 January, 22:00 in Bangkok, declines
        with club.session() as s:
            (case,) = s.exec(select(DunningCase)).all()
        assert case.failed_at == clock.now() and case.last_decline == "insufficient_funds"
        assert club.get(Subscription, sub.id or 0).status == "past_due"

        sent_at: dict[str, datetime] = {}  # dunning key -> clock time it reached the server

        def play(hours: int) -> None:
            for _ in range(hours):
                club.advance(step=HOUR, hours=1)
                for message in dunning_mail(smtp_server.messages()):
                    sent_at.setdefault(str(message["X-Gatehouse-Key"]), clock.now())

        play(9)  # until 07:00: the night is quiet
        assert sent_at == {}
        play(1)  # 08:00: the day-0 email
        assert list(sent_at) == [f"dunning:{case.id}:0:send_message"]

        play(24 * 3)  # day 3: retries on days 1 and 3 declined, the polite reminder at 08:00
        assert len(sent_at) == 2
        club.add_card(member, PAYS_TOO)  # the member saves a second card on day 4, 08:00
        play(1)  # the retry in progress charges it at the worker's next pass
        with club.session() as s:
            case = s.get(DunningCase, case.id)
            assert case is not None and case.status == "closed" and case.closed_reason == "paid"
            invoice = s.get(Invoice, case.invoice_id)
            assert invoice is not None and invoice.status == InvoiceStatus.PAID.value
            retries = s.exec(
                select(DunningAction).where(DunningAction.kind == "retry_charge")
            ).all()
        # policy steps 1 and 2 are the retries of days 1 and 3; a retry step tries each
        # saved method, so the card saved since is charged by the first one
        assert [(r.step, r.outcome) for r in retries] == [
            ("1", "declined"), ("2", "declined"), ("1", "succeeded"),
        ]  # fmt: skip
        assert retries[-1].method_id != retries[0].method_id  # the second card
        assert club.get(Subscription, sub.id or 0).status == "active"

        club.advance(days=10)  # nothing more: no firm reminder, no suspension notice
        mails = dunning_mail(smtp_server.messages())
        assert len(mails) == 2 == len(sent_at)
        quiet = QuietHours()
        for key, at in sent_at.items():
            assert not in_quiet_hours(at, BANGKOK, quiet), (key, at.astimezone(BANGKOK))
            assert at.astimezone(BANGKOK).hour == 8
        with club.session() as s:
            assert s.exec(select(DunningAction).where(
                DunningAction.status != ActionStatus.DONE.value)).all() == []  # fmt: skip
            recorded = s.exec(select(DunningMessage).order_by(DunningMessage.id)).all()
        assert [(m.template, m.tone, m.language) for m in recorded] == [
            ("payment_failed", "polite", "th"), ("reminder", "polite", "th"),
        ]  # fmt: skip

        # The emails: Thai, the amount in baht, and a tracked pay link that works.
        first, second = mails
        assert "1,070.00 บาท" in str(first["Subject"]) + body_text(first)
        assert "แจ้งเตือน" in str(second["Subject"])
        assert "เรียน คุณMember" in body_text(second)
        link = next(w for w in body_text(second).split() if "/t/c/" in w)
        click = tracker(settings).click_event(link.rsplit("/", 1)[-1])
        claims = pay_links(settings).verify(PayLinks.token_from_url(click.target), now=clock.now())
        assert (claims.member_id, claims.invoice_id) == (str(member.id), str(case.invoice_id))
        app = create_app(settings, clock=clock, engine=engine)
        with TestClient(app, follow_redirects=False) as web:
            answer = web.get(link.replace(settings.public_url, ""))
            assert answer.status_code == 302 and answer.headers["location"] == click.target
            assert web.get("/t/c/forged.token").status_code == 404
        with club.session() as s:
            clicked = s.exec(select(DunningMessage).where(DunningMessage.step == "3")).one()
            assert clicked.clicked_at == clock.now() and clicked.opened_at == clock.now()
    finally:
        club.gateway.close()
        engine.dispose()
