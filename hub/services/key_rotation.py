"""Rotating a gate's HMAC key without downtime.

:func:`rotate_gate_key` makes a new key, keeps the old one sealed beside it with the end
of an overlap window, and records a ``rekey`` command (:mod:`protocol.rekey`) whose args
carry the new key encrypted under the old.  The caller commits, then sends the command
sealed under the *old* key (:meth:`hub.mqtt.service.HubMqtt.publish_command` picks it)::

    body = rotate_gate_key(session, gate_id=3, clock=clock, actor="user:1")
    session.commit()
    service.publish_command(3, body)

Until the window ends the hub accepts both keys from the gate and seals what it sends
with the key the gate last used; the gate saves the new key, switches, and keeps
accepting the old one until the same moment.  A gate that was offline when the command
went out says ``hello`` under the old key, and the hub sends the command again.  After
the window only the new key works: a gate that never heard of it must be provisioned
again.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.access.keys import box_of, gate_key, seal_gate_key
from hub.models import Gate
from hub.mqtt.commands import issue_command
from protocol import rekey

DEFAULT_OVERLAP_S = 3600


class RotationInProgress(ValueError):
    """The gate's previous rotation is still inside its overlap window."""


def previous_key(session: Session, gate: Gate) -> bytes | None:
    """The key *gate* is being moved away from, or ``None``."""
    return box_of(session).open(gate.prev_key_enc) if gate.prev_key_enc else None


def rotate_gate_key(
    session: Session,
    *,
    gate_id: int,
    clock: Clock,
    actor: str,
    overlap_s: int = DEFAULT_OVERLAP_S,
) -> dict[str, Any]:
    """Give gate *gate_id* a new key; returns the ``rekey`` command body (caller commits).

    :raises RotationInProgress: the last rotation's overlap has not ended yet (the gate
        may not hold the current key yet, so it could not open a second one).
    """
    if not 60 <= overlap_s <= 30 * 86400:
        raise ValueError("the overlap is between a minute and 30 days")
    gate = session.exec(select(Gate).where(Gate.id == gate_id).with_for_update()).one()
    now = clock.now()
    if gate.prev_key_until is not None and gate.prev_key_until > now:
        raise RotationInProgress(
            f"gate {gate.slug} is still switching keys until {gate.prev_key_until:%Y-%m-%d %H:%M}"
        )
    until = now + timedelta(seconds=overlap_s)
    gate.prev_key_enc, gate.prev_key_id, gate.prev_key_until = gate.key_enc, gate.key_id, until
    gate.key_enc, gate.key_id = seal_gate_key(session, secrets.token_bytes(32))
    session.add(gate)
    session.flush()
    return rekey_command(session, gate=gate, clock=clock, actor=actor)


def rekey_command(session: Session, *, gate: Gate, clock: Clock, actor: str) -> dict[str, Any]:
    """Record a ``rekey`` command moving *gate* from its previous key to its current one."""
    old = previous_key(session, gate)
    if old is None or gate.prev_key_until is None:
        raise RotationInProgress(f"gate {gate.slug} has no rotation under way")
    args = rekey.args(
        old, gate_key(session, gate), secrets.token_bytes(16), int(gate.prev_key_until.timestamp())
    )
    return issue_command(
        session, gate_id=gate.id or 0, op="rekey", args=args, actor=actor, clock=clock
    )
