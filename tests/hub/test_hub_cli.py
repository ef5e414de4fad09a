"""`gatehouse hub migrate` and `create-user` against a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from gatehouse.cli import app as cli
from hub.core.config import Settings, get_settings
from hub.core.db import make_engine
from hub.core.security import verify_password
from hub.migrations import current_heads
from hub.models import User
from tests.hub.test_migrations import script_heads


@pytest.fixture
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path / "..")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_migrate_then_create_user(fresh_db: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["hub", "migrate"]).exit_code == 0
    assert current_heads(fresh_db) == script_heads()
    args = [
        "hub",
        "create-user",
        "--email",
        "ana@club.example",
        "--name",
        "Ana",
        "--role",
        "manager",
    ]
    r = runner.invoke(cli, args, input="long enough pw\nlong enough pw\n")
    assert r.exit_code == 0, r.output
    assert runner.invoke(cli, args, input="long enough pw\nlong enough pw\n").exit_code != 0
    short = runner.invoke(cli, [*args[:3], "b@club.example", *args[4:]], input="short\nshort\n")
    assert short.exit_code != 0 and "password" in short.output
    engine = make_engine(fresh_db)
    with Session(engine) as s:
        user = s.exec(select(User)).one()
    engine.dispose()
    assert user.role == "manager" and user.password_hash.startswith("$argon2")
    assert verify_password("long enough pw", user.password_hash)


def test_production_mode_refuses_unsafe_defaults() -> None:
    with pytest.raises(ValueError, match="GATEHOUSE_SECRET_KEY"):
        Settings(mode="production")
    with pytest.raises(ValueError, match="GATEHOUSE_MQTT_PASSWORD"):
        Settings(mode="production", secret_key="x" * 40)
    ok = Settings(mode="production", secret_key="x" * 40, mqtt_password="pw")
    assert ok.mode == "production"
    env = {"GATEHOUSE_MQTT_PORT": "1999", "GATEHOUSE_MQTT_TLS": "true"}
    assert Settings.from_env(env).mqtt_port == 1999 and Settings.from_env(env).mqtt_tls
