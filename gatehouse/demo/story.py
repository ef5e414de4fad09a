"""What the demo must show, in order, and how a run is checked against it.

The story follows one member, the *hero*, through a billing month::

    admitted -> renewal fails -> reminders -> suspended -> denied at both gates
             -> paid -> admitted again        (and every check-in stored exactly once)

A run records :class:`Event` rows in a :class:`Journal` as it observes them (in the
hub's database, the mail outbox and the gates' own output); :func:`missing` compares
the journal with :data:`EXPECTED` and names each step that did not happen, or did not
happen after the step before it::

    journal.add("suspended", at=clock.now(), detail="dunning day 7")
    missing(journal, gates=["front-door", "side-door"])   # [] when the story held
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

#: The story's steps: (event name, what it means).  ``{gate}`` steps happen per gate.
EXPECTED: list[tuple[str, str]] = [
    ("hub ready", "the hub answers on its port with the club seeded"),
    ("gates online", "every gate holds the club's access list"),
    ("admitted at {gate}", "the hero's card opens the door while the membership is paid"),
    ("renewal failed", "the hero's renewal charge is declined and a dunning case opens"),
    ("reminder sent", "dunning emails the hero a reminder"),
    ("suspended", "dunning suspends the hero's subscription at the policy's day"),
    ("denied at {gate}", "the hero's card is refused after the suspension"),
    ("paid", "the hero pays the open invoice through the pay link emailed to her"),
    ("admitted again at {gate}", "the hero's card opens the door again after paying"),
    ("check-ins stored once at {gate}", "every decision of the gate is stored exactly once"),
]


@dataclass(frozen=True)
class Event:
    """Something the run saw: its name, the hub's time, and a line for people."""

    name: str
    at: datetime
    detail: str = ""


class Journal:
    """The events of one run, first occurrence of each name kept; thread-safe.

    :param on_event: called with each new event (the live view shows it).
    """

    def __init__(self, on_event: Callable[[Event], None] | None = None) -> None:
        self.events: list[Event] = []
        self.on_event = on_event
        self._lock = threading.Lock()

    def add(self, name: str, *, at: datetime, detail: str = "") -> Event | None:
        """Record *name* unless it was recorded before; returns the new event."""
        with self._lock:
            if self.has(name):
                return None
            event = Event(name, at, detail)
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return event

    def replace(self, name: str, *, at: datetime, detail: str = "") -> Event:
        """Record *name* again, in place of an earlier occurrence."""
        with self._lock:
            self.events = [e for e in self.events if e.name != name]
            event = Event(name, at, detail)
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return event

    def has(self, name: str) -> bool:
        return any(e.name == name for e in self.events)

    def first(self, name: str) -> Event | None:
        return next((e for e in self.events if e.name == name), None)


def expected_names(gates: list[str]) -> list[list[str]]:
    """The story's steps in order, each a list of event names (one per gate for
    ``{gate}`` steps)."""
    steps = []
    for name, _ in EXPECTED:
        steps.append([name.format(gate=g) for g in gates] if "{gate}" in name else [name])
    return steps


def missing(
    journal: Journal, gates: list[str], extra: list[tuple[str, str]] | None = None
) -> list[str]:
    """Every expected event that is absent or came before the step it must follow.

    :param extra: more ``(event name, meaning)`` that must happen after the renewal
        failed, in any order (the partition's steps, for example).
    """
    problems: list[str] = []
    failed = journal.first("renewal failed")
    for name, why in extra or []:
        event = journal.first(name)
        if event is None:
            problems.append(f"{name}: missing ({why})")
        elif failed is not None and event.at < failed.at:
            problems.append(f"{name}: before the renewal failed")
    explain = {name: why for name, why in EXPECTED}
    previous: datetime | None = None
    for (template, _), names in zip(EXPECTED, expected_names(gates), strict=True):
        latest: datetime | None = None
        for name in names:
            event = journal.first(name)
            if event is None:
                problems.append(f"{name}: missing ({explain[template]})")
                continue
            if previous is not None and event.at < previous:
                problems.append(f"{name}: at {event.at:%Y-%m-%d %H:%M}, before the step it follows")
            latest = event.at if latest is None else max(latest, event.at)
        if latest is not None:
            previous = latest
    return problems
