"""Gatehouse wire protocol, shared by the hub, the Pi gate and the MicroPython firmware.

Every module in this package is pure and I/O-free, and runs unchanged on CPython and on
MicroPython: no ``typing`` at runtime, no dataclasses, only ``json``, ``hashlib``,
``struct`` and ``binascii`` from the standard library.  Import the submodule you need
(``from protocol import envelope``); this package imports nothing itself, so a gate with
little RAM loads only what it uses.

Modules:

* :mod:`protocol.errors` — the rejection errors, each with a short ``code``.
* :mod:`protocol.mac` — HMAC-SHA256 (stdlib ``hmac`` on CPython, built from
  ``hashlib.sha256`` on MicroPython) and constant-time comparison.
* :mod:`protocol.topics` — ``gh/v1/{site}/{gate}/{up|down}/{kind}`` builders and parser.
* :mod:`protocol.envelope` — ``KID:MAC.BODY`` seal and open.
* :mod:`protocol.freshness` — stale-version, replayed-seq and message-age checks.
* :mod:`protocol.cardkey` — ``card_key(site_card_secret, uid)``.
* :mod:`protocol.records` — the fixed 16-byte access-list record and binary search.
* :mod:`protocol.schedule` — weekly time windows in the site's local time.
* :mod:`protocol.decision` — the door decision, one pure function.
* :mod:`protocol.snapshot` — signed manifest, binary chunks and their assembly.
* :mod:`protocol.delta` — version N to M changes to a list.
* :mod:`protocol.messages` — hello, status, check-in batch, ack and command bodies.
* :mod:`protocol.downlink` — what a gate runs on every message it receives.
* :mod:`protocol.rekey` — a new gate key sealed under the old one (key rotation).
"""

PROTOCOL_VERSION = 1
