# The little the gate keeps besides its list and outbox, in state.json (written whole).
#
# The last command number accepted (an old command cannot be replayed after a reboot)
# and the last trusted time seen (a floor for the clock after a reboot).
#
#   state = State("/data")
#   state.save(last_cmd=412, now=1800000000)

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

    def save(self, last_cmd, now):
        self.last_cmd = last_cmd
        if now is not None and now > self.time:
            self.time = now
        files.write_atomic(self.path, json.dumps({"cmd": self.last_cmd, "time": self.time}))
