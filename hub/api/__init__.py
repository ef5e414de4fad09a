"""The hub's REST API under ``/api/v1`` (OpenAPI at ``/openapi.json``)."""
