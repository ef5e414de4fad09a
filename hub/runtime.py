"""A whole hub in one process — API and MQTT service — for ``serve``, tests and the demo.

Tests start one against their own Mosquitto and database::

    with Hub(Settings(database_url=url, mqtt_port=broker.port), clock=clock) as hub:
        client = TestClient(hub.app)            # the REST API
        hub.mqtt.wait_idle()                    # the MQTT service
        with hub.session() as session: ...      # the database

:param settings: the hub's settings (``mqtt_enabled=False`` runs without MQTT).
:param clock: the hub's clock (default: the system clock).
:param engine: database engine (default: one for ``settings.database_url``).
:param migrate: upgrade the database to the latest migration first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlmodel import Session

from gatehouse.clock import Clock, SystemClock
from hub.app import create_app
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.migrations import upgrade
from hub.mqtt.service import HubMqtt


class Hub:
    """The API app and the MQTT service sharing one engine, settings and clock."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        engine: object = None,
        migrate: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        if migrate:
            upgrade(settings.database_url)
        self.engine = engine or make_engine(settings.database_url)
        self.mqtt: HubMqtt | None = None
        self.app = create_app(settings, clock=self.clock, engine=self.engine)  # type: ignore[arg-type]

    def start(self) -> Hub:
        """Start the MQTT service (when enabled) and hand it to the API."""
        if self.settings.mqtt_enabled:
            self.mqtt = HubMqtt(engine=self.engine, settings=self.settings, clock=self.clock)  # type: ignore[arg-type]
            self.mqtt.start()
            self.app.state.mqtt = self.mqtt
        return self

    def stop(self) -> None:
        """Stop the MQTT service and close the database connections."""
        if self.mqtt is not None:
            self.mqtt.stop()
            self.app.state.mqtt = None
            self.mqtt = None
        self.engine.dispose()  # type: ignore[attr-defined]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session with this hub's settings."""
        with Session(self.engine, expire_on_commit=False) as s:  # type: ignore[arg-type]
            s.info["settings"] = self.settings
            yield s

    def __enter__(self) -> Hub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
