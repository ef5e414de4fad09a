"""The helpers that start real services for tests, benches and the demo."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from gatehouse.clock import ManualClock
from gatehouse.services.mosquitto import Mosquitto


def _roundtrip(port: int, username: str | None = None, password: str | None = None) -> bytes | None:
    got: list[bytes] = []
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{username}")
    if username:
        c.username_pw_set(username, password)

    def on_message(_c, _u, m):  # type: ignore[no-untyped-def]
        got.append(m.payload)
        done.set()

    c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.subscribe("t/#", qos=1)
    c.publish("t/x", b"ping", qos=1).wait_for_publish(3)
    done.wait(3)
    c.loop_stop()
    c.disconnect()
    return got[0] if got else None


def test_anonymous_broker_delivers(mosquitto: Mosquitto) -> None:
    assert _roundtrip(mosquitto.port) == b"ping"


def test_broker_with_users_refuses_wrong_password(tmp_path: Path) -> None:
    acl = "user alice\ntopic readwrite t/#\n"
    with Mosquitto(tmp_path, users={"alice": "s3cret"}, acl=acl) as broker:
        assert _roundtrip(broker.port, "alice", "s3cret") == b"ping"
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="mallory")
        c.username_pw_set("alice", "wrong")
        rc = c.connect("127.0.0.1", broker.port)
        result: list[object] = []
        c.on_connect = lambda _c, _u, _f, reason, _p: result.append(reason)
        assert rc == 0
        c.loop_start()
        for _ in range(100):
            if result:
                break
            threading.Event().wait(0.02)
        c.loop_stop()
        assert result and result[0].is_failure  # type: ignore[attr-defined]


def test_postgres_database_is_fresh(pg_url: str) -> None:
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        tables = conn.execute("select count(*) from pg_tables where schemaname='public'").fetchone()
    assert tables == (0,)


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(1_795_996_800)
    assert clock.timestamp() == 1_795_996_800
    clock.advance(days=30)
    assert clock.timestamp() == 1_795_996_800 + 30 * 86400
    try:
        clock.advance(seconds=-1)
    except ValueError:
        pass
    else:
        raise AssertionError("clock ran backwards")


def test_service_processes_die_with_the_process_that_started_them() -> None:
    """A test run killed by a timeout leaves no broker or gate running behind it."""
    import os
    import subprocess
    import sys
    import time

    script = (
        "import subprocess, sys, time\n"
        "from gatehouse.services import die_with_parent\n"
        "p = subprocess.Popen(['sleep', '60'], preexec_fn=die_with_parent)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    raise AssertionError("the child outlived its parent")
