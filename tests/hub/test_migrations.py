"""Alembic: an empty database upgrades to head, and head matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import hub.models  # noqa: F401
from hub.core.db import make_engine
from hub.migrations import alembic_config, current_heads


def script_heads() -> set[str]:
    """The newest revision(s) of the migration scripts; the history is one line."""
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    assert len(heads) == 1, f"migrations branch: {heads}"
    return heads


EXPECTED = {
    "site", "zone", "door", "schedule", "gate", "gateclaim", "gatestore", "member", "card",
    "entitlement", "checkin", "auditlog", "user", "apitoken", "aclentry", "aclchange",
    "consolesession", "loginthrottle", "memberinteraction",
    "plan", "subscription", "paymentmethod", "gatewaycustomer", "billingprofile", "invoice",
    "invoicecounter", "invoiceline", "chargeattempt", "payment", "refund", "dispute",
    "webhookevent", "dunningcase", "clockstate",
    "dunningaction", "dunningmessage", "collectiontask", "paymentplan", "dunningpolicy",
    "dunningsegments",
    "portallink", "portalsession", "freezerequest",
    "usageplan", "usagepass", "usagerecord", "usagesite",
}  # fmt: skip


def test_empty_database_upgrades_to_head_matching_the_models(any_db_url: str) -> None:
    assert current_heads(any_db_url) == script_heads()
    engine = make_engine(any_db_url)
    try:
        assert set(inspect(engine).get_table_names()) >= EXPECTED
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
