"""An embedded MQTT broker (amqtt) for the demo: no system packages needed.

The demo runs the broker inside its own process, in a background thread with its own
asyncio loop; production and the tests use Mosquitto instead
(:mod:`gatehouse.services.mosquitto`)::

    with EmbeddedBroker() as broker:
        client.connect("127.0.0.1", broker.port)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from types import TracebackType
from typing import Any

from gatehouse.services import free_port, wait_for_port


class EmbeddedBroker:
    """amqtt broker on 127.0.0.1, anonymous, in a daemon thread.

    :param port: TCP port (default: a free one).
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }

    def _run(self) -> None:
        from amqtt.broker import Broker

        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.ERROR)
        # A port probe (connect, close) is not an error worth a line on the terminal.
        logging.getLogger("amqtt.broker").addFilter(
            lambda record: not record.getMessage().startswith("No data from")
        )
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._broker = Broker(self._config(), loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as err:  # reported to start()
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._broker.shutdown())
        loop.close()

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        """Start the broker thread and wait until it accepts connections."""
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            raise RuntimeError(f"embedded broker failed: {self._error}") from self._error
        wait_for_port(self.host, self.port, timeout)
        return self

    def stop(self) -> None:
        """Shut the broker down and join its thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
