"""In-process notifications: "site S now has list version V".

:func:`hub.access.changes.access_changed` announces a new version once the session that
made it commits; the hub's MQTT service listens and pushes deltas to the site's gates.
A hub process that did not make the change (another replica, a CLI run) learns of it by
polling site versions instead::

    def on_version(site_id: int, version: int) -> None: ...
    access_bus.subscribe(on_version)
    ...
    access_bus.unsubscribe(on_version)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlmodel import Session

log = logging.getLogger(__name__)

Listener = Callable[[int, int], None]


class AccessBus:
    """Listeners called with ``(site_id, version)``; a failing listener is logged."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, site_id: int, version: int) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(site_id, version)
            except Exception:  # one broken listener must not stop the others
                log.exception("access listener failed")


access_bus = AccessBus()

_PENDING = "gatehouse_access_pending"


def announce_after_commit(session: Session, site_id: int, version: int) -> None:
    """Publish ``(site_id, version)`` on :data:`access_bus` when *session* commits.

    Nothing is announced if the session rolls back instead.
    """
    pending: dict[int, int] | None = session.info.get(_PENDING)
    if pending is None:
        pending = {}
        session.info[_PENDING] = pending
        event.listen(session, "after_commit", _flush)
        event.listen(session, "after_rollback", _drop)
    pending[site_id] = max(version, pending.get(site_id, 0))


def _flush(session: Session) -> None:
    pending = session.info.get(_PENDING) or {}
    items = list(pending.items())
    pending.clear()
    for site_id, version in items:
        access_bus.publish(site_id, version)


def _drop(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        pending.clear()
