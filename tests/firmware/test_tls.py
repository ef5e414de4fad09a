"""The firmware's MQTT client over TLS to a Mosquitto TLS listener, verifying the broker.

Certificates are made here with the ``openssl`` command: a CA, a broker certificate for
``localhost`` signed by it, and a second CA the broker's certificate does not chain to.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from gatehouse.services import free_port
from gatehouse.services.mosquitto import Mosquitto
from tests.firmware.conftest import run_mp


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(folder: Path) -> None:
    folder.mkdir()
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", f"/CN=Gatehouse test {ca}", "-keyout", f"{ca}.key",
                 "-out", f"{ca}.crt", cwd=folder)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "broker.key", "-out", "broker.csr", cwd=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext",
             "-out", "broker.crt", cwd=folder)  # fmt: skip
    for name in ("ca.crt", "broker.crt", "broker.key"):
        (folder / name).chmod(0o644)


SCRIPT = """
import json, sys, time
from hublink import _tls_context
from mqtt import MQTTClient, MQTTError

for case in json.load(open(sys.argv[1])):
    m = case["mqtt"]
    c = MQTTClient("gate", m["host"], m["port"], timeout_ms=5000, tls=_tls_context(m))
    got = []
    c.on_message = lambda t, p, r: got.append(bytes(p))
    try:
        c.connect()
        c.subscribe("tls/echo", 1)
        c.publish("tls/echo", b"sealed", qos=1)
        start = time.ticks_ms()
        while not got and time.ticks_diff(time.ticks_ms(), start) < 3000:
            c.poll(100)
        print(case["name"], "ok", got, len(c.inflight))
    except (OSError, MQTTError, ValueError) as err:
        print(case["name"], "refused", type(err).__name__)
    c.close()
"""


def test_tls_with_the_right_ca_works_and_any_other_is_refused(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    _certificates(certs)
    port = free_port()
    extra = (
        f"listener {port} 127.0.0.1\n"
        f"cafile {certs / 'ca.crt'}\n"
        f"certfile {certs / 'broker.crt'}\n"
        f"keyfile {certs / 'broker.key'}"
    )
    with Mosquitto(tmp_path / "mq", extra=extra) as broker:
        assert broker.running
        ca = (certs / "ca.crt").read_text()
        other = (certs / "other-ca.crt").read_text()
        cases = [
            {
                "name": "right-ca",
                "mqtt": {"host": "localhost", "port": port, "tls": True, "ca": ca},
            },
            {
                "name": "ca-file",
                "mqtt": {
                    "host": "localhost",
                    "port": port,
                    "tls": True,
                    "ca": str(certs / "ca.crt"),
                },
            },  # fmt: skip
            {
                "name": "other-ca",
                "mqtt": {"host": "localhost", "port": port, "tls": True, "ca": other},
            },  # fmt: skip
            {"name": "no-ca", "mqtt": {"host": "localhost", "port": port, "tls": True}},
            {"name": "plain-to-tls", "mqtt": {"host": "127.0.0.1", "port": port}},
        ]
        job = tmp_path / "cases.json"
        job.write_text(json.dumps(cases))
        out = run_mp(SCRIPT, tmp_path, str(job)).splitlines()
    assert out[0] == "right-ca ok [b'sealed'] 0"
    assert out[1] == "ca-file ok [b'sealed'] 0"
    assert out[2].startswith("other-ca refused")
    assert out[3].startswith("no-ca refused")
    assert out[4].startswith("plain-to-tls refused")
