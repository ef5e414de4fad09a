"""Build, flash and type-check the MicroPython gate firmware (CPython tooling).

The firmware itself lives in ``edge/firmware/`` and runs only on MicroPython; this
package prepares it for a board::

    gatehouse firmware build --board esp32 --out build/front-door --config gate.json
    gatehouse firmware flash --port /dev/ttyUSB0 --dir build/front-door
    gatehouse firmware typecheck --board rp2

* :mod:`edge.fwbuild.boards` — the supported boards, their ``mpy-cross`` architecture
  and default pin maps (``hardware/esp32/``, ``hardware/pico-w/``).
* :mod:`edge.fwbuild.gateconfig` — one gate's ``config.json`` from the hub's
  provisioning config, checked field by field.
* :mod:`edge.fwbuild.build` — which modules go on the board, ``mpy-cross``, the
  ``mpremote`` commands that copy them.
* :mod:`edge.fwbuild.typecheck` — mypy against the port's MicroPython stubs.
"""
