"""The secrets the hub keeps sealed: each site's card secret and each gate's HMAC key.

They are sealed with the hub's ``GATEHOUSE_SECRET_KEY``.  Code holding a session opens
them with the settings the session was made with (``session.info["settings"]``, set by
the API and the MQTT service), else the process's :func:`~hub.core.config.get_settings`::

    secret = site_card_secret(session, site)     # 32 bytes
    key = gate_key(session, gate)                # 32 bytes
"""

from __future__ import annotations

import secrets

from sqlmodel import Session

from hub.core.config import Settings, get_settings
from hub.core.security import SecretBox
from hub.models import Gate, Site
from protocol.mac import MacKey


def settings_of(session: Session) -> Settings:
    """The settings *session* was opened with, else the process's settings."""
    found = session.info.get("settings")
    return found if isinstance(found, Settings) else get_settings()


def box_of(session: Session) -> SecretBox:
    """The :class:`SecretBox` for secrets stored through *session*."""
    return SecretBox(settings_of(session).secret_key)


def new_card_secret(session: Session) -> str:
    """A fresh 32-byte site card secret, sealed for storage."""
    return box_of(session).seal(secrets.token_bytes(32))


def site_card_secret(session: Session, site: Site) -> bytes:
    """The card secret of *site* (32 bytes)."""
    return box_of(session).open(site.card_secret_enc)


def seal_gate_key(session: Session, key: bytes) -> tuple[str, str]:
    """Seal a gate key for storage; returns ``(sealed, key_id)``."""
    return box_of(session).seal(key), MacKey(key).kid.decode()


def gate_key(session: Session, gate: Gate) -> bytes:
    """The HMAC key of *gate* (32 bytes)."""
    return box_of(session).open(gate.key_enc)
