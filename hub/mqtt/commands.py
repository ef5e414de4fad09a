"""Commands to gates: numbered so a replay is refused, recorded before they are sent.

Each command's ``n`` is ``max(last + 1, now in milliseconds)``: it increases per gate,
and keeps increasing after a hub restart or a restore from an older backup, because
time moves on.  The number and an audit row are stored in the caller's transaction;
the MQTT service publishes the sealed body after the commit::

    body = issue_command(session, gate=gate, op="unlock", args={"seconds": 5},
                         actor="user:3", clock=clock)
    session.commit()
    service.publish_command(gate.id, body)
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from gatehouse.clock import Clock
from hub.models import Gate
from hub.services import audit
from protocol import messages


def next_number(last: int, clock: Clock) -> int:
    """The next command number after *last*."""
    return max(last + 1, int(clock.now().timestamp() * 1000))


def _public(args: dict[str, Any]) -> dict[str, Any]:
    """Args as the audit log keeps them: a sealed key and its nonce are left out."""
    return {k: v for k, v in args.items() if k not in ("key", "nonce")}


def issue_command(
    session: Session,
    *,
    gate_id: int,
    op: str,
    args: dict[str, Any] | None,
    actor: str,
    clock: Clock,
) -> dict[str, Any]:
    """Number and record a command for gate *gate_id*; return its body (not sealed)."""
    gate = session.exec(select(Gate).where(Gate.id == gate_id).with_for_update()).one()
    n = next_number(gate.last_cmd_n, clock)
    body = messages.command(gate.slug, n, op, clock.timestamp(), args or {})
    gate.last_cmd_n = n
    session.add(gate)
    audit.record(
        session,
        clock=clock,
        actor=actor,
        action=f"gate.cmd.{op}",
        entity="gate",
        entity_id=gate.id,
        site_id=gate.site_id,
        after={"n": n, "op": op, "args": _public(args or {})},
    )
    return body
