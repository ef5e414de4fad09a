"""Hub settings, read from ``GATEHOUSE_*`` environment variables.

Settings are read once through :func:`get_settings` (cached), never built at import, so
a test passes its own :class:`Settings` to :func:`hub.app.create_app` instead::

    settings = Settings(database_url="sqlite:///tmp/hub.db", mqtt_port=18830)
    app = create_app(settings)

Outside local mode (``GATEHOUSE_MODE=production``) the hub refuses to start with the
development secret key or without an MQTT password: a forgotten variable must not ship.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, model_validator

DEV_SECRET = "gatehouse-local-development-secret-do-not-use"
ENV_PREFIX = "GATEHOUSE_"


class UnsafeSettings(ValueError):
    """A setting left at a development default where that is not safe."""


class Settings(BaseModel):
    """Everything the hub is configured with; each field is ``GATEHOUSE_<NAME>``.

    :param mode: ``local`` (development, the demo, tests) or ``production``.
    :param database_url: SQLAlchemy URL; SQLite files run in WAL mode.
    :param secret_key: encrypts gate keys and card secrets at rest.
    :param mqtt_host: broker the hub's MQTT service connects to.
    :param mqtt_public_host: broker address handed to gates at provisioning.
    :param mqtt_share_group: MQTT v5 shared-subscription group for several hub replicas.
    :param mqtt_workers: threads handling gate messages (0: 1 on SQLite, 4 on PostgreSQL).
    :param claim_ttl_s: lifetime of a gate's one-time claim token.
    :param acl_max_delta_versions: a gate further behind than this gets a snapshot.
    :param clock: ``system``, or ``manual``: a test clock kept in the database and moved
        by ``gatehouse hub clock advance`` (refused in production mode).
    :param gateway: ``simulated`` (test cards, a ledger at *simulated_gateway_path*,
        default: beside a SQLite database) or ``stripe`` (*stripe_api_key*,
        *stripe_webhook_secret*).
    :param due_every_s: run the due work (billing run, emails, entitlement refresh) in
        the server every this many seconds; 0 leaves it to ``gatehouse hub clock
        run-due`` from cron.  Safe on every replica of a chain.
    :param mail_outbox: folder invoice emails are written to when *smtp_host* is unset
        (default: beside a SQLite database).
    :param sms_webhook_url: the club's SMS gateway, POSTed signed JSON
        (*sms_webhook_secret*); unset, dunning SMS go to the folder *sms_outbox*.
    """

    mode: Literal["local", "production"] = "local"
    database_url: str = "sqlite:///gatehouse-hub.db"
    secret_key: str = DEV_SECRET
    public_url: str = "http://127.0.0.1:8000"
    mqtt_enabled: bool = True
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    mqtt_public_host: str | None = None
    mqtt_public_port: int | None = None
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_tls: bool = False
    mqtt_ca_file: str | None = None
    mqtt_share_group: str | None = None
    mqtt_client_id: str | None = None
    mqtt_workers: int = 0
    claim_ttl_s: int = 24 * 3600
    session_ttl_s: int = 12 * 3600
    acl_max_delta_versions: int = 100
    acl_poll_s: float = 2.0
    acl_expired_retention_days: int = 30
    # Billing (hub.billing): the clock, the payment gateway and the invoice mailer.
    clock: Literal["system", "manual"] = "system"
    due_every_s: float = 0.0
    gateway: Literal["simulated", "stripe"] = "simulated"
    simulated_gateway_path: str | None = None
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    mail_from: str = "Gatehouse <billing@gatehouse.invalid>"
    mail_outbox: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    # Dunning (hub.dunning): SMS through the club's webhook, else into an outbox folder.
    sms_webhook_url: str | None = None
    sms_webhook_secret: str | None = None
    sms_outbox: str | None = None

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.mode != "local":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise UnsafeSettings(
                    "GATEHOUSE_SECRET_KEY must be set to 32+ random characters outside local mode"
                )
            if self.mqtt_enabled and not self.mqtt_password:
                raise UnsafeSettings("GATEHOUSE_MQTT_PASSWORD must be set outside local mode")
            if self.clock == "manual":
                raise UnsafeSettings("GATEHOUSE_CLOCK=manual (a test clock) is local mode only")
        if self.gateway == "stripe" and not (self.stripe_api_key and self.stripe_webhook_secret):
            raise UnsafeSettings(
                "GATEHOUSE_GATEWAY=stripe needs the STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET"
            )
        return self

    @property
    def broker_host_for_gates(self) -> str:
        """Broker host written into gate configs."""
        return self.mqtt_public_host or self.mqtt_host

    @property
    def broker_port_for_gates(self) -> int:
        """Broker port written into gate configs."""
        return self.mqtt_public_port or self.mqtt_port

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from ``GATEHOUSE_*`` variables (unset ones keep defaults)."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in env:
                values[name] = env[key]
        return cls.model_validate(values)


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings.from_env()
