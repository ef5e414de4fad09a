"""The hub's pay links and tracking URLs, keyed from its settings.

All sign with a key derived from ``GATEHOUSE_SECRET_KEY`` (one derivation per use, so
the secret itself never signs anything) and point at ``GATEHOUSE_PUBLIC_URL``::

    pay_links(settings).url("7", "41", expires_at=now + timedelta(days=14))
    # http://127.0.0.1:8000/portal/pay/eyJ...
    tracker(settings).pixel_url("dunning:3:0:send_message")
    # http://127.0.0.1:8000/t/o/eyJ....gif
    unsubscribes(settings).url(7)
    # http://127.0.0.1:8000/t/u/eyJ...
"""

from __future__ import annotations

import hashlib

from hub.core.config import Settings
from hub.dunning.paylink import PayLinks
from hub.dunning.tracking import Tracker
from hub.dunning.unsubscribe import Unsubscribes

#: Where the member portal serves pay links, below the public URL.
PAY_PATH = "/portal/pay"
#: Where the hub serves the tracking pixel and click redirect, below the public URL.
TRACK_PATH = "/t"


def link_secret(settings: Settings, use: str) -> bytes:
    """A 32-byte key for *use* derived from the hub's secret key."""
    return hashlib.sha256(f"gatehouse:{use}:{settings.secret_key}".encode()).digest()


def pay_links(settings: Settings) -> PayLinks:
    """Mints and verifies the hub's pay links."""
    base = settings.public_url.rstrip("/") + PAY_PATH
    return PayLinks(link_secret(settings, "pay-links"), base_url=base)


def tracker(settings: Settings) -> Tracker:
    """Mints and reads the hub's open and click tracking URLs."""
    base = settings.public_url.rstrip("/") + TRACK_PATH
    return Tracker(link_secret(settings, "tracking"), base_url=base)


def unsubscribes(settings: Settings) -> Unsubscribes:
    """Mints and reads the hub's marketing unsubscribe links."""
    base = settings.public_url.rstrip("/") + TRACK_PATH + "/u"
    return Unsubscribes(link_secret(settings, "unsubscribe"), base_url=base)
