"""Set-at-a-time database work for the billing run: plain rows in, one statement out.

The billing run handles thousands of subscriptions per transaction; building an ORM
object (or even a compiled statement's parameters) per row costs more than the database
work itself. These helpers read rows as simple attribute objects and write many rows
with one driver-level ``executemany``, each value converted by its column's own type
(so dates and timestamps are stored exactly as the ORM stores them)::

    subs = read_rows(session, select(Subscription.__table__).where(...))
    sub = subs[0]; sub.status = "past_due"                  # plain attributes
    update_rows(session, Subscription, [{"id": sub.id, "status": sub.status}])
    insert_rows(session, Payment, [{...}, {...}])

Rows written this way bypass the session's identity map; :func:`forget_loaded` expires
ORM objects a caller may still hold so they are read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, Table
from sqlmodel import Session, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The :class:`~sqlalchemy.Table` of a SQLModel table class."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def read_rows(session: Session, query: Select[Any]) -> list[SimpleNamespace]:
    """The rows of *query* as mutable attribute objects (``row.status``)."""
    result = session.connection().execute(query)
    keys = list(result.keys())
    return [SimpleNamespace(**dict(zip(keys, row, strict=True))) for row in result]


def _placeholder(dialect: Any) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _driver_values(
    table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]], dialect: Any
) -> list[tuple[Any, ...]]:
    """Each row's values in *names* order, converted by the columns' own bind processors
    (so a timestamp is stored exactly as the ORM would store it)."""
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    convert = [(i, _remembering(proc)) for i, proc in enumerate(processors) if proc is not None]
    get = itemgetter(*names)
    values: list[tuple[Any, ...]] = []
    for row in rows:
        picked = get(row)
        out = list(picked) if len(names) > 1 else [picked]
        for i, proc in convert:
            if out[i] is not None:
                out[i] = proc(out[i])
        values.append(tuple(out))
    return values


def _remembering(proc: Any) -> Any:
    """*proc* with its answers remembered: a batch converts the same few timestamps and
    dates (its ``now``, period starts) thousands of times."""
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = result = proc(value)
            return result
        except TypeError:  # not hashable (JSON): convert every time
            return proc(value)

    return convert


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert *rows* (dicts with the same keys) in one ``executemany``."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = table_of(model)
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    mark = _placeholder(dialect)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)})"
        f" VALUES ({', '.join(mark for _ in names)})"
    )
    connection.exec_driver_sql(sql, _driver_values(table, names, rows, dialect))


def update_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> None:
    """Update rows by ``id``; every dict carries ``id`` and the same other keys."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = table_of(model)
    names = [name for name in rows[0] if name != "id"]
    quote = dialect.identifier_preparer.quote
    mark = _placeholder(dialect)
    sql = (
        f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(n)} = {mark}' for n in names)}"
        f" WHERE {quote('id')} = {mark}"
    )
    connection.exec_driver_sql(sql, _driver_values(table, [*names, "id"], rows, dialect))


def forget_loaded(session: Session) -> None:
    """Expire the ORM objects *session* holds (after rows changed underneath them)."""
    if session.identity_map:
        session.flush()
        session.expire_all()
