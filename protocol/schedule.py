"""Weekly schedules in the site's local time, with time-zone changes precomputed.

A schedule is a list of windows ``[days, start_min, end_min]``: *days* is a bit mask
(bit 0 = Monday ... bit 6 = Sunday) of the days the window **starts** on; minutes count
from local midnight.  A window whose end is not after its start runs past midnight
(``[0b0011111, 1320, 360]`` is 22:00-06:00 starting Monday to Friday).  Schedule id 0
always admits and needs no windows.

Gates have no time-zone database, so the hub sends the UTC offsets in force over the
list's lifetime as ``tz = [[from_unix, offset_s], ...]``; DST changes are just more
entries::

    s = Schedules({1: [[0b0011111, 6 * 60, 16 * 60]]}, tz=[[0, 7 * 3600]])
    s.admits(1, now)        # weekdays 06:00-16:00 Bangkok time
"""

from protocol.errors import Malformed

DAY = 86400
WEEK_MASK = 0x7F
_MAX_WINDOWS = 32


def _window(item):
    if not isinstance(item, (list, tuple)) or len(item) != 3:
        raise Malformed("a window is [days, start_min, end_min]")
    days, start, end = item
    for v in (days, start, end):
        if not isinstance(v, int) or isinstance(v, bool):
            raise Malformed("window fields are integers")
    if not 0 < days <= WEEK_MASK:
        raise Malformed("days is a 7-bit mask with at least one day")
    if not 0 <= start < 1440 or not 0 < end <= 1440 or start == end:
        raise Malformed("window minutes out of range")
    return (days, start * 60, end * 60)


class Schedules:
    """Schedule windows and UTC offsets of one site.

    :param dict windows: ``{schedule_id: [[days, start_min, end_min], ...]}``; ids are
        1-255 (keys may be strings, as JSON makes them).
    :param list tz: ``[[from_unix, offset_seconds], ...]`` ascending; empty means UTC.
    """

    def __init__(self, windows=None, tz=None):
        self.windows = {}
        for sid, items in (windows or {}).items():
            try:
                sid = int(sid)
            except (TypeError, ValueError):
                raise Malformed("schedule ids are integers") from None
            if not 0 < sid <= 255:
                raise Malformed("schedule ids are 1-255")
            if not isinstance(items, (list, tuple)) or len(items) > _MAX_WINDOWS:
                raise Malformed("a schedule is a list of up to 32 windows")
            self.windows[sid] = [_window(w) for w in items]
        self.tz = []
        last = None
        for item in tz or []:
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise Malformed("tz entries are [from_unix, offset_s]")
            start, offset = item
            if not isinstance(start, int) or not isinstance(offset, int):
                raise Malformed("tz entries are integers")
            if not -14 * 3600 <= offset <= 14 * 3600:
                raise Malformed("UTC offset out of range")
            if last is not None and start <= last:
                raise Malformed("tz entries must ascend")
            last = start
            self.tz.append((start, offset))

    @classmethod
    def from_json(cls, obj):
        """Build from the ``{"w": {...}, "tz": [...]}`` object a manifest carries."""
        if obj is None:
            return cls()
        if not isinstance(obj, dict):
            raise Malformed("schedules must be an object")
        return cls(obj.get("w"), obj.get("tz"))

    def to_json(self):
        """The JSON-ready form :meth:`from_json` reads back."""
        w = {}
        for sid in sorted(self.windows):
            w[str(sid)] = [[d, s // 60, e // 60] for d, s, e in self.windows[sid]]
        return {"w": w, "tz": [[a, b] for a, b in self.tz]}

    def offset(self, now):
        """UTC offset in seconds in force at unix time *now* (first entry's before it)."""
        if not self.tz:
            return 0
        found = self.tz[0][1]
        for start, offset in self.tz:
            if start > now:
                break
            found = offset
        return found

    def local(self, now):
        """``(weekday, second_of_day)`` at *now* in site time; Monday is 0."""
        t = now + self.offset(now)
        days = t // DAY
        return (days + 3) % 7, t - days * DAY

    def admits(self, schedule_id, now):
        """True if schedule *schedule_id* admits at *now*; unknown ids never admit."""
        if schedule_id == 0:
            return True
        windows = self.windows.get(schedule_id)
        if not windows:
            return False
        weekday, sod = self.local(now)
        yesterday = (weekday + 6) % 7
        for days, start, end in windows:
            if start < end:
                if days >> weekday & 1 and start <= sod < end:
                    return True
            else:
                if days >> weekday & 1 and sod >= start:
                    return True
                if days >> yesterday & 1 and sod < end:
                    return True
        return False
