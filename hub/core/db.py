"""Database engines and sessions.

SQLite (the default, one club on one machine) runs in WAL mode with foreign keys on, so
the API and the MQTT ingest can read while the other writes; PostgreSQL serves a chain::

    engine = make_engine("sqlite:///hub.db")
    with Session(engine) as session:
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for *url*; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        args = kwargs.pop("connect_args", {})
        args.setdefault("check_same_thread", False)
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        engine = create_engine(url, connect_args=args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


def is_sqlite(engine: Engine) -> bool:
    """True if *engine* talks to SQLite."""
    return engine.dialect.name == "sqlite"


def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield one session (``expire_on_commit=False``) and close it afterwards."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
