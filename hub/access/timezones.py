"""A site's UTC offsets over a list's lifetime, for gates that have no time-zone data.

:func:`offsets` walks the IANA zone with :mod:`zoneinfo` and returns the
``[[from_unix, offset_s], ...]`` table :class:`protocol.schedule.Schedules` reads, DST
changes included::

    offsets("Europe/Berlin", 1798761600, 1798761600 + 400 * 86400)
    # [[1798761600, 3600], [1806368400, 7200], [1824512400, 3600], ...]
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

HORIZON_S = 400 * 86400
_DAY = 86400


def _offset(zone: ZoneInfo, t: int) -> int:
    delta = datetime.fromtimestamp(t, UTC).astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _change_between(zone: ZoneInfo, lo: int, hi: int) -> int:
    """First second in ``(lo, hi]`` whose offset differs from the one at *lo*."""
    before = _offset(zone, lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(zone, mid) == before:
            lo = mid
        else:
            hi = mid
    return hi


@lru_cache(maxsize=256)
def offsets(tz_name: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    """UTC offsets of *tz_name* in force from *start* to *end* (unix seconds)."""
    zone = ZoneInfo(tz_name)
    out = [(start, _offset(zone, start))]
    t = start
    while t < end:
        step = min(t + _DAY, end)
        if _offset(zone, step) != out[-1][1]:
            at = _change_between(zone, t, step)
            out.append((at, _offset(zone, at)))
        t = step
    return tuple(out)


def list_offsets(tz_name: str, issued: int) -> list[list[int]]:
    """Offsets for a list issued at *issued*: from one day before to the horizon.

    *issued* is rounded down to the hour so lists issued close together share a table.
    """
    start = issued - issued % 3600 - _DAY
    return [list(item) for item in offsets(tz_name, start, start + HORIZON_S)]
