"""What a gate runs on every message from the hub: verify, check freshness, count.

:class:`Downlink` holds the little state the rules need (the list version in force, the
last command number, an assembly in progress) and turns a raw ``down/*`` payload into
one verified event, or raises a :class:`~protocol.errors.ProtocolError` after counting
it in :attr:`Downlink.rejected`.  Both the Pi gate and the MicroPython firmware use it,
so they refuse exactly the same things::

    link = Downlink(key, gate="front-door", sid=store_id, version=store.version)
    try:
        event, value = link.open("acl", payload, now)
    except ProtocolError:
        return                       # counted; the door carries on as before
    if event == "chunk" and link.assembly.done:
        manifest = link.finish()     # verified: swap the new list in, then
        link.version = manifest["v"]

Events: ``("manifest", obj)``, ``("chunk", records)`` (``None`` for a duplicate chunk),
``("delta", (version, add, delete))``, ``("cmd", obj)``, ``("ack", seq)``.

A ``rekey`` command hands the gate a new key (:mod:`protocol.rekey`): after the gate has
saved it, :meth:`Downlink.rotate` makes it the key to seal with and keeps the old one
until the overlap ends; from then on only the new key opens anything::

    new = link.rekey_key(cmd["args"])       # opened with the key it was sealed under
    save(new, link.key.key, cmd["args"]["until"])   # atomically, before switching
    link.rotate(new, cmd["args"]["until"])
"""

from protocol import delta as deltas
from protocol import envelope, freshness, messages, rekey, snapshot
from protocol.errors import Malformed, ProtocolError, Stale, WrongGate, WrongKey
from protocol.mac import as_key

CMD_MAX_AGE = 300


class Downlink:
    """Verifier for one gate's ``down`` topics.

    :param key: the gate's HMAC key (bytes), or a list of keys while one is rotated.
    :param str gate: the gate id; bodies naming another gate are refused.
    :param str sid: the gate's store id; acks for another store are refused.
    :param int version: access-list version in force (0 = none).
    :param int last_cmd: number of the last command accepted.
    :param int limit: largest payload accepted, in bytes.
    :param until: while two keys are held, the time after which only the first is
        accepted (``None``: all of them, until :meth:`rotate` says otherwise).
    """

    def __init__(
        self, key, gate, sid, version=0, last_cmd=0, limit=envelope.MAX_PAYLOAD, until=None
    ):
        self.keys = [as_key(k) for k in key] if isinstance(key, (list, tuple)) else [as_key(key)]
        self.until = until
        self.gate = gate
        self.sid = sid
        self.version = version
        self.last_cmd = last_cmd
        self.limit = limit
        self.want_snapshot = version == 0
        self.assembly = None
        self.rejected = {}

    @property
    def key(self):
        """The key to seal with (the newest held), a :class:`~protocol.mac.MacKey`."""
        return self.keys[0]

    def expire(self, now):
        """Forget the old key once *now* has reached the end of the overlap."""
        if self.until is not None and now is not None and now >= self.until:
            self.keys = self.keys[:1]
            self.until = None

    def rekey_key(self, args):
        """The new key in a ``rekey`` command's *args*, opened with the key it names.

        Raises a :class:`~protocol.errors.ProtocolError` (for the caller to count) if no
        key held here can open it.
        """
        for k in self.keys:
            if k.kid.decode() == args.get("from"):
                return rekey.open_args(k, args)
        raise WrongKey("rekey sealed under a key not held here")

    def rotate(self, new, until):
        """Seal with *new* from now on; accept the current key too until *until*.

        Returns ``False`` (and changes nothing) when *new* is already the key in use.
        """
        new = as_key(new)
        if new.kid == self.keys[0].kid:
            return False
        self.keys = [new, self.keys[0]]
        self.until = until
        return True

    def count(self, code):
        """Add one rejection of kind *code*."""
        self.rejected[code] = self.rejected.get(code, 0) + 1

    def open(self, kind, payload, now=None):
        """Verify one payload that arrived on ``down/<kind>``; see the module doc."""
        try:
            return self._open(kind, payload, now)
        except ProtocolError as err:
            self.count(err.code)
            raise

    def _open(self, kind, payload, now):
        self.expire(now)
        body = envelope.open(self.keys, payload, self.limit)
        if kind == "acl" and snapshot.is_chunk(body):
            if self.assembly is None:
                raise Stale("chunk without a manifest")
            return "chunk", self.assembly.add(body)
        obj = envelope.loads(body)
        if obj.get("g") != self.gate:
            raise WrongGate("message for another gate")
        t = obj.get("t")
        if kind == "acl" and t == "manifest":
            snapshot.check_manifest(obj)
            if obj["v"] < self.version or (obj["v"] == self.version and not self.want_snapshot):
                raise Stale("snapshot %d, holding %d" % (obj["v"], self.version))
            self.assembly = snapshot.Assembler(obj)
            return "manifest", obj
        if kind == "acl" and t == "delta":
            return "delta", deltas.parse(obj, self.version)
        if kind == "cmd" and t == "cmd":
            messages.parse_command(obj)
            freshness.check_seq(self.last_cmd, obj["n"])
            if now is not None and obj["op"] != "time":
                freshness.check_age(now, obj["issued"], CMD_MAX_AGE)
            self.last_cmd = obj["n"]
            return "cmd", obj
        if kind == "ack" and t == "ack":
            sid, seq = messages.parse_ack(obj)
            if sid != self.sid:
                raise Stale("ack for another store")
            return "ack", seq
        raise Malformed("unexpected %r on down/%s" % (t, kind))

    def finish(self):
        """Check the completed assembly against its manifest and return the manifest.

        Call when ``assembly.done``; raises (and counts)
        :class:`~protocol.errors.BadManifest` if count or sha256 disagree.  Either way
        the assembly is over.
        """
        asm = self.assembly
        self.assembly = None
        try:
            asm.finish()
        except ProtocolError as err:
            self.count(err.code)
            raise
        return asm.manifest

    def applied(self, version):
        """Record that list *version* is now in force on the gate."""
        self.version = version
        self.want_snapshot = False
