"""Sending email: a :class:`Mailer` interface, an SMTP adapter and a folder adapter.

Both adapters build the same MIME message with the standard library: a UTF-8 plain-text
part and an HTML alternative, the subject encoded per RFC 2047 (so Thai subjects survive
any relay), and a ``Message-ID`` derived from the action's idempotency key, so a message
resent after a crash carries the same id and mail systems can drop the duplicate::

    mailer = SmtpMailer("smtp.example.com", 587, sender="Lumpini Gym <billing@lumpini.example>",
                        username="billing", password=secret, starttls=True)
    mailer.send(OutgoingEmail(to="somchai@example.com", subject=message.subject,
                              text=message.text, html=message.html, key=action.key))

:class:`FolderMailer` writes ``.eml`` files instead (the demo's default): one file per
key, so sending twice leaves one file.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Protocol

#: CRLF line ends, RFC 2047 headers, and bodies kept 7-bit clean on the wire (non-ASCII
#: text goes base64 or quoted-printable, whichever is shorter), so any relay passes them.
MAIL_POLICY = SMTP.clone(cte_type="7bit")


class MailDeliveryError(RuntimeError):
    """The mail server refused or could not take a message.

    :param permanent: True for a 5xx refusal (retrying will not help).
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class OutgoingEmail:
    """One email to one member.

    :param to: recipient address.
    :param subject: subject line (any language).
    :param text: plain-text body.
    :param html: HTML body, or ``None`` for text only.
    :param key: the action's idempotency key; becomes the ``Message-ID``.
    :param unsubscribe_url: adds a ``List-Unsubscribe`` header (not on legal notices).
    """

    to: str
    subject: str
    text: str
    html: str | None
    key: str
    unsubscribe_url: str | None = None

    def __post_init__(self) -> None:
        name, address = parseaddr(self.to)
        if "@" not in address or any(c in self.to for c in "\r\n"):
            raise ValueError(f"not an email address: {self.to!r}")
        if any(c in self.subject for c in "\r\n"):
            raise ValueError("a subject is one line")


class Mailer(Protocol):
    """Anything that sends an :class:`OutgoingEmail` and returns its ``Message-ID``."""

    def send(self, mail: OutgoingEmail) -> str: ...


def message_id(key: str, domain: str) -> str:
    """The ``Message-ID`` for an idempotency key: the same key always gives the same id."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_message(mail: OutgoingEmail, sender: str, *, date: float | None = None) -> EmailMessage:
    """The MIME message for *mail* from *sender* (``"Name <addr@domain>"``).

    :param date: unix time for the ``Date`` header (default: the moment of sending).
    """
    name, address = parseaddr(sender)
    if "@" not in address:
        raise ValueError(f"not a sender address: {sender!r}")
    domain = address.rsplit("@", 1)[1]
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = Address(display_name=name, addr_spec=address) if name else address
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(date, localtime=False)
    msg["Message-ID"] = message_id(mail.key, domain)
    msg["X-Gatehouse-Key"] = mail.key
    if mail.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    msg.set_content(mail.text, charset="utf-8")
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html", charset="utf-8")
    return msg


class SmtpMailer:
    """Sends through an SMTP server with :mod:`smtplib`.

    :param host: server name.
    :param port: server port (25, 465 with *use_ssl*, 587 with *starttls*).
    :param sender: the ``From`` address, e.g. ``"Lumpini Gym <billing@lumpini.example>"``.
    :param username: login name, or ``None`` for no login.
    :param password: login password.
    :param starttls: upgrade the connection with STARTTLS before logging in.
    :param use_ssl: connect with implicit TLS (SMTPS).
    :param timeout: seconds to wait for the server.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_ssl: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, mail: OutgoingEmail) -> str:
        """Send *mail*; returns its ``Message-ID``.

        :raises MailDeliveryError: when the server refuses it or cannot be reached.
        """
        msg = build_message(mail, self.sender)
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as err:
            raise MailDeliveryError(f"recipient refused: {err.recipients}", permanent=True) from err
        except smtplib.SMTPResponseException as err:
            raise MailDeliveryError(
                f"SMTP {err.smtp_code}: {err.smtp_error!r}", permanent=500 <= err.smtp_code < 600
            ) from err
        except (smtplib.SMTPException, OSError) as err:
            raise MailDeliveryError(f"cannot send through {self.host}:{self.port}: {err}") from err
        return str(msg["Message-ID"])

    def __repr__(self) -> str:
        return f"<SmtpMailer {self.host}:{self.port} from {self.sender!r}>"


class FolderMailer:
    """Writes each email as an ``.eml`` file into *folder* (for the demo and for
    inspection). Writing is atomic and idempotent: one file per key.

    :param folder: created if missing.
    :param sender: the ``From`` address.
    """

    def __init__(self, folder: str | Path, *, sender: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sender = sender

    def path_for(self, key: str) -> Path:
        """Where the email with idempotency *key* is written."""
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.eml"

    def send(self, mail: OutgoingEmail) -> str:
        msg = build_message(mail, self.sender)
        path = self.path_for(mail.key)
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(msg.as_bytes())
            os.replace(tmp, path)
        return str(msg["Message-ID"])

    def __repr__(self) -> str:
        return f"<FolderMailer {self.folder}>"
