"""The console's usage page: a member's passes, visits used and left, each visit's time
and door.  Plugged in with :func:`hub.console.extend_console` by :func:`install`::

    install(app)        # GET /console/members/{member_id}/usage (members.view)

The member page links to it from its "Visits" section.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import SessionDep
from hub.console import extend_console
from hub.console.deps import MemberViewer, PageNotFound
from hub.console.web import render
from hub.models import Member, Site
from hub.usage.views import member_usage

HERE = Path(__file__).parent
router = APIRouter(prefix="/members")


@router.get("/{member_id}/usage", response_class=HTMLResponse)
def usage_page(
    request: Request, member_id: int, db: SessionDep, viewer: MemberViewer
) -> HTMLResponse:
    """Visits used and remaining, and every visit with its time and door."""
    member = db.get(Member, member_id)
    if member is None:
        raise PageNotFound()
    usage = member_usage(db, member_id)
    site_ids = {p.site_id for p in usage.passes} | {v.site_id for v in usage.visits}
    timezone = "UTC"
    if len(site_ids) == 1:
        site = db.get(Site, next(iter(site_ids)))
        timezone = site.timezone if site else "UTC"
    return render(request, "usage/member.html", viewer=viewer, timezone=timezone,
                  member=member, usage=usage)  # fmt: skip


def install(app: FastAPI) -> None:
    """Add the usage page, its words and templates to the console mounted on *app*."""
    extend_console(app, routers=(router,), locale_dirs=(HERE / "locales",),
                   template_dirs=(HERE / "templates",))  # fmt: skip
