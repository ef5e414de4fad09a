"""Dunning messages from Jinja2 templates, in the member's language (Thai or English).

Each message template (``templates/<language>/<name>.txt``) holds only words, in four
blocks: ``subject``, ``paragraphs`` (separated by blank lines), ``action`` (the button
label) and ``sms``.  Two layouts per language give them shape: ``_email.txt`` for the
plain-text part and ``_email.html`` for the HTML part, which is rendered with
autoescaping, so a member named ``<b>Ann</b>`` is shown, not obeyed::

    ctx = MessageContext(member_name="Somchai", club_name="Lumpini Gym",
                         amount_minor=150000, currency="THB", language="th",
                         timezone="Asia/Bangkok", deadline=deadline,
                         link="https://club.example/portal/pay/...")
    message = render_message("reminder", Tone.FIRM, ctx)
    message.subject   # 'โปรดดำเนินการ: ค่าสมาชิก 1,500.00 บาท เลยกำหนดชำระ'
    message.text, message.html, message.sms

Templates that ship: :data:`TEMPLATE_NAMES`. An unknown language falls back to English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from hub.dunning.formatting import format_amount, format_date
from hub.dunning.kinds import Tone

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

#: Languages messages are written in; the first is the fallback.
LANGUAGES = ("en", "th")

#: Message templates every language provides.
TEMPLATE_NAMES = frozenset(
    p.stem for p in (TEMPLATE_DIR / "en").glob("*.txt") if not p.name.startswith("_")
)

_BLOCKS = ("subject", "paragraphs", "action", "sms")


def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


@dataclass(frozen=True)
class MessageContext:
    """What a message says about the member and their debt.

    :param member_name: how to greet them.
    :param club_name: the club's name.
    :param amount_minor: amount due, minor units.
    :param currency: ISO currency.
    :param language: ``"th"`` or ``"en"``.
    :param timezone: the member's timezone (dates are shown in it).
    :param deadline: when the next consequence takes effect, or ``None``.
    :param link: the pay link (or its tracked redirect).
    :param pixel_url: the open-tracking pixel, or ``None``.
    :param unsubscribe_url: shown on messages that are not legal notices, or ``None``.
    :param legal_notice: a legally required notice (no unsubscribe link).
    """

    member_name: str
    club_name: str
    amount_minor: int
    currency: str
    language: str
    timezone: str
    deadline: datetime | None
    link: str
    pixel_url: str | None = None
    unsubscribe_url: str | None = None
    legal_notice: bool = False


@dataclass(frozen=True)
class RenderedMessage:
    """One message in every form a channel needs."""

    language: str
    subject: str
    text: str
    html: str
    sms: str


class UnknownTemplate(KeyError):
    """No message template of that name ships."""


def _block(template: Template, name: str, values: dict[str, object]) -> str:
    render = template.blocks.get(name)
    if render is None:
        raise UnknownTemplate(f"template {template.name} has no {name!r} block")
    return "".join(render(template.new_context(values)))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_message(template: str, tone: Tone | str, ctx: MessageContext) -> RenderedMessage:
    """Render message *template* in *tone* for *ctx* (subject, text, HTML and SMS).

    :raises UnknownTemplate: when *template* is not one of :data:`TEMPLATE_NAMES`.
    """
    if template not in TEMPLATE_NAMES:
        raise UnknownTemplate(f"unknown message template {template!r}")
    language = ctx.language if ctx.language in LANGUAGES else LANGUAGES[0]
    values: dict[str, object] = {
        "member_name": ctx.member_name,
        "club_name": ctx.club_name,
        "amount": format_amount(ctx.amount_minor, ctx.currency, language),
        "deadline": (format_date(ctx.deadline, ctx.timezone, language) if ctx.deadline else None),
        "tone": str(tone),
        "link": ctx.link,
    }
    content = _TEXT.get_template(f"{language}/{template}.txt")
    subject = _one_line(_block(content, "subject", values))
    paragraphs = [
        _one_line(p) for p in _block(content, "paragraphs", values).split("\n\n") if p.strip()
    ]
    layout_values = {
        **values,
        "subject": subject,
        "paragraphs": paragraphs,
        "action": _one_line(_block(content, "action", values)),
        "language": language,
        "pixel_url": ctx.pixel_url,
        "unsubscribe_url": ctx.unsubscribe_url,
        "legal_notice": ctx.legal_notice,
    }
    text = _TEXT.get_template(f"{language}/_email.txt").render(layout_values).strip() + "\n"
    html = _HTML.get_template(f"{language}/_email.html").render(layout_values)
    sms = _one_line(_block(content, "sms", values))
    return RenderedMessage(language=language, subject=subject, text=text, html=html, sms=sms)
