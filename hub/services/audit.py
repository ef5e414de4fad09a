"""Recording who did what: one :class:`~hub.models.AuditLog` row per change."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, SQLModel

from gatehouse.clock import Clock
from hub.models import AuditLog

#: Fields never copied into the audit log.
SECRET_FIELDS = frozenset(
    {"card_secret_enc", "key_enc", "mqtt_password_hash", "password_hash", "token_hash", "uid_hex"}
    | {"totp_secret_enc", "csrf_token"}
)


def snapshot_of(obj: SQLModel | None) -> dict[str, Any] | None:
    """A JSON-ready copy of *obj* without its secrets."""
    if obj is None:
        return None
    data = obj.model_dump(mode="json")
    return {k: v for k, v in data.items() if k not in SECRET_FIELDS}


def record(
    session: Session,
    *,
    clock: Clock,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    site_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row (committed with the caller's transaction)."""
    row = AuditLog(
        at=clock.now(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        site_id=site_id,
        before=before,
        after=after,
    )
    session.add(row)
    return row
