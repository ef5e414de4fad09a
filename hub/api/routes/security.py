"""What the hub has refused: ``GET /api/v1/security/rejections`` (owners and managers).

MQTT refusals by gate and code (bad MAC, wrong key, replay, malformed, ...) and HTTP
refusals by kind (oversized bodies, webhooks with a bad signature), counted since the
hub started; each gate's MQTT counters are also kept on its row (``hub_rejected``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hub.api.deps import Manager

router = APIRouter(prefix="/security", tags=["security"])


@router.get("/rejections")
def rejections(request: Request, _: Manager) -> dict[str, Any]:
    """Refusal counters: ``{"http": {kind: n}, "mqtt": {"site/gate": {code: n}}}``."""
    http = request.app.state.http_rejections.snapshot()
    service = request.app.state.mqtt
    mqtt = service.rejections.snapshot() if service is not None else {}
    return {"http": http, "mqtt": mqtt}
