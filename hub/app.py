"""The hub's FastAPI application, built by a factory so every test builds its own.

::

    app = create_app(Settings(database_url="sqlite:///hub.db"), clock=ManualClock(...))

Pass *mqtt* (a started :class:`~hub.mqtt.service.HubMqtt`) to let the API send
commands to gates, or ``start_mqtt=True`` to have the app start and stop its own MQTT
service with its lifespan (what ``gatehouse hub serve`` does), and with it the due-work
thread when ``settings.due_every_s`` is set (:mod:`hub.clock.worker`).  The web console
(:mod:`hub.console`) is served under ``/console``, the member portal
(:mod:`hub.portal`) under ``/portal``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError

from gatehouse.clock import Clock, SystemClock
from hub.api.routes import api_router
from hub.billing.console import install as install_billing_console
from hub.console import mount_console
from hub.core.config import Settings, get_settings
from hub.core.db import make_engine
from hub.core.limits import BodyLimit, HttpRejections
from hub.dunning.console import install as install_dunning_console
from hub.dunning.web import router as dunning_tracking
from hub.portal import mount_portal
from hub.usage.api import router as usage_api
from hub.usage.console import install as install_usage_console


def _json_safe(value: Any) -> Any:
    """*value* if strict JSON can hold it, else a short text standing for it."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        if isinstance(value, bytes | bytearray):
            return bytes(value[:200]).decode("utf-8", "replace")
        return repr(value)[:200]
    return value


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    mqtt: Any = None,
    start_mqtt: bool = False,
) -> FastAPI:
    """Build the hub's API.

    :param settings: defaults to :func:`~hub.core.config.get_settings` (the environment).
    :param clock: the hub's clock (default: the system clock).
    :param engine: database engine (default: one for ``settings.database_url``).
    :param mqtt: a running MQTT service for commands; ``None`` answers them with 503.
    :param start_mqtt: start an MQTT service (and the due work, if set) for the app's
        lifetime.
    """
    settings = settings or get_settings()
    clock = clock or SystemClock()
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = None
        if start_mqtt and settings.mqtt_enabled and app.state.mqtt is None:
            from hub.mqtt.service import HubMqtt

            service = HubMqtt(engine=engine, settings=settings, clock=clock).start()
            app.state.mqtt = service
        worker = None
        if start_mqtt and settings.due_every_s > 0:
            from hub.clock.worker import DueWorker

            worker = DueWorker(engine=engine, settings=settings, clock=clock).start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if service is not None:
                service.stop()
                app.state.mqtt = None

    app = FastAPI(
        title="Gatehouse hub",
        version="1",
        description="Members, cards, entitlements, gates and check-ins of a Gatehouse hub.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = engine
    app.state.mqtt = mqtt
    app.state.http_rejections = HttpRejections()
    app.add_middleware(BodyLimit, counter=app.state.http_rejections)
    app.include_router(api_router)
    app.include_router(usage_api, prefix="/api/v1")
    app.include_router(dunning_tracking)
    mount_console(app)
    install_dunning_console(app)
    install_billing_console(app)
    install_usage_console(app)
    mount_portal(app)

    @app.exception_handler(IntegrityError)
    async def _conflict(_r: Request, _e: IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "conflicts with existing data"}, status_code=409)

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(_r: Request, _e: Exception) -> JSONResponse:
        return JSONResponse({"detail": "a value is out of range"}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        # The offending "input" is echoed only if it can be written as strict JSON: a
        # body that is not UTF-8 (bytes) or a number like 1e999 (inf) is shown as text
        # instead of failing to encode the answer.
        errors = [dict(e, input=_json_safe(e.get("input"))) for e in err.errors()]
        return await request_validation_exception_handler(request, RequestValidationError(errors))

    @app.exception_handler(ValidationError)
    async def _invalid(_r: Request, err: ValidationError) -> JSONResponse:
        errors = [
            {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in err.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        running = app.state.mqtt is not None
        return {"status": "ok", "mqtt": "running" if running else "off"}

    return app
