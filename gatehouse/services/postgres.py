"""Throwaway PostgreSQL databases for tests and benchmarks.

Every test run gets its own database, created on the server at ``GATEHOUSE_TEST_PG``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``) and dropped afterwards::

    url = create_database()          # postgresql+psycopg://postgres@127.0.0.1:5432/gh_test_1a2b3c
    ...
    drop_database(url)

:func:`ensure_server` starts the local cluster when it is installed but not running,
and raises :class:`PostgresUnavailable` with the reason otherwise: a test that needs
PostgreSQL fails loudly, it is never skipped.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import time

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be reached or started."""


def admin_url() -> str:
    """URL of the maintenance database used to create and drop test databases."""
    return os.environ.get("GATEHOUSE_TEST_PG", DEFAULT_ADMIN_URL)


def _connect(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def ensure_server(timeout: float = 30.0) -> None:
    """Make sure the server answers; start the local cluster if it is installed."""
    try:
        _connect(admin_url()).close()
        return
    except Exception as first:  # noqa: BLE001 - we report it below
        error = first
    clusters = sorted(glob.glob("/etc/postgresql/*/main"))
    if clusters and shutil.which("pg_ctlcluster"):
        version = clusters[-1].split("/")[3]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                _connect(admin_url()).close()
                return
            except Exception as again:  # noqa: BLE001
                error = again
                time.sleep(0.3)
    raise PostgresUnavailable(f"PostgreSQL at {admin_url()} is unavailable: {error}")


def sqlalchemy_url(url: str) -> str:
    """The same URL with the ``postgresql+psycopg://`` driver prefix SQLAlchemy wants."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def create_database(prefix: str = "gh_test") -> str:
    """Create an empty database; return its SQLAlchemy URL."""
    ensure_server()
    name = f"{prefix}_{secrets.token_hex(4)}"
    with _connect(admin_url()) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url().rsplit("/", 1)[0]
    return sqlalchemy_url(f"{base}/{name}")


def drop_database(url: str) -> None:
    """Drop a database made by :func:`create_database` (closing its connections)."""
    name = url.rsplit("/", 1)[1]
    with _connect(admin_url()) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
