"""Fixtures for billing tests: a real ``localstripe`` process.

localstripe saves its whole store to ``/tmp/localstripe.pickle`` after every change (the
path is hard-coded in ``localstripe.resources.Store``; ``TMPDIR`` does not move it), so
servers of parallel test runs would overwrite one shared file. Ours runs the unchanged
server through a three-line launcher that points that save at the server's own working
directory (also its ``TMPDIR``), removed afterwards. It listens on a free port with
``--from-scratch``; if it does not come up the fixture fails with its log (never skips).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatehouse.services import die_with_parent, free_port, wait_for_port

# Runs localstripe's own server, saving its store into argv[1] instead of /tmp.
LAUNCHER = """
import pickle, sys
from localstripe import resources, server
path = sys.argv.pop(1)
def dump_to_disk(store):
    with open(path, "wb") as f:
        pickle.dump(store, f, protocol=pickle.HIGHEST_PROTOCOL)
resources.Store.dump_to_disk = dump_to_disk
sys.argv[0] = "localstripe"
server.start()
"""


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a localstripe server of this test session's own."""
    workdir = tmp_path_factory.mktemp("localstripe")
    port = free_port()
    log = (workdir / "localstripe.log").open("wb")
    env = {**os.environ, "TMPDIR": str(workdir), "TEMP": str(workdir), "TMP": str(workdir)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCHER,
            str(workdir / "localstripe.pickle"),
            "--port",
            str(port),
            "--from-scratch",
        ],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    try:
        try:
            wait_for_port("127.0.0.1", port, timeout=30)
        except TimeoutError:
            proc.kill()
            log.flush()
            text = Path(log.name).read_text(errors="replace")
            raise RuntimeError(f"localstripe did not start on port {port}:\n{text}") from None
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def world(engine, settings, clock, tmp_path):  # type: ignore[no-untyped-def]
    """A billing test club on the migrated SQLite database (see ``world.py``)."""
    from tests.hub.billing.world import World

    w = World(engine, settings, clock, tmp_path)
    yield w
    w.gateway.close()


@pytest.fixture
def billing_settings(db_url, tmp_path):  # type: ignore[no-untyped-def]
    """Hub settings with a manual clock, the simulated gateway and a mail folder in tmp."""
    from hub.core.config import Settings

    return Settings(
        database_url=db_url,
        mqtt_enabled=False,
        clock="manual",
        simulated_gateway_path=str(tmp_path / "gateway.sqlite3"),
        mail_outbox=str(tmp_path / "outbox"),
        mail_from="Lumpini Gym <billing@lumpini.example>",
    )


@pytest.fixture
def api(engine, billing_settings, clock):  # type: ignore[no-untyped-def]
    """The hub API in-process with an owner's token, billing wired to tmp files.

    ``api.app.state.billing.gateway`` is the simulated gateway it charges.
    """
    from fastapi.testclient import TestClient

    from hub.app import create_app
    from hub.billing.services import BillingServices
    from hub.models import Role
    from tests.hub.api.conftest import make_token

    app = create_app(billing_settings, clock=clock, engine=engine)
    app.state.billing = BillingServices.from_settings(billing_settings, clock=clock)
    token = make_token(engine, billing_settings, clock, Role.OWNER)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client
    app.state.billing.close()
