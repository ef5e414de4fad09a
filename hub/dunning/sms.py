"""Sending SMS: an :class:`SmsSender` interface with an outbox adapter and a webhook
adapter.

No SMS carrier exists on a test machine, so the product ships two adapters behind one
interface: :class:`OutboxSmsSender` writes each message as a JSON file (the demo's
default, and a record staff can read), :class:`WebhookSmsSender` POSTs it as JSON to a
URL the club configures (its SMS gateway, or a bridge to one)::

    sender = WebhookSmsSender("https://sms-bridge.example/send", secret=b"...")
    sender.send(OutgoingSms(to="+66812345678", body=message.sms, key=action.key))

The webhook request carries the idempotency key in the body and in an
``Idempotency-Key`` header, and, with a *secret*, an ``X-Gatehouse-Signature:
sha256=<hex HMAC of the body>`` header the receiver can check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

#: Longest body accepted: 10 concatenated UCS-2 segments (Thai needs UCS-2).
MAX_SMS_CHARS = 670


class SmsDeliveryError(RuntimeError):
    """The SMS could not be handed over.

    :param permanent: True when retrying the same request cannot succeed (HTTP 4xx).
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class OutgoingSms:
    """One text message.

    :param to: the number in E.164 form, e.g. ``"+66812345678"``.
    :param body: the text (Thai or English).
    :param key: the action's idempotency key.
    """

    to: str
    body: str
    key: str

    def __post_init__(self) -> None:
        if not _E164.match(self.to):
            raise ValueError(f"phone numbers are E.164, like +66812345678 (got {self.to!r})")
        if not self.body or len(self.body) > MAX_SMS_CHARS:
            raise ValueError(f"an SMS body has 1-{MAX_SMS_CHARS} characters")


class SmsSender(Protocol):
    """Anything that sends an :class:`OutgoingSms` and returns the provider's message id."""

    def send(self, sms: OutgoingSms) -> str: ...


def _file_name(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32] + ".json"


class OutboxSmsSender:
    """Writes each SMS into *folder* as ``<hash of key>.json``; sending the same key
    twice leaves one file.

    :param folder: created if missing.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, sms: OutgoingSms) -> str:
        path = self.folder / _file_name(sms.key)
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(asdict(sms), out, ensure_ascii=False)
            os.replace(tmp, path)
        return path.stem

    def sent(self) -> list[OutgoingSms]:
        """Every SMS in the folder."""
        return [
            OutgoingSms(**json.loads(p.read_text("utf-8")))
            for p in sorted(self.folder.glob("*.json"))
        ]

    def __repr__(self) -> str:
        return f"<OutboxSmsSender {self.folder}>"


def signature(secret: bytes, body: bytes) -> str:
    """The ``X-Gatehouse-Signature`` value for *body*."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSmsSender:
    """POSTs each SMS as JSON (``{"key", "to", "body"}``) to *url*.

    :param url: the endpoint (http or https).
    :param secret: signs the body (``X-Gatehouse-Signature``), or ``None``.
    :param timeout: seconds to wait for the endpoint.
    """

    def __init__(self, url: str, *, secret: bytes | None = None, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the SMS webhook must be an http(s) URL (got {url!r})")
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def send(self, sms: OutgoingSms) -> str:
        """POST *sms*; returns the ``id`` the endpoint answers with (or the key).

        :raises SmsDeliveryError: on a non-2xx answer or when the endpoint is unreachable.
        """
        body = json.dumps(
            {"key": sms.key, "to": sms.to, "body": sms.body}, ensure_ascii=False
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": sms.key,
            "User-Agent": "gatehouse-dunning",
        }
        if self.secret is not None:
            headers["X-Gatehouse-Signature"] = signature(self.secret, body)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as err:
            permanent = 400 <= err.code < 500 and err.code not in (408, 429)
            raise SmsDeliveryError(f"SMS webhook answered {err.code}", permanent=permanent) from err
        except (urllib.error.URLError, OSError) as err:
            raise SmsDeliveryError(f"SMS webhook unreachable: {err}") from err
        try:
            reply = json.loads(answer) if answer else {}
        except ValueError:
            reply = {}
        provider_id = reply.get("id") if isinstance(reply, dict) else None
        return str(provider_id) if provider_id else sms.key

    def __repr__(self) -> str:
        return f"<WebhookSmsSender {self.url}>"
