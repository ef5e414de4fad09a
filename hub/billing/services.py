"""The effectful parts billing runs with -- gateway and mailer -- built from settings.

::

    services = BillingServices.from_settings(settings, clock=clock)
    services.gateway.name          # 'simulated' or 'stripe'
    services.mailer.send(...)      # an outbox folder, or SMTP when GATEHOUSE_SMTP_HOST is set
    services.close()

The API keeps one per app (:func:`billing_services`); a test can put its own on
``app.state.billing`` before the first request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatehouse.clock import Clock
from hub.billing.gateway import PaymentGateway
from hub.core.config import Settings
from hub.dunning.mailer import FolderMailer, Mailer, SmtpMailer


def beside_database(settings: Settings, name: str) -> str:
    """A path for *name* next to a SQLite database file (``hub.db`` ->
    ``hub-gateway.sqlite3``), or ``gatehouse-<name>`` in the working folder otherwise."""
    url = settings.database_url
    if url.startswith("sqlite:///") and ":memory:" not in url and len(url) > len("sqlite:///"):
        db = Path(url[len("sqlite:///") :])
        return str(db.with_name(f"{db.stem}-{name}"))
    return f"gatehouse-{name}"


@dataclass
class BillingServices:
    """A gateway and a mailer.

    :param gateway: what charges and refunds.
    :param mailer: what sends invoice emails.
    """

    gateway: PaymentGateway
    mailer: Mailer

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock) -> BillingServices:
        """The gateway and mailer *settings* ask for."""
        gateway: PaymentGateway
        if settings.gateway == "stripe":
            from hub.billing.stripe_gateway import StripeGateway

            gateway = StripeGateway.connect(
                settings.stripe_api_key or "",
                webhook_secret=settings.stripe_webhook_secret or "",
                api_base=settings.stripe_api_base,
            )
        else:
            from hub.billing.simulated_gateway import SimulatedGateway

            gateway = SimulatedGateway(
                settings.simulated_gateway_path or beside_database(settings, "gateway.sqlite3"),
                clock=clock,
            )
        mailer: Mailer
        if settings.smtp_host:
            mailer = SmtpMailer(
                settings.smtp_host,
                settings.smtp_port,
                sender=settings.mail_from,
                username=settings.smtp_username,
                password=settings.smtp_password,
                starttls=settings.smtp_starttls,
            )
        else:
            mailer = FolderMailer(
                settings.mail_outbox or beside_database(settings, "outbox"),
                sender=settings.mail_from,
            )
        return cls(gateway=gateway, mailer=mailer)

    def close(self) -> None:
        """Release the gateway's resources (the simulated ledger's file)."""
        close = getattr(self.gateway, "close", None)
        if close is not None:
            close()


_lock = threading.Lock()


def billing_services(state: Any) -> BillingServices:
    """The app's :class:`BillingServices` (``app.state.billing``), made on first use."""
    with _lock:
        found = getattr(state, "billing", None)
        if found is None:
            found = BillingServices.from_settings(state.settings, clock=state.clock)
            state.billing = found
        return found  # type: ignore[no-any-return]
