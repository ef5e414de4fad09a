"""Gatehouse: access control and billing for gyms, clubs and makerspaces.

This package holds what the hub, the Pi gate and the tools share on CPython: the
``gatehouse`` command line (:mod:`gatehouse.cli`), the injectable clock
(:mod:`gatehouse.clock`) and the helpers that start real services for tests, benchmarks
and the demo (:mod:`gatehouse.services`).  The wire protocol lives in :mod:`protocol`,
the hub in :mod:`hub`, the gates in :mod:`edge`.
"""

__version__ = "0.1.0"
