"""The optional second factor: time-based one-time codes (RFC 6238, 30 s, 6 digits).

A user enrols from their account page: the hub makes a secret, shows it as a QR code
(an ``otpauth://`` URI, drawn by :func:`hub.console.qr.qr_svg`) for an authenticator app, and turns
the factor on once the user types a code that matches.  The secret is kept sealed with
the hub's secret key; each code is accepted once (a replayed code is refused)::

    secret = new_secret()
    uri = provisioning_uri(secret, "ana@club.example")
    step = verify(secret, "123456", now=clock.now(), last_step=user.totp_last_step)
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

from hub.core.config import Settings
from hub.core.security import SecretBox

ISSUER = "Gatehouse"
STEP_S = 30


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def seal(secret: str, settings: Settings) -> str:
    """*secret* sealed for storage."""
    return SecretBox(settings.secret_key).seal(secret.encode())


def unseal(sealed: str, settings: Settings) -> str:
    """A sealed secret back in base32."""
    return SecretBox(settings.secret_key).open(sealed).decode()


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def verify(secret: str, code: str, *, now: datetime, last_step: int) -> int | None:
    """The time step *code* belongs to (now, or one step either side), or ``None``.

    A code of a step at or before *last_step* (already used) is refused.
    """
    code = "".join(code.split())
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_S
    for step in (current - 1, current, current + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


def code_at(secret: str, when: datetime) -> str:
    """The code an authenticator shows at *when* (for tests and the demo)."""
    return pyotp.TOTP(secret).at(int(when.timestamp()))
