"""Access lists: from members, cards and entitlements to signed lists on every gate.

* :mod:`hub.access.builder` — the records a site's list should hold now (merge rule).
* :mod:`hub.access.changes` — :func:`~hub.access.changes.access_changed`, the one call
  that turns a change in the data into list version N+1 and tells the gates.
* :mod:`hub.access.lists` — snapshots and compacted deltas for a gate at version N.
* :mod:`hub.access.timezones` — a site's UTC offsets over a list's lifetime.
* :mod:`hub.access.keys` — the sealed secrets (site card secrets, gate keys).
* :mod:`hub.access.bus` — in-process notifications of new list versions.
"""
