"""MQTT topics: ``gh/v1/{site}/{gate}/{up|down}/{kind}``.

A gate publishes on its ``up`` topics and subscribes to its ``down`` topics; the hub does
the reverse.  Site and gate ids are 1-32 characters of ``a-z 0-9 _ -``, so a topic can
never smuggle a wildcard or an extra level::

    >>> topics.up("club1", "front-door", "checkin")
    'gh/v1/club1/front-door/up/checkin'
    >>> topics.parse("gh/v1/club1/front-door/down/acl")
    ('club1', 'front-door', 'down', 'acl')
"""

from protocol.errors import BadTopic

PREFIX = "gh/v1/"
UP_KINDS = ("hello", "checkin", "status", "enroll")
DOWN_KINDS = ("acl", "ack", "cmd")
_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_-"
MAX_ID = 32


def valid_id(value):
    """True if *value* is a usable site or gate id."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        return False
    return all(ch in _ID_CHARS for ch in value)


def _check_ids(site, gate):
    if not valid_id(site):
        raise BadTopic("bad site id %r" % (site,))
    if not valid_id(gate):
        raise BadTopic("bad gate id %r" % (gate,))


def up(site, gate, kind):
    """Topic a gate publishes *kind* (hello, checkin, status, enroll) on."""
    _check_ids(site, gate)
    if kind not in UP_KINDS:
        raise BadTopic("unknown up kind %r" % (kind,))
    return PREFIX + site + "/" + gate + "/up/" + kind


def down(site, gate, kind):
    """Topic the hub publishes *kind* (acl, ack, cmd) on for one gate."""
    _check_ids(site, gate)
    if kind not in DOWN_KINDS:
        raise BadTopic("unknown down kind %r" % (kind,))
    return PREFIX + site + "/" + gate + "/down/" + kind


def parse(topic):
    """Split a topic into ``(site, gate, direction, kind)`` or raise :class:`BadTopic`."""
    if isinstance(topic, (bytes, bytearray, memoryview)):
        try:
            topic = bytes(topic).decode()
        except UnicodeError:
            raise BadTopic("topic is not UTF-8") from None
    if not isinstance(topic, str) or not topic.startswith(PREFIX):
        raise BadTopic("not a gh/v1 topic")
    parts = topic[len(PREFIX) :].split("/")
    if len(parts) != 4:
        raise BadTopic("expected gh/v1/site/gate/dir/kind")
    site, gate, direction, kind = parts
    _check_ids(site, gate)
    if direction == "up":
        kinds = UP_KINDS
    elif direction == "down":
        kinds = DOWN_KINDS
    else:
        raise BadTopic("direction must be up or down")
    if kind not in kinds:
        raise BadTopic("unknown %s kind %r" % (direction, kind))
    return site, gate, direction, kind


def gate_subscription(site, gate):
    """Filter a gate subscribes to: everything the hub sends it."""
    _check_ids(site, gate)
    return PREFIX + site + "/" + gate + "/down/#"


def hub_subscription(share_group=None):
    """Filter the hub subscribes to; with *share_group*, an MQTT v5 shared subscription."""
    base = PREFIX + "+/+/up/#"
    if share_group:
        return "$share/" + share_group + "/" + base
    return base
