"""The sign-in email, in the member's language (Thai or English).

::

    mail = sign_in_email(member_email, url, club_name="Lumpini Gym", language="th",
                         key=f"portal-link:{row.id}", minutes=20)
    mailer.send(mail)      # the hub's mailer: SMTP, or the outbox folder

The text part carries the link on a line of its own; the HTML part a button and the
same link written out.
"""

from __future__ import annotations

from html import escape

from hub.dunning.mailer import OutgoingEmail

_WORDS = {
    "en": {
        "subject": "Your sign-in link for {club}",
        "hello": "Hello {name},",
        "body": "Use this link to sign in to your {club} member account. It works once, "
        "within {minutes} minutes.",
        "button": "Sign in",
        "ignore": "If you did not ask for it, ignore this email: nobody can sign in "
        "without the link.",
    },
    "th": {
        "subject": "ลิงก์เข้าสู่ระบบสมาชิก {club}",
        "hello": "สวัสดีคุณ {name}",
        "body": "ใช้ลิงก์นี้เพื่อเข้าสู่บัญชีสมาชิก {club} ใช้ได้ครั้งเดียว ภายใน {minutes} นาที",
        "button": "เข้าสู่ระบบ",
        "ignore": "หากคุณไม่ได้ขอลิงก์นี้ ไม่ต้องทำอะไร ไม่มีใครเข้าสู่ระบบได้หากไม่มีลิงก์",
    },
}


def sign_in_email(
    to: str,
    url: str,
    *,
    name: str,
    club_name: str,
    language: str,
    key: str,
    minutes: int,
) -> OutgoingEmail:
    """The email that carries a sign-in link *url* to *to*."""
    w = _WORDS.get(language, _WORDS["en"])
    subject = w["subject"].format(club=club_name)
    hello = w["hello"].format(name=name)
    body = w["body"].format(club=club_name, minutes=minutes)
    text = f"{hello}\n\n{body}\n\n{url}\n\n{w['ignore']}\n"
    html = (
        f"<p>{escape(hello)}</p><p>{escape(body)}</p>"
        f'<p><a href="{escape(url)}" style="display:inline-block;padding:.6em 1.2em;'
        f'background:#1d4ed8;color:#fff;text-decoration:none;border-radius:6px">'
        f"{escape(w['button'])}</a></p>"
        f'<p style="font-size:90%;color:#555">{escape(url)}</p>'
        f"<p>{escape(w['ignore'])}</p>"
    )
    return OutgoingEmail(to=to, subject=subject, text=text, html=html, key=key)
