"""The hub's MQTT service: gates' messages in, access lists, acks and commands out.

* :mod:`hub.mqtt.service` — :class:`~hub.mqtt.service.HubMqtt`, the service itself.
* :mod:`hub.mqtt.registry` — gate ids to keys and rows, cached.
* :mod:`hub.mqtt.ingest` — storing check-in batches exactly once.
* :mod:`hub.mqtt.commands` — numbering and recording commands to gates.
* :mod:`hub.mqtt.fleet` — status and rejection counters for the fleet view.
* :mod:`hub.mqtt.events` — enroll taps relayed to whoever listens (the console).
"""
