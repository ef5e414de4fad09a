"""Shared set-up of the hub benchmarks: a database (temporary SQLite file, or a throwaway
PostgreSQL database on the server in ``GATEHOUSE_BENCH_PG``), a Mosquitto, the machine line."""

from __future__ import annotations

import os
import platform
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gatehouse.services.postgres import sqlalchemy_url


def machine_line() -> str:
    return f"machine: {platform.processor() or platform.machine()} cores={os.cpu_count()}"


@contextmanager
def bench_database(prefix: str) -> Iterator[tuple[str, str]]:
    """Yield ``(sqlalchemy_url, backend name)``; dropped/removed afterwards."""
    server = os.environ.get("GATEHOUSE_BENCH_PG")
    if not server:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}", "sqlite"
        return
    import psycopg

    admin = server.replace("postgresql+psycopg://", "postgresql://")
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sqlalchemy_url(admin.rsplit("/", 1)[0] + "/" + name), "postgresql"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
