"""Gateway webhooks: ``POST /api/v1/billing/webhooks/{gateway}``.

No bearer token: the delivery is verified with the gateway's own signature
(``Stripe-Signature``; the simulated gateway signs the same way). An unverifiable body
is a 400; a verified event is applied once (its id is stored) and answered 200, also
when it was delivered before."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from hub.billing.gateway import WebhookVerificationError
from hub.billing.run import open_session
from hub.billing.services import billing_services
from hub.billing.webhooks import apply_event

router = APIRouter(prefix="/billing/webhooks", tags=["billing"])

#: Largest webhook body accepted.
MAX_BODY = 256 * 1024


@router.post("/{gateway_name}")
async def receive_webhook(gateway_name: str, request: Request) -> dict[str, Any]:
    state = request.app.state
    services = billing_services(state)
    gateway = services.gateway
    if gateway_name != gateway.name:
        raise HTTPException(404, f"this hub takes payments through {gateway.name!r}")
    payload = await request.body()
    rejections = getattr(state, "http_rejections", None)
    if len(payload) > MAX_BODY:
        if rejections is not None:
            rejections.count("webhook_too_large")
        raise HTTPException(413, "webhook body too large")
    signature = request.headers.get("stripe-signature", "")

    def apply() -> dict[str, Any]:
        try:
            event = gateway.parse_webhook(payload, signature)
        except WebhookVerificationError as err:
            if rejections is not None:
                rejections.count("webhook_bad_signature")
            raise HTTPException(400, f"webhook not verified: {err}") from None
        with open_session(state.engine, state.settings) as session:
            outcome = apply_event(
                session, gateway_name=gateway.name, event=event, clock=state.clock
            )
            session.commit()
        return {"event_id": event.event_id, "type": event.type, "outcome": outcome}

    return await run_in_threadpool(apply)
