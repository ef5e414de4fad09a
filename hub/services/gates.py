"""Provisioning gates: credentials, a one-time claim token, and the config it buys.

:func:`provision_gate` creates a gate with its own MQTT username and password and a
32-byte HMAC key, and returns a claim token valid for ``claim_ttl_s`` (24 h by
default).  The installer gives the token to the gate (``gatehouse gate provision`` or
the firmware build), which exchanges it once through ``POST /api/v1/provision/claim``
for its configuration (:func:`claim_gate`)::

    gate, token = provision_gate(session, site=site, door=door, slug="front-door",
                                 kind="pi", clock=clock, settings=settings)
    session.commit()
    config = claim_gate(session, token=token, clock=clock, settings=settings)
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.access.keys import gate_key, seal_gate_key, site_card_secret
from hub.core.config import Settings
from hub.core.security import mosquitto_hash, new_token, token_box, token_hash
from hub.models import Door, Gate, GateClaim, Site


class ClaimRefused(ValueError):
    """A claim token that is unknown, already used or expired."""


def mqtt_username(site: str, gate: str) -> str:
    """The broker username of a gate: ``site.gate`` (a dot never appears in ids)."""
    return f"{site}.{gate}"


def slug_from(name: str) -> str:
    """A topic id from a door's name: ``"Front door"`` -> ``"front-door"``."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")[:32]
    return slug or "gate"


def provision_gate(
    session: Session,
    *,
    site: Site,
    door: Door,
    slug: str,
    kind: str,
    clock: Clock,
    settings: Settings,
) -> tuple[Gate, GateClaim, str]:
    """Create a gate and its claim; returns ``(gate, claim, token)`` (caller commits).

    The token is returned here only: the database keeps its hash, and the gate's MQTT
    password waits sealed under the token until claimed.
    """
    now = clock.now()
    password = secrets.token_urlsafe(24)
    sealed_key, key_id = seal_gate_key(session, secrets.token_bytes(32))
    gate = Gate(
        site_id=site.id or 0,
        door_id=door.id or 0,
        slug=slug,
        kind=kind,
        mqtt_username=mqtt_username(site.slug, slug),
        mqtt_password_hash=mosquitto_hash(password),
        key_enc=sealed_key,
        key_id=key_id,
        created_at=now,
    )
    session.add(gate)
    session.flush()
    token = new_token("ghc")
    claim = GateClaim(
        gate_id=gate.id or 0,
        token_hash=token_hash(token),
        sealed_password=token_box(token).seal(password.encode()),
        expires_at=now + timedelta(seconds=settings.claim_ttl_s),
        created_at=now,
    )
    session.add(claim)
    session.flush()
    return gate, claim, token


def claim_gate(session: Session, *, token: str, clock: Clock, settings: Settings) -> dict[str, Any]:
    """Exchange a claim *token* for the gate's config, once (caller commits).

    :raises ClaimRefused: unknown, used or expired token.
    """
    claim = session.exec(
        select(GateClaim).where(GateClaim.token_hash == token_hash(token)).with_for_update()
    ).first()
    if claim is None:
        raise ClaimRefused("unknown claim token")
    if claim.used_at is not None or claim.sealed_password is None:
        raise ClaimRefused("this claim token has already been used")
    if clock.now() >= claim.expires_at:
        raise ClaimRefused("this claim token has expired; make a new one with `gate add`")
    gate = session.get(Gate, claim.gate_id)
    site = session.get(Site, gate.site_id) if gate else None
    door = session.get(Door, gate.door_id) if gate else None
    if gate is None or site is None or door is None:
        raise ClaimRefused("the gate of this token no longer exists")
    password = token_box(token).open(claim.sealed_password).decode()
    claim.used_at = clock.now()
    claim.sealed_password = None
    session.add(claim)
    ca = None
    if settings.mqtt_tls and settings.mqtt_ca_file:
        ca = Path(settings.mqtt_ca_file).read_text()
    return {
        "site": site.slug,
        "gate": gate.slug,
        "kind": gate.kind,
        "door": door.name,
        "zone": door.zone,
        "mqtt": {
            "host": settings.broker_host_for_gates,
            "port": settings.broker_port_for_gates,
            "username": gate.mqtt_username,
            "password": password,
            "tls": settings.mqtt_tls,
            "ca": ca,
        },
        "gate_key": gate_key(session, gate).hex(),
        "card_secret": site_card_secret(session, site).hex(),
        "hub_url": settings.public_url,
    }
