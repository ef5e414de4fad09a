"""Publishing one message with the hub's broker user, from a process with no MQTT service.

Administration commands (``gatehouse hub gate rotate-key``) record a command in the
database and then send it themselves, with the same settings as the hub (user,
password, TLS)::

    publish_once(settings, "gh/v1/club1/front-door/down/cmd", payload)
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.core.config import Settings


def publish_once(settings: Settings, topic: str, payload: bytes, timeout: float = 10.0) -> None:
    """Connect, publish *payload* at QoS 1, wait for the broker's PUBACK, disconnect.

    :raises ConnectionError: the broker refused or could not be reached in *timeout*.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if settings.mqtt_username:
        client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
    if settings.mqtt_tls:
        client.tls_set(ca_certs=settings.mqtt_ca_file)
    ready = threading.Event()
    refused: list[str] = []

    def on_connect(
        _c: mqtt.Client, _u: object, _f: object, rc: mqtt.ReasonCode, _p: object
    ) -> None:
        if rc.is_failure:
            refused.append(str(rc))
        ready.set()

    client.on_connect = on_connect
    try:
        client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=30)
    except OSError as err:
        raise ConnectionError(f"broker {settings.mqtt_host}:{settings.mqtt_port}: {err}") from err
    client.loop_start()
    try:
        if not ready.wait(timeout) or refused:
            raise ConnectionError(f"broker refused the hub: {refused or 'no answer'}")
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise ConnectionError("the broker did not acknowledge the message")
    finally:
        client.disconnect()
        client.loop_stop()
