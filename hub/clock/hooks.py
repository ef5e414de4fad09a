"""Work that falls due with time, in order: the hook list the clock runs.

Each :class:`DueHook` has a name, an order and a function taking a :class:`DueContext`.
Advancing the test clock (and ``gatehouse hub clock run-due``, run every few minutes in
production) runs them all, lowest order first, at each step::

    def run_dunning(ctx: DueContext) -> object: ...
    register_due_hook("dunning", run_dunning, order=500)

Built in (:mod:`hub.clock.builtin`): ``billing`` (100), ``invoice-emails`` (150) and
``entitlements`` (900, the access-list refresh of entitlements that started or ended);
dunning (:mod:`hub.dunning.hooks`) adds ``dunning`` (200) and ``card-expiry`` (210).
A part of the product adds its module to :data:`HOOK_MODULES` so its hooks register
whenever the list is read. Registering a name again replaces that hook.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from gatehouse.clock import Clock
from hub.core.config import Settings

#: Modules that register due hooks when imported (lowest order runs first).
HOOK_MODULES: tuple[str, ...] = ("hub.clock.builtin", "hub.dunning.hooks", "hub.usage.hooks")


@dataclass(frozen=True)
class DueContext:
    """What a due hook runs with.

    :param billing: the :class:`~hub.billing.services.BillingServices` (gateway,
        mailer), made on first use.
    """

    engine: Engine
    settings: Settings
    clock: Clock
    services: Any = None

    @property
    def billing(self) -> Any:
        """The gateway and mailer (:class:`~hub.billing.services.BillingServices`)."""
        if self.services is None:
            from hub.billing.services import BillingServices

            object.__setattr__(
                self, "services", BillingServices.from_settings(self.settings, clock=self.clock)
            )
        return self.services


@dataclass(frozen=True)
class DueHook:
    """One kind of due work: ``run(ctx)`` is called at every clock step."""

    name: str
    order: int
    run: Callable[[DueContext], object]


_hooks: dict[str, DueHook] = {}
_lock = threading.Lock()


def register_due_hook(name: str, run: Callable[[DueContext], object], *, order: int) -> DueHook:
    """Add (or replace) the hook *name*; *order* places it (billing is 100)."""
    hook = DueHook(name, order, run)
    with _lock:
        _hooks[name] = hook
    return hook


def unregister_due_hook(name: str) -> None:
    """Remove the hook *name* (no error if absent)."""
    with _lock:
        _hooks.pop(name, None)


def due_hooks() -> list[DueHook]:
    """Every registered hook, in running order."""
    for module in HOOK_MODULES:
        importlib.import_module(module)
    with _lock:
        return sorted(_hooks.values(), key=lambda h: (h.order, h.name))


def run_due_work(ctx: DueContext, hooks: Sequence[DueHook] | None = None) -> dict[str, object]:
    """Run *hooks* (default: :func:`due_hooks`) in order; returns each one's result."""
    results: dict[str, object] = {}
    for hook in due_hooks() if hooks is None else hooks:
        results[hook.name] = hook.run(ctx)
    return results
