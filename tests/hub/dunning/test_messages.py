"""Message templates: every template in both languages, money, dates and escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.dunning.formatting import UnknownCurrency, format_amount, format_date
from hub.dunning.messages import (
    TEMPLATE_DIR,
    TEMPLATE_NAMES,
    MessageContext,
    UnknownTemplate,
    render_message,
)

DEADLINE = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)  # 8 December 02:00 in Bangkok


def context(**overrides: object) -> MessageContext:
    values: dict[str, object] = {
        "member_name": "Somchai",
        "club_name": "Lumpini Gym",
        "amount_minor": 150000,
        "currency": "THB",
        "language": "th",
        "timezone": "Asia/Bangkok",
        "deadline": DEADLINE,
        "link": "https://lumpini.example/t/c/abc.def",
        "pixel_url": "https://lumpini.example/t/o/abc.def.gif",
        "unsubscribe_url": "https://lumpini.example/unsubscribe/xyz",
    }
    values.update(overrides)
    return MessageContext(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (150000, "THB", "en", "฿1,500.00"),
        (150050, "THB", "th", "1,500.50 บาท"),
        (1999, "USD", "en", "$19.99"),
        (1999, "USD", "th", "19.99 ดอลลาร์สหรัฐ"),
        (5, "THB", "en", "฿0.05"),
        (-250, "USD", "en", "-$2.50"),
        (123456789, "THB", "en", "฿1,234,567.89"),
        (1500, "JPY", "en", "JPY 1,500"),
    ],
)
def test_amounts(amount: int, currency: str, language: str, expected: str) -> None:
    assert format_amount(amount, currency, language) == expected


def test_unknown_currency_is_an_error() -> None:
    with pytest.raises(UnknownCurrency):
        format_amount(100, "XXX", "en")


def test_dates_are_local_and_thai_years_are_buddhist_era() -> None:
    assert format_date(DEADLINE, "Asia/Bangkok", "en") == "8 December 2026"
    assert format_date(DEADLINE, "Asia/Bangkok", "th") == "8 ธันวาคม 2569"
    assert format_date(DEADLINE, "Europe/London", "en") == "7 December 2026"


def test_both_languages_ship_every_template() -> None:
    assert {
        "payment_failed",
        "reminder",
        "suspension_notice",
        "suspended",
        "cancellation_notice",
        "confirm_payment",
        "card_expiring",
    } == TEMPLATE_NAMES
    for language in ("en", "th"):
        names = {p.stem for p in (TEMPLATE_DIR / language).glob("*.txt")}
        assert names == TEMPLATE_NAMES | {"_email"}


@pytest.mark.parametrize("template", sorted(TEMPLATE_NAMES))
@pytest.mark.parametrize("tone", ["polite", "firm", "final"])
@pytest.mark.parametrize("language", ["th", "en"])
def test_every_template_renders_amount_date_and_link(
    template: str, tone: str, language: str
) -> None:
    message = render_message(template, tone, context(language=language))
    amount = "1,500.00 บาท" if language == "th" else "฿1,500.00"
    assert amount in message.subject or amount in message.text
    assert amount in message.sms and message.sms.count("https://lumpini.example/t/c/") == 1
    assert "https://lumpini.example/t/c/abc.def" in message.text
    assert 'href="https://lumpini.example/t/c/abc.def"' in message.html
    assert 'src="https://lumpini.example/t/o/abc.def.gif"' in message.html
    assert "\n" not in message.subject and "{" not in message.text
    if template not in {"confirm_payment"} and (template != "reminder" or tone != "polite"):
        date = "8 ธันวาคม 2569" if language == "th" else "8 December 2026"
        assert date in message.text
    # Thai letters, not the baht sign (U+0E3F) English texts use too
    thai_letters = any("\u0e01" <= c <= "\u0e3a" or "\u0e40" <= c <= "\u0e5b" for c in message.text)
    assert thai_letters is (language == "th")


def test_tones_read_differently() -> None:
    subjects = {
        t: render_message("reminder", t, context(language="en")).subject
        for t in ("polite", "firm", "final")
    }
    assert subjects["polite"].startswith("Reminder")
    assert subjects["firm"].startswith("Action needed")
    assert subjects["final"].startswith("Final reminder")


def test_html_is_escaped_but_text_is_not() -> None:
    message = render_message("reminder", "polite", context(member_name="<b>Ann</b> & co"))
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; co" in message.html and "<b>Ann" not in message.html
    assert "<b>Ann</b> & co" in message.text


def test_legal_notice_has_no_unsubscribe_link() -> None:
    legal = render_message("suspension_notice", "final", context(language="en", legal_notice=True))
    assert "unsubscribe" not in legal.text and "unsubscribe" not in legal.html
    assert "not a marketing message" in legal.text
    reminder = render_message("reminder", "polite", context(language="en"))
    assert "https://lumpini.example/unsubscribe/xyz" in reminder.text


def test_no_deadline_reads_naturally() -> None:
    message = render_message("suspension_notice", "final", context(language="en", deadline=None))
    assert "suspended soon" in message.text


def test_unknown_language_falls_back_to_english_and_unknown_template_fails() -> None:
    assert render_message("reminder", "polite", context(language="de")).language == "en"
    with pytest.raises(UnknownTemplate):
        render_message("../../etc/passwd", "polite", context())
