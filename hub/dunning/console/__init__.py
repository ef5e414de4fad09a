"""Dunning in the web console: the queue, a case's history, collections tasks, policies.

Plugged in with :func:`hub.console.extend_console` (``create_app`` calls
:func:`install`): its own pages, Thai and English words and templates, and a
navigation entry, all for owners and managers (``billing.view`` to look,
``billing.manage`` to change)::

    /console/dunning                    open cases by policy step, with the next action
    /console/dunning/cases/{id}         a case: its actions, messages, tasks, plans
    /console/dunning/tasks              the collections queue (broken promises first)
    /console/dunning/tasks/{id}         POST: assign, note, promise to pay, close
    /console/dunning/policies           the stored policies; POST a new version
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hub.console import extend_console
from hub.console.nav import NavEntry
from hub.console.permissions import Perm

HERE = Path(__file__).resolve().parent


def install(app: FastAPI) -> None:
    """Add the dunning pages to *app*'s console."""
    from hub.dunning.console.routes import router

    extend_console(
        app,
        routers=(router,),
        locale_dirs=(HERE / "locales",),
        template_dirs=(HERE / "templates",),
        nav=(NavEntry("nav.dunning", "/console/dunning", Perm.BILLING_VIEW, 65),),
    )
