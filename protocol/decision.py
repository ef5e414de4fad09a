"""The door decision: one pure function used by both gates and by the hub.

:func:`decide` takes the card's record (or ``None`` when the card is not in the list),
the time, the door's zone and the site's schedules, and returns ``(allow, reason)``.
The Pi gate, the MicroPython gate and the hub's "why was I refused?" explanation all
call this same function, so a door can never decide differently from what the console
explains::

    allow, reason = decide(record, now, zone=0, schedules=site_schedules)
    if not allow:
        print(REASONS[reason])       # e.g. "expired"

Rules, checked in this order (the first that fails gives the reason):

1. the card is in the list                           -> else ``UNKNOWN``
2. the record's ``FLAG_BLOCKED`` is clear             -> else ``BLOCKED``
3. ``now < valid_until`` (to the second)              -> else ``EXPIRED``
4. the door's zone bit is set in ``zones``            -> else ``WRONG_ZONE``
5. the schedule admits ``now`` in site time           -> else ``SCHEDULE``
6. anti-passback: with ``FLAG_PASSBACK``, no admission in the last *passback_s*
   seconds                                            -> else ``PASSBACK``
7. metered cards (``FLAG_METERED``) need *remaining* > 0, unless this is a re-entry
   within the window                                  -> else ``NO_VISITS``.
   *remaining* defaults to the visits the record carries (:func:`records.visits`);
   a gate that admitted the card offline since passes what is left after those.
"""

import struct

from protocol.compat import const
from protocol.records import FLAG_BLOCKED, FLAG_METERED, FLAG_PASSBACK, FORMAT, VISITS_SHIFT

GRANTED = const(0)
UNKNOWN = const(1)
EXPIRED = const(2)
WRONG_ZONE = const(3)
SCHEDULE = const(4)
BLOCKED = const(5)
PASSBACK = const(6)
NO_VISITS = const(7)
NO_LIST = const(8)
REMOTE = const(9)
REENTRY = const(10)
CLOCK = const(11)
# Door events, recorded as check-ins with no card key (not decisions).
EXIT = const(12)
FORCED = const(13)
HELD_OPEN = const(14)

REASONS = (
    "granted",
    "unknown",
    "expired",
    "wrong_zone",
    "schedule",
    "blocked",
    "passback",
    "no_visits",
    "no_list",
    "remote",
    "reentry",
    "clock",
    "exit",
    "forced",
    "held_open",
)

# Reasons that open the door.
ALLOWING = (GRANTED, REMOTE, REENTRY)


def reason_code(name):
    """The integer code of a reason name (``"expired"`` -> 2)."""
    return REASONS.index(name)


def decide(
    record, now, zone, schedules, last_admit=None, passback_s=0, remaining=None, reentry_until=None
):
    """Decide one tap.  Pure: no I/O, no clock, no state.

    :param record: the card's 16-byte record, or ``None`` if its key is not listed.
    :param int now: trusted unix time in seconds (see :func:`trusted_now`).
    :param int zone: the door's zone, 0-15.
    :param schedules: a :class:`protocol.schedule.Schedules` of the site.
    :param last_admit: unix time this card was last admitted here, or ``None``.
    :param int passback_s: anti-passback window in seconds (0 = off).
    :param remaining: visits left for a metered card (``None``: as the record says).
    :param reentry_until: a metered card re-entering before this time is admitted
        without using a visit (reason ``REENTRY``).
    :returns: ``(allow, reason)``.
    """
    if record is None:
        return False, UNKNOWN
    valid_until, zones, schedule_id, flags = struct.unpack(FORMAT, record)[1:]
    if flags & FLAG_BLOCKED:
        return False, BLOCKED
    if now >= valid_until:
        return False, EXPIRED
    if not (zones >> zone) & 1:
        return False, WRONG_ZONE
    if not schedules.admits(schedule_id, now):
        return False, SCHEDULE
    if (
        flags & FLAG_PASSBACK
        and passback_s > 0
        and last_admit is not None
        and 0 <= now - last_admit < passback_s
    ):
        return False, PASSBACK
    if flags & FLAG_METERED:
        if reentry_until is not None and now < reentry_until:
            return True, REENTRY
        if remaining is None:
            remaining = flags >> VISITS_SHIFT
        if remaining <= 0:
            return False, NO_VISITS
    return True, GRANTED


def trusted_now(clock_now, floor):
    """The time a gate may decide with, and whether its clock is trusted.

    A clock earlier than *floor* (the newest list's issue time) is not trusted: it may
    have been rolled back to stretch an expired membership.  The gate then decides with
    *floor*.  What that admits: a card whose ``valid_until`` fell between the list's
    issue time and the true time is still admitted until the gate learns the time (from
    NTP or the hub's ``cmd/time``).  Gates narrow that window by counting forward from
    the floor with their monotonic clock, and report ``clock: untrusted`` in status.
    Returns ``(now, trusted)``.
    """
    if clock_now is None or clock_now < floor:
        return floor, False
    return clock_now, True
