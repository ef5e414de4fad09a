"""One module per resource; :data:`api_router` mounts them all under ``/api/v1``."""

from fastapi import APIRouter

from hub.api.routes import (
    audit,
    billing_webhooks,
    cards,
    checkins,
    clock,
    entitlements,
    gates,
    invoices,
    login,
    members,
    payment_methods,
    plans,
    provision,
    security,
    sites,
    subscriptions,
    tokens,
    users,
)

api_router = APIRouter(prefix="/api/v1")
for module in (
    login,
    users,
    tokens,
    sites,
    members,
    cards,
    entitlements,
    gates,
    provision,
    security,
    checkins,
    audit,
    plans,
    subscriptions,
    payment_methods,
    invoices,
    billing_webhooks,
    clock,
):
    api_router.include_router(module.router)
