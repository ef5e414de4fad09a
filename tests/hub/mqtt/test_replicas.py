"""Two hub replicas on an MQTT v5 shared subscription split the gates' messages and
store every check-in exactly once."""

from __future__ import annotations

from sqlmodel import func, select

from hub.models import CheckIn
from hub.mqtt.service import HubMqtt
from tests.hub.mqtt.conftest import Harness


def test_two_replicas_share_the_ingest(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.service.stop()
    shared = h.settings.model_copy(update={"mqtt_share_group": "hub"})
    one = HubMqtt(engine=h.engine, settings=shared.model_copy(update={"mqtt_client_id": "hub-1"}),
                  clock=h.clock).start()  # fmt: skip
    two = HubMqtt(engine=h.engine, settings=shared.model_copy(update={"mqtt_client_id": "hub-2"}),
                  clock=h.clock).start()  # fmt: skip
    h.service = one
    try:
        site = h.make.site()
        gate = h.sim(h.add_gate(site, h.make.door(site)), start=False)
        gate.start(hello=False)
        for _ in range(40):
            gate.tap_key(bytes(8))
        for _ in range(3):  # each batch of 10 three times: 12 messages over two replicas
            gate.flush(max_batch=10)
        assert gate.wait_acked(40)
        assert one.wait_idle() and two.wait_idle()
        stored = h.session.exec(select(func.count()).select_from(CheckIn)).one()
        assert stored == 40
        assert one.rejections.total() == two.rejections.total() == 0
        assert one.handled > 0 and two.handled > 0
    finally:
        two.stop()
