"""The Raspberry Pi gate: tap, decide from the local access list, pulse the relay.

See ``gatehouse gate --help`` for its commands.
"""
