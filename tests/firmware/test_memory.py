"""RAM the firmware needs while deciding taps against a 20,000-record list (unix port).

Read with ``gc.mem_alloc()`` on the micropython VM, loading the modules as ``mpy-cross``
compiles them for a board.  The unix port is 64-bit: objects there are up to twice
their size on the 32-bit ESP32 and RP2040, so these figures are upper bounds.
"""

from __future__ import annotations

import random
from pathlib import Path

from edge.fwbuild.boards import BOARDS
from edge.fwbuild.build import build
from gatehouse.services.micropython import run_micropython
from protocol import cardkey, records
from tests.firmware.conftest import NOW
from tests.firmware.flashfiles import write_list

KB = 1024

SCRIPT = """
import gc, sys
import binascii
uids = [binascii.unhexlify(u) for u in open(sys.argv[3]).read().split(",")]
gc.collect()
base = gc.mem_alloc()
# What deciding needs: the flash list, the decision, card keys, schedules, the clock.
from store import Store
from clock import Clock
from protocol.cardkey import card_key
from protocol.decision import decide
from protocol.mac import MacKey
from protocol.schedule import Schedules
secret = MacKey(binascii.unhexlify(sys.argv[2]))
store = Store(sys.argv[1])
schedules = Schedules.from_json(store.schedules())
clock = Clock()
clock.raise_floor(store.issued)
gc.collect()
granted = 0
peak = 0
for uid in uids:
    gc.collect()
    now, trusted = clock.now()
    allow, reason = decide(store.find(card_key(secret, uid)), now, 0, schedules)
    granted += allow
    peak = max(peak, gc.mem_alloc() - base)
gc.collect()
print("decide", granted, store.count, gc.mem_alloc() - base, peak)

# The whole gate: every module, MQTT buffers, downlink, outbox, state.
import gate
from door import Door
class NoReader:
    def read_uid(self):
        return None
store.close()
gc.collect()
code = gc.mem_alloc() - base
cfg = {"site": "club1", "gate": "front-door", "mqtt": {"host": "127.0.0.1", "port": 1},
       "gate_key": "11" * 32, "card_secret": sys.argv[2], "mtu": 4096}
g = gate.Gate(cfg, NoReader(), Door(), root=sys.argv[1], log=lambda line: None)
gc.collect()
held = gc.mem_alloc() - base - code
worst = 0
for uid in uids:
    gc.collect()
    before = gc.mem_alloc()
    g.tap(uid)
    worst = max(worst, gc.mem_alloc() - before)
gc.collect()
print("gate", g.outbox.last, code, held, worst, gc.mem_alloc() - base)
"""


def test_deciding_against_20000_records_stays_under_64_kb(tmp_path: Path) -> None:
    rng = random.Random(20000)
    secret = rng.randbytes(32)
    members = [rng.randbytes(4) for _ in range(20000)]
    data = records.build(
        [records.pack(cardkey.card_key(secret, uid), NOW + 10**7, 1) for uid in members]
    )
    flash = tmp_path / "flash"
    write_list(flash, 7, data, NOW)
    taps = [*rng.sample(members, 100), *(rng.randbytes(7) for _ in range(100))]
    lib = tmp_path / "lib"
    build(BOARDS["esp32"], lib)  # the modules as mpy-cross compiles them for a board
    script = tmp_path / "memory.py"
    script.write_text(SCRIPT)
    uids = tmp_path / "uids"  # (this micropython build fails on arguments over 255 bytes)
    uids.write_text(",".join(t.hex() for t in taps))
    result = run_micropython(
        [str(script), str(flash), secret.hex(), str(uids)],
        path=[lib],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    decide_line, gate_line = result.stdout.splitlines()
    _, granted, count, retained, peak = decide_line.split()
    assert (int(granted), int(count)) == (100, 20000)
    # Deciding, code included: modules, the open list, schedules, and the garbage of taps.
    assert int(retained) < 64 * KB and int(peak) < 64 * KB, decide_line
    _, checkins, code, held, worst, total = gate_line.split()
    assert int(checkins) == 200
    # The firmware's own allocations: the gate's objects and buffers, and one tap's garbage.
    assert int(held) + int(worst) < 64 * KB, gate_line
    assert int(worst) < 4 * KB, gate_line
    # The whole firmware with its code loaded into RAM (freezing moves code to flash).
    assert int(total) < 128 * KB, gate_line
    kb = {"decide": int(peak), "held": int(held), "total": int(total)}
    print(" ".join(f"{name}_kb={value / KB:.1f}" for name, value in kb.items()))
