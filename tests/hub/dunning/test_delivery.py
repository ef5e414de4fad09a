"""Messages leave the hub: email through a real SMTP server, SMS through a webhook."""

from __future__ import annotations

import hmac
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from gatehouse.services import free_port
from gatehouse.services.smtp import SmtpServer
from hub.dunning.actions import RetryCharge, SendMessage, record
from hub.dunning.compose import MissingContact, Recipient, compose, deliver
from hub.dunning.engine import advance
from hub.dunning.kinds import Channel, Outcome
from hub.dunning.mailer import FolderMailer, MailDeliveryError, OutgoingEmail, SmtpMailer
from hub.dunning.paylink import PayLinks
from hub.dunning.policy import builtin_policy
from hub.dunning.sms import (
    OutboxSmsSender,
    OutgoingSms,
    SmsDeliveryError,
    WebhookSmsSender,
    signature,
)
from hub.dunning.tracking import Tracker
from tests.hub.dunning.conftest import Webhook
from tests.hub.dunning.factories import VISA, make_case

SECRET = b"dunning-test-secret-0123456789ab"
LINKS = PayLinks(SECRET, base_url="https://lumpini.example/portal/pay")
TRACKER = Tracker(SECRET, base_url="https://lumpini.example/t")
POLICY = builtin_policy("default")
SENDER = "Lumpini Gym <billing@lumpini.example>"
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok


def first_message(language: str, channel: Channel = Channel.EMAIL) -> SendMessage:
    """The first message the default policy sends for a case in *language*."""
    case = make_case(language=language, case_id=f"c-{language}", payment_methods=(VISA,))
    actions = advance(case, NOW, POLICY, [])
    (message,) = [a for a in actions if isinstance(a, SendMessage)]
    if channel == Channel.SMS:
        # walk on to the day-5 SMS reminder
        history = [record(message, Outcome.SENT, at=NOW)]
        now = NOW
        while True:
            now += timedelta(hours=1)
            for action in advance(case, now, POLICY, history):
                if isinstance(action, SendMessage) and action.channel == Channel.SMS:
                    return action
                outcome = Outcome.DECLINED if isinstance(action, RetryCharge) else Outcome.SENT
                history.append(record(action, outcome, at=now))
    return message


