"""Service functions shared by the API, the CLI and the MQTT service.

They take keyword-only arguments (``create_site(session=..., data=..., clock=...)``),
change the session and leave committing to the caller.
"""
