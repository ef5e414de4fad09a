"""Set-at-a-time database work for the billing run: plain rows in, one statement out.

The billing run handles thousands of subscriptions per transaction; building an ORM
object per row costs more than the database work itself. These helpers read rows as
simple attribute objects and write many rows with one ``executemany``, through the
tables' own column types (so timestamps are stored as everywhere else)::

    subs = read_rows(session, select(Subscription.__table__).where(...))
    sub = subs[0]; sub.status = "past_due"                  # plain attributes
    update_rows(session, Subscription, [{"id": sub.id, "status": sub.status}])
    insert_rows(session, Payment, [{...}, {...}])

Rows written this way bypass the session's identity map; :func:`forget_loaded` expires
ORM objects a caller may still hold so they are read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, Table, bindparam
from sqlmodel import Session, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The :class:`~sqlalchemy.Table` of a SQLModel table class."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def read_rows(session: Session, query: Select[Any]) -> list[SimpleNamespace]:
    """The rows of *query* as mutable attribute objects (``row.status``)."""
    return [SimpleNamespace(**row._mapping) for row in session.connection().execute(query)]


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert *rows* (dicts with the same keys) in one ``executemany``."""
    if rows:
        session.connection().execute(table_of(model).insert(), list(rows))


def update_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> None:
    """Update rows by ``id``; every dict carries ``id`` and the same other keys."""
    if not rows:
        return
    table = table_of(model)
    names = [name for name in rows[0] if name != "id"]
    statement = (
        table.update()
        .where(table.c.id == bindparam("_id"))
        .values({name: bindparam(f"_{name}") for name in names})
    )
    params = [{"_id": r["id"], **{f"_{name}": r[name] for name in names}} for r in rows]
    session.connection().execute(statement, params)


def forget_loaded(session: Session) -> None:
    """Expire the ORM objects *session* holds (after rows changed underneath them)."""
    if session.identity_map:
        session.flush()
        session.expire_all()
