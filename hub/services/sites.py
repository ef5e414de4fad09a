"""Creating sites: each gets its own random card secret, sealed at rest."""

from __future__ import annotations

from sqlmodel import Session

from gatehouse.clock import Clock
from hub.access.keys import new_card_secret
from hub.models import Site
from hub.models.site import SiteCreate


def create_site(session: Session, *, data: SiteCreate, clock: Clock) -> Site:
    """Add a site with a fresh card secret (flushed, not committed)."""
    site = Site(
        slug=data.slug,
        name=data.name,
        timezone=data.timezone,
        card_secret_enc=new_card_secret(session),
        created_at=clock.now(),
    )
    session.add(site)
    session.flush()
    return site
