"""The API in-process (TestClient) on a migrated database, with an owner's token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from gatehouse.clock import ManualClock
from hub.app import create_app
from hub.core.config import Settings
from hub.models import Role
from hub.models.user import UserCreate
from hub.services.users import create_user, issue_api_token


def make_token(engine: Engine, settings: Settings, clock: ManualClock, role: Role) -> str:
    with Session(engine) as s:
        s.info["settings"] = settings
        _, token = issue_api_token(s, name=f"test {role.value}", role=role.value, clock=clock)
        s.commit()
    return token


@pytest.fixture
def client(engine: Engine, settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, engine=engine)
    token = make_token(engine, settings, clock, Role.OWNER)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture
def owner_email(engine: Engine, settings: Settings, clock: ManualClock) -> str:
    with Session(engine) as s:
        s.info["settings"] = settings
        data = UserCreate(email="owner@club.example", full_name="Owner", role=Role.OWNER,
                          password="correct horse battery")  # fmt: skip
        create_user(s, data=data, clock=clock)
        s.commit()
    return "owner@club.example"