def text_part(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_part(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def follow(link: str) -> tuple[str, str, str]:
    """What the hub does with a tracked link: record the click, open the pay link."""
    event = TRACKER.click_event(link.rsplit("/", 1)[-1])
    claims = LINKS.verify(PayLinks.token_from_url(event.target), now=NOW + timedelta(days=1))
    return event.message_key, claims.member_id, claims.invoice_id


def test_thai_and_english_reminders_arrive_through_smtp(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, sender=SENDER)
    unsubscribe = "https://lumpini.example/unsubscribe/u1"
    people = {
        "th": Recipient("สมชาย ใจดี", email="somchai@example.com"),
        "en": Recipient("Anna <Lee>", email="anna@example.com"),
    }
    sent = {}
    for language, person in people.items():
        action = first_message(language)
        rendered = compose(
            action, recipient=person, club_name="Lumpini Gym", pay_links=LINKS, now=NOW,
            tracker=TRACKER, unsubscribe_url=unsubscribe,
        )  # fmt: skip
        sent[language] = deliver(
            action, rendered, person, mailer=mailer, sms=OutboxSmsSender(tmp_path / "sms"),
            unsubscribe_url=unsubscribe,
        )  # fmt: skip

    received = {m["To"].addresses[0].addr_spec: m for m in smtp_server.wait_for_messages(2)}
    thai = received["somchai@example.com"]
    assert thai["Subject"] == "Lumpini Gym: การชำระเงิน 1,500.00 บาท ไม่สำเร็จ"
    assert thai["Message-ID"] == sent["th"]
    assert thai["List-Unsubscribe"] == "<https://lumpini.example/unsubscribe/u1>"
    body = text_part(thai)
    assert "เรียน คุณสมชาย ใจดี" in body and "1,500.00 บาท" in body
    assert "8 ธันวาคม 2569" in body  # the suspension date, Buddhist era, Bangkok time
    (link,) = set(re.findall(r"https://lumpini\.example/t/c/[\w.\-]+", body))
    assert follow(link) == ("dunning:c-th:0:send_message", "m-1", "inv-1")
    assert f'href="{link}"' in html_part(thai)

    english = received["anna@example.com"]
    assert english["Subject"] == "Lumpini Gym: your payment of ฿1,500.00 didn't go through"
    body = text_part(english)
    assert "Hello Anna <Lee>," in body and "8 December 2026" in body
    assert "Anna &lt;Lee&gt;" in html_part(english)
    (link,) = set(re.findall(r"https://lumpini\.example/t/c/[\w.\-]+", body))
    assert follow(link)[0] == "dunning:c-en:0:send_message"
    pixel = re.search(r'src="https://lumpini\.example/t/o/([\w.\-]+)"', html_part(english))
    assert pixel and TRACKER.open_event(pixel.group(1)) == "dunning:c-en:0:send_message"


def test_raw_headers_use_rfc2047_and_utf8_bodies(smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, sender=SENDER)
    mailer.send(
        OutgoingEmail(
            to="somchai@example.com",
            subject="แจ้งเตือน: ค้างชำระ",
            text="ยอด 1,500.00 บาท",
            html=None,
            key="dunning:c-9:3:send_message",
        )
    )
    (raw,) = list(smtp_server.maildir.joinpath("new").iterdir())
    data = raw.read_bytes()
    assert data.isascii()  # nothing 8-bit on the wire
    assert b"Subject: =?utf-8?" in data
    assert b'charset="utf-8"' in data
    (mail,) = smtp_server.messages()
    assert mail["Subject"] == "แจ้งเตือน: ค้างชำระ"
    assert mail.get_content().strip() == "ยอด 1,500.00 บาท"


def test_deliver_routes_email_and_resends_keep_the_message_id(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    mailer = SmtpMailer(smtp_server.host, smtp_server.port, sender=SENDER)
    action = first_message("en")
    person = Recipient("Anna", email="anna@example.com")
    rendered = compose(action, recipient=person, club_name="Gym", pay_links=LINKS, now=NOW)
    sms = OutboxSmsSender(tmp_path / "sms")
    first = deliver(action, rendered, person, mailer=mailer, sms=sms)
    again = deliver(action, rendered, person, mailer=mailer, sms=sms)  # a crash, then a resend
    assert first == again
    mails = smtp_server.wait_for_messages(2)
    assert {m["Message-ID"] for m in mails} == {first}
    assert sms.sent() == []
    with pytest.raises(MissingContact):
        deliver(action, rendered, Recipient("Anna"), mailer=mailer, sms=sms)


def test_unreachable_smtp_server_is_a_delivery_error() -> None:
    mailer = SmtpMailer("127.0.0.1", free_port(), sender=SENDER, timeout=2)
    mail = OutgoingEmail(to="a@example.com", subject="s", text="t", html=None, key="k")
    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(mail)
    assert not caught.value.permanent


def test_folder_mailer_writes_one_file_per_key(tmp_path: Path) -> None:
    mailer = FolderMailer(tmp_path / "outbox", sender=SENDER)
    mail = OutgoingEmail(to="a@example.com", subject="ทดสอบ", text="t", html="<p>t</p>", key="k1")
    assert mailer.send(mail) == mailer.send(mail)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    mailer.send(replace(mail, key="k2"))
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def test_bad_addresses_are_refused() -> None:
    with pytest.raises(ValueError, match="email address"):
        OutgoingEmail(to="nobody", subject="s", text="t", html=None, key="k")
    with pytest.raises(ValueError, match="one line"):
        OutgoingEmail(to="a@example.com", subject="s\r\nBcc: x@y", text="t", html=None, key="k")
    with pytest.raises(ValueError, match="E.164"):
        OutgoingSms(to="0812345678", body="hi", key="k")


def test_sms_reminder_goes_to_the_webhook(sms_webhook: Webhook, tmp_path: Path) -> None:
    action = first_message("th", Channel.SMS)
    person = Recipient("สมชาย", email="somchai@example.com", phone="+66812345678")
    rendered = compose(action, recipient=person, club_name="Lumpini Gym", pay_links=LINKS,
                       now=NOW, tracker=TRACKER)  # fmt: skip
    secret = b"webhook-secret-0123456789abcdef!"
    sender = WebhookSmsSender(sms_webhook.url, secret=secret, timeout=5)
    mailer = FolderMailer(tmp_path / "mail", sender=SENDER)
    provider_id = deliver(action, rendered, person, mailer=mailer, sms=sender)
    assert provider_id == "sms-1"
    ((headers, raw),) = sms_webhook.requests
    (body,) = sms_webhook.json_bodies()
    assert body["to"] == "+66812345678" and body["key"] == action.key
    assert headers["Idempotency-Key"] == action.key
    assert hmac.compare_digest(headers["X-Gatehouse-Signature"], signature(secret, raw))
    text = str(body["body"])
    assert "1,500.00 บาท" in text and "เลยกำหนดชำระ" in text  # firm, in Thai
    (link,) = re.findall(r"https://lumpini\.example/t/c/[\w.\-]+", text)
    assert follow(link)[1:] == ("m-1", "inv-1")
    assert list((tmp_path / "mail").glob("*.eml")) == []


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (429, False), (400, True)])
def test_webhook_errors_say_whether_to_retry(
    sms_webhook: Webhook, status: int, permanent: bool
) -> None:
    sms_webhook.status = status
    sender = WebhookSmsSender(sms_webhook.url, timeout=5)
    with pytest.raises(SmsDeliveryError) as caught:
        sender.send(OutgoingSms(to="+66812345678", body="hello", key="k"))
    assert caught.value.permanent is permanent
    assert "X-Gatehouse-Signature" not in sms_webhook.requests[0][0]


def test_unreachable_webhook_is_a_delivery_error() -> None:
    sender = WebhookSmsSender(f"http://127.0.0.1:{free_port()}/sms", timeout=2)
    with pytest.raises(SmsDeliveryError, match="unreachable"):
        sender.send(OutgoingSms(to="+66812345678", body="hello", key="k"))


def test_outbox_sms_sender_is_idempotent(tmp_path: Path) -> None:
    sender = OutboxSmsSender(tmp_path / "sms")
    sms = OutgoingSms(
        to="+66812345678", body="ค้างชำระ 1,500.00 บาท", key="dunning:c-1:6:send_message"
    )
    assert sender.send(sms) == sender.send(sms)
    assert sender.sent() == [sms]
