"""Freshness rules: stale versions, replayed sequence numbers, old messages.

Receivers call these after a MAC verifies; a valid MAC proves who sent a message, not
that it is new.  Each rule raises its own error so rejections are counted by cause::

    check_version(current=41, incoming=41)   # raises Stale: not newer
    check_seq(last=17, seq=12)               # raises Replay
    check_age(now=1000, issued=100, max_age=300)   # raises Stale: 900 s old
"""

from protocol.errors import Malformed, Replay, Stale


def _int(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Malformed("%s must be a non-negative integer" % name)
    return value


def check_version(current, incoming):
    """Accept an access-list version only if it is newer than *current*."""
    _int(incoming, "version")
    if incoming <= current:
        raise Stale("list version %d is not newer than %d" % (incoming, current))
    return incoming


def check_seq(last, seq):
    """Accept a sequence number only if it is above the last one accepted."""
    _int(seq, "seq")
    if seq <= last:
        raise Replay("seq %d already seen (last %d)" % (seq, last))
    return seq


def check_age(now, issued, max_age, max_ahead=None):
    """Accept a message issued at most *max_age* seconds before *now*.

    *max_ahead* (default: *max_age*) bounds how far in the future ``issued`` may be,
    which absorbs clock skew between hub and gate without accepting anything forever.
    """
    _int(issued, "issued")
    if max_ahead is None:
        max_ahead = max_age
    if now - issued > max_age:
        raise Stale("message is %d s old" % (now - issued))
    if issued - now > max_ahead:
        raise Stale("message is %d s in the future" % (issued - now))
    return issued
