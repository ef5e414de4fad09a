"""Alembic migrations of the hub's database, kept inside the package.

``gatehouse hub migrate`` (or :func:`upgrade`) runs them from any folder::

    upgrade("sqlite:///hub.db")              # empty database -> head
    upgrade(url, revision="0001")

The history is one line: hub core (``0001``), console (``0002_console``), billing
(``0003``), and each part that adds tables adds its revision on top of the current head
(``alembic -c hub/migrations/alembic.ini revision --autogenerate`` makes one).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """An Alembic :class:`Config` for the hub's migrations against *url*."""
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at *url* to *revision* (default: the newest)."""
    command.upgrade(alembic_config(url), revision)


def current_heads(url: str) -> set[str]:
    """Revisions the database at *url* is at."""
    from alembic.runtime.migration import MigrationContext

    from hub.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
