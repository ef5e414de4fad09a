"""The hub's foundations: settings, database engine and sessions, secrets and hashes."""
