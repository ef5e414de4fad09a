"""Property test of the whole API from its OpenAPI spec: no input gives a 500.

Schemathesis generates requests for every operation of ``/openapi.json`` (valid and
invalid bodies, parameters, ids) and sends them to the app in-process with an owner's
token; any 5xx answer fails the test with the request that caused it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gatehouse.clock import ManualClock
from hub.app import create_app
from hub.core.config import Settings
from hub.core.db import make_engine
from hub.migrations import upgrade
from hub.models import Role
from hub.models.site import SiteCreate
from hub.services.sites import create_site
from tests.hub.api.conftest import make_token
from tests.hub.conftest import START


def _fuzz(tmp: Path, examples: int) -> list[str]:
    url = f"sqlite:///{tmp / 'fuzz.db'}"
    upgrade(url)
    engine = make_engine(url)
    clock = ManualClock(START)
    conf = Settings(database_url=url, mqtt_enabled=False)
    from sqlmodel import Session

    with Session(engine) as s:  # something for ids 1 to point at
        s.info["settings"] = conf
        create_site(s, data=SiteCreate(slug="club1", name="Club"), clock=clock)
        s.commit()
    app = create_app(conf, clock=clock, engine=engine)
    headers = {"Authorization": f"Bearer {make_token(engine, conf, clock, Role.OWNER)}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            try:
                response = case.call(headers=headers)
            except Exception as err:  # the app raised instead of answering
                failures.append(f"{case.method} {case.formatted_path} {case.body!r} -> {err!r}")
                return
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.body!r} -> {response.status_code}"
                )

        check()
    engine.dispose()
    return failures


def test_no_request_from_the_spec_makes_a_server_error(tmp_path: Path) -> None:
    assert _fuzz(tmp_path, examples=10) == []


@pytest.mark.slow
def test_no_request_from_the_spec_makes_a_server_error_thoroughly(tmp_path: Path) -> None:
    assert _fuzz(tmp_path, examples=150) == []
