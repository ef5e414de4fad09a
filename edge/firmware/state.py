# The little the gate keeps besides its list and outbox, in state.json (written whole).
#
# The last command number accepted (an old command cannot be replayed after a reboot),
# the last trusted time seen (a floor for the clock after a reboot), and, once the hub
# has rotated the gate's key, the new key, the old one and the end of their overlap
# (they replace the config's gate_key).
#
#   state = State("/data")
#   state.save(last_cmd=412, now=1800000000)
#   state.set_keys(new_hex, old_hex, until)

import json

import files

_STATE = "state.json"


def _state_ok(data):
    try:
        obj = json.loads(data)
    except ValueError:
        return False
    return isinstance(obj, dict) and "cmd" in obj


class State:
    def __init__(self, root):
        self.path = files.join(root, _STATE)
        data = files.read_either(self.path, _state_ok)
        obj = json.loads(data) if data else {}
        self.last_cmd = obj.get("cmd", 0)
        self.time = obj.get("time", 0)
        self.key = obj.get("key")
        self.old = obj.get("old")
        self.until = obj.get("until")

    def save(self, last_cmd, now):
        self.last_cmd = last_cmd
        if now is not None and now > self.time:
            self.time = now
        obj = {"cmd": self.last_cmd, "time": self.time}
        if self.key:
            obj["key"] = self.key
            obj["old"] = self.old
            obj["until"] = self.until
        files.write_atomic(self.path, json.dumps(obj))

    def set_keys(self, key, old, until):
        # Keys as hex; written in one atomic replace with the rest of the state.
        self.key = key
        self.old = old
        self.until = until
        self.save(self.last_cmd, None)
