"""Metered visits: when a tap is a new visit, and what a gate has left to admit.

A metered card (``FLAG_METERED``: visit packs, pay-per-visit, day passes) is admitted
while it has visits left.  One visit covers every tap at the site until its re-entry
window closes: a second tap within *window_s* seconds of the visit's first entry is a
re-entry (reason ``reentry``), not a new visit.  A day pass (``FLAG_DAYPASS``) is
re-entered until the next local midnight instead.  The site's window is sent to gates
as ``"reentry"`` (seconds, 0-86400) in the snapshot manifest.

The same rule decides at the door and at the hub, which counts visits across every gate
of a site from the full check-in log (:func:`visit_starts`)::

    until = reentry_until(start, flags, window_s, schedules)   # or None
    allow, reason = decide(record, now, zone, schedules,
                           remaining=visits_left(record_flags, used), reentry_until=until)

    starts = visit_starts(sorted_times, lambda t: reentry_until(t, flags, 10800, sch))
"""

from protocol.compat import const
from protocol.errors import Malformed
from protocol.records import FLAG_DAYPASS, VISITS_SHIFT

MAX_REENTRY_S = const(86400)
DAY_S = const(86400)


def check_window(value):
    """The manifest's ``reentry`` seconds, checked; 0 when absent."""
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_REENTRY_S:
        raise Malformed("reentry must be whole seconds from 0 to 86400")
    return value


def next_midnight(now, schedules):
    """Unix time of the first local midnight after *now* in site time."""
    offset = schedules.offset(now) if schedules is not None else 0
    local = now + offset
    return (local // DAY_S + 1) * DAY_S - offset


def reentry_until(start, flags, window_s, schedules=None):
    """End of the re-entry window of a visit that began at *start*, or ``None``.

    Day passes run to the next local midnight; other metered cards for *window_s*
    seconds (0 = every admitted tap is a new visit).
    """
    if start is None:
        return None
    if flags & FLAG_DAYPASS:
        return next_midnight(start, schedules)
    if window_s > 0:
        return start + window_s
    return None


def visits_left(flags, used):
    """Visits a gate may still admit: the record's count minus those it used since."""
    left = (flags >> VISITS_SHIFT) - used
    return left if left > 0 else 0


def visit_starts(times, until_of):
    """Indexes of the taps in *times* (ascending) that start a new visit.

    *until_of(t)* is the end of the re-entry window of a visit starting at *t* (or
    ``None``: no window).  A tap before the current visit's window ends is a re-entry.
    """
    out = []
    until = None
    for i in range(len(times)):
        t = times[i]
        if until is not None and t < until:
            continue
        out.append(i)
        until = until_of(t)
    return out
