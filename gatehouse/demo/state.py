"""How a demo run is set up (:class:`DemoOptions`) and what its live view shows
(:class:`DemoState`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gatehouse.demo.gates import Tap


@dataclass
class DemoOptions:
    """How to run the demo.

    :param workdir: folder for the database, the mail outbox and the gates' stores.
    :param port: the hub's HTTP port (the console is at ``/console``).
    :param speed: real seconds per simulated day (0: as fast as the parts answer).
    :param days: how many days the story plays.
    :param broker: ``"amqtt"`` (embedded) or a started broker object with ``.port``.
    :param firmware: run the second gate on MicroPython (default: when available).
    :param partition: cut the second gate off from the broker before the suspension.
    """

    workdir: Path
    port: int = 8000
    speed: float = 2.0
    days: int = 30
    members: int = 50
    broker: Any = "amqtt"
    firmware: bool | None = None
    partition: bool = False
    taps_per_day: int = 4


@dataclass
class DemoState:
    """What the live view shows: the day, recent taps, subscriptions, invoices, dunning
    cases (by status), emails sent (``mail``: hub time, address, subject) and each
    gate's list version."""

    day: int = 0
    days: int = 0
    now: datetime | None = None
    taps: list[tuple[datetime, Tap, str]] = field(default_factory=list)
    subscriptions: dict[str, int] = field(default_factory=dict)
    invoices: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    mail: list[tuple[datetime, str, str]] = field(default_factory=list)
    dunning: list[tuple[datetime, str]] = field(default_factory=list)
    gates: dict[str, str] = field(default_factory=dict)
