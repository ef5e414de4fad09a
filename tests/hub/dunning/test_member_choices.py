"""What the member chose reaches dunning: the language they picked in the portal, and an
unsubscribe from reminders (which never stops the notices the law requires).

Mail goes to a real SMTP server process and is read back from it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from gatehouse.clock import ManualClock
from gatehouse.services.smtp import SmtpServer
from hub.app import create_app
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.dunning.links import unsubscribes
from hub.dunning.mailer import SmtpMailer
from hub.models import DunningAction, DunningMessage, Member
from tests.hub.dunning.club import Club, body_text, dunning_mail

AFTERNOON = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 16:00 in Bangkok
THAI = re.compile(r"[\u0e01-\u0e3a\u0e40-\u0e5b]")  # Thai letters (not the baht sign)


def make_club(db_url: str, tmp_path: Path, smtp: SmtpServer) -> Club:
    settings = Settings(
        database_url=db_url, mqtt_enabled=False, clock="manual",
        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"),
        sms_outbox=str(tmp_path / "sms"), mail_from="Lumpini Gym <billing@lumpini.example>",
    )  # fmt: skip
    mailer = SmtpMailer("127.0.0.1", smtp.port, sender=settings.mail_from, timeout=5)
    # The club bills in Thai.
    return Club(make_engine(db_url), settings, ManualClock(AFTERNOON), tmp_path, mailer,
                language="th")  # fmt: skip


def set_language(club: Club, member: Member, language: str | None) -> None:
    with club.session() as s:
        row = s.get(Member, member.id)
        assert row is not None
        row.language = language
        s.add(row)
        s.commit()


def by_recipient(smtp: SmtpServer) -> dict[str, list]:
    found: dict[str, list] = {}
    for message in dunning_mail(smtp.messages()):
        found.setdefault(message["To"].addresses[0].addr_spec, []).append(message)
    return found


def test_messages_use_the_members_own_language_else_the_clubs(
    db_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    club = make_club(db_url, tmp_path, smtp_server)
    english, _ = club.failing_member()
    thai, _ = club.failing_member()
    set_language(club, english, "en")  # chosen in the member portal
    set_language(club, thai, None)  # never chose: the club's language
    club.advance(days=31)  # both renewals decline; the day-0 message goes out
    smtp_server.wait_for_messages(2)
    mail = by_recipient(smtp_server)
    (to_english,) = mail[english.email]
    (to_thai,) = mail[thai.email]
    assert THAI.search(str(to_thai["Subject"])) and THAI.search(body_text(to_thai))
    assert not THAI.search(str(to_english["Subject"])) and not THAI.search(body_text(to_english))
    assert "your payment of ฿1,070.00" in str(to_english["Subject"])
    assert "1,070.00" in body_text(to_thai)
    with club.session() as s:
        languages = {m.member_id: m.language for m in s.exec(select(DunningMessage))}
    assert languages == {english.id: "en", thai.id: "th"}
    club.gateway.close()


def test_unsubscribing_stops_reminders_but_never_the_required_notices(
    db_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    club = make_club(db_url, tmp_path, smtp_server)
    member, _ = club.failing_member()
    set_language(club, member, "en")
    club.advance(days=31)  # day 0: "payment failed", a polite reminder
    smtp_server.wait_for_messages(1)
    (first,) = dunning_mail(smtp_server.messages())
    link = re.search(r"https?://\S+/t/u/\S+", body_text(first))
    assert link is not None, body_text(first)
    assert str(first["List-Unsubscribe"]) == f"<{link.group(0)}>"
    assert str(first["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    path = link.group(0).split("://", 1)[1].split("/", 1)[1]

    app = create_app(club.settings, clock=club.clock, engine=club.engine)
    with TestClient(app) as web:
        assert web.get(f"/{path}").status_code == 200  # a page to confirm; nothing stored
        assert club.get(Member, member.id or 0).marketing_opt_out_at is None
        forged = unsubscribes(club.settings).url(member.id or 0)[:-3] + "AAA"
        assert web.post("/t/u/" + forged.rsplit("/", 1)[1]).status_code == 404
        assert web.post(f"/{path}").status_code == 200
    assert club.get(Member, member.id or 0).marketing_opt_out_at == club.clock.now()

    club.advance(days=8)  # reminders on days 3 and 5; notices on days 6 and 7
    with club.session() as s:
        sent = [m.template for m in s.exec(select(DunningMessage).order_by(DunningMessage.id))]
        planned = s.exec(select(DunningAction).where(DunningAction.kind == "send_message"))
        skipped_or_sent = {a.key for a in planned}
    assert sent == ["payment_failed", "suspension_notice", "suspended"]
    mail = dunning_mail(smtp_server.messages())
    notices = [m for m in mail if str(m["Message-ID"]) != str(first["Message-ID"])]
    assert len(notices) == 2
    for notice in notices:  # legal notices: no unsubscribe link, said to be no marketing
        assert notice["List-Unsubscribe"] is None
        assert "/t/u/" not in body_text(notice)
        assert "not a marketing message" in body_text(notice)
    assert len(skipped_or_sent) >= 3
    club.gateway.close()
