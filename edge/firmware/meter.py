# Metered cards: the visits this gate admitted that the card's record does not reflect
# yet, and when each card's current visit began (its re-entry window).  Kept in
# meter.json (written whole) as {"r": reentry_s, "c": {key_hex: [start, seq, ...]}}.
#
#   m = Meter("/data")
#   used, start = m.get(key)
#   m.visit(key, now, seq)             # a new visit admitted: count it
#   m.refresh(keys, acked)             # new records: the hub counted seqs <= acked
#
# At most _SLOTS cards are tracked (the oldest visit is forgotten first).

import binascii
import json

import files
from micropython import const

_FILE = "meter.json"
_SLOTS = const(64)


def _ok(data):
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:
        return False


class Meter:
    def __init__(self, root):
        self.path = files.join(root, _FILE)
        data = files.read_either(self.path, _ok)
        obj = json.loads(data) if data else {}
        self.reentry_s = obj.get("r", 0)
        self.cards = obj.get("c", {})

    def _save(self):
        files.write_atomic(self.path, json.dumps({"r": self.reentry_s, "c": self.cards}))

    def get(self, key):
        # (visits used here, start of the current visit or None)
        v = self.cards.get(binascii.hexlify(key).decode())
        if not v:
            return 0, None
        return len(v) - 1, v[0]

    def visit(self, key, now, seq):
        k = binascii.hexlify(key).decode()
        v = self.cards.get(k)
        if v is None:
            if len(self.cards) >= _SLOTS:
                old = min(self.cards, key=lambda c: self.cards[c][0])
                del self.cards[old]
            v = self.cards[k] = [now]
        v[0] = now
        v.append(seq)
        self._save()

    def refresh(self, keys, acked, reentry_s=None):
        # keys: card keys with a new record (None: every card, a snapshot)
        for k in list(self.cards):
            if keys is None or k in keys:
                v = self.cards[k]
                self.cards[k] = [v[0]] + [s for s in v[1:] if s > acked]
        if reentry_s is not None:
            self.reentry_s = reentry_s
        self._save()
