"""One module per resource; :data:`api_router` mounts them all under ``/api/v1``."""

from fastapi import APIRouter

from hub.api.routes import (
    audit,
    cards,
    checkins,
    entitlements,
    gates,
    login,
    members,
    provision,
    sites,
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
    checkins,
    audit,
):
    api_router.include_router(module.router)
