"""``gatehouse demo``: a whole club on this machine, and the check that its story held.

::

    gatehouse demo                       # hub on :8000, two gates, a month in a minute
    gatehouse demo --speed 0.5 --dir club
    gatehouse demo --check               # headless, exits 1 naming what did not happen

The parts: :mod:`~gatehouse.demo.club` seeds the club, :mod:`~gatehouse.demo.gates`
runs the two gate processes, :mod:`~gatehouse.demo.runner` plays the month (options
and view state in :mod:`~gatehouse.demo.state`), :mod:`~gatehouse.demo.observe` reads
the hub back, :mod:`~gatehouse.demo.pay` pays through the emailed pay link,
:mod:`~gatehouse.demo.story` says what must happen and :mod:`~gatehouse.demo.view`
draws it.
"""

from gatehouse.demo.command import demo_command

__all__ = ["demo_command"]
