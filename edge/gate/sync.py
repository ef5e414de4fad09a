"""Applying what the hub sends: access lists, acks and commands.

:class:`GateSync` sits between the MQTT link and the store.  Every ``down/*`` payload
goes through :class:`protocol.downlink.Downlink` (MAC, gate id, freshness, manifest
and chunk checks); what passes is applied:

* a snapshot's chunks are written to the store's staging table as they arrive and
  swapped in, in one transaction, once ``Downlink.finish()`` has checked count, order
  and sha256 against the signed manifest;
* a delta is applied in one transaction;
* an ack drops the check-ins the hub has stored;
* commands: ``time`` (``args.now``: the hub's clock), ``unlock`` (recorded, then the
  door opens for ``args.seconds``, or its configured pulse), ``enroll`` (the next tap
  within ``args.seconds`` goes to ``up/enroll``), ``resync`` (ask for a snapshot),
  ``rekey`` (a new gate key, :mod:`protocol.rekey`: saved in the store in one commit,
  then used to seal; the old key is still accepted until the overlap ends).

A payload the store has no disk for is counted as ``disk_full`` and dropped: the
list in force stays, a half-received download is abandoned and the next ``hello``
asks for a whole list.  Anything refused is counted in :attr:`GateSync.rejected` by
code and logged; the door carries on with the list it had::

    sync = GateSync(config, store, controller, clock)
    event = sync.handle("acl", payload)     # "manifest", "chunk", "swapped", "delta", ...
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from edge.gate.config import GateConfig
from edge.gate.controller import GateController
from edge.gate.store import GateStore, StoreFull
from edge.gate.timekeeping import GateClock
from protocol import envelope
from protocol.downlink import Downlink
from protocol.errors import Gap, Malformed, ProtocolError
from protocol.metering import check_window
from protocol.schedule import Schedules

log = logging.getLogger(__name__)

MAX_UNLOCK_S = 3600  # a remote unlock holds the door at most an hour
MAX_ENROLL_S = 600


def _positive(value: Any, limit: float) -> float | None:
    """*value* if it is a number of seconds in (0, limit], else None (use the default)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 < value <= limit else None


class GateSync:
    """Verifies and applies ``down/acl``, ``down/ack`` and ``down/cmd`` payloads.

    :param config: the gate's :class:`~edge.gate.config.GateConfig`.
    :param store: its :class:`~edge.gate.store.GateStore`.
    :param controller: its :class:`~edge.gate.controller.GateController`.
    :param clock: its :class:`~edge.gate.timekeeping.GateClock`.
    :param monotonic: seconds that never go back (download stall detection).
    """

    def __init__(
        self,
        config: GateConfig,
        store: GateStore,
        controller: GateController,
        clock: GateClock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.store = store
        self.controller = controller
        self.clock = clock
        self.monotonic = monotonic
        saved = store.saved_keys()
        keys: bytes | list[bytes] = config.gate_key
        until = None
        if saved is not None:
            key, old, until = saved
            keys = [key, old] if old else key
        self.downlink = Downlink(
            keys,
            config.gate.gate,
            store.sid,
            version=store.version,
            last_cmd=store.last_cmd,
            until=until,
        )
        self.when_resync: Callable[[], None] | None = None
        self._manifest_extras: tuple[Schedules, int, int] | None = None
        self._progress_at = 0.0
        self.swaps = 0
        self.deltas = 0

    @property
    def rejected(self) -> dict[str, int]:
        """Refused messages by code (shared with the :class:`Downlink`)."""
        return self.downlink.rejected

    @property
    def want_snapshot(self) -> bool:
        return bool(self.downlink.want_snapshot)

    def request_snapshot(self) -> None:
        """Ask for a whole list in the next ``hello`` (and send one now)."""
        self.downlink.want_snapshot = True
        if self.when_resync is not None:
            self.when_resync()

    # -- entry point -------------------------------------------------------------------
    def handle(self, kind: str, payload: bytes) -> str | None:
        """Verify and apply one payload from ``down/<kind>``; returns what happened.

        Never raises for bad input: a refusal returns ``None`` (counted, logged).
        """
        now, _trusted = self.clock.now()
        try:
            event, value = self.downlink.open(kind, payload, now)
        except Gap as err:
            log.info("list gap (%s): asking for a snapshot", err)
            self.request_snapshot()
            return None
        except ProtocolError as err:
            log.warning("refused down/%s: %s (%s)", kind, err.code, err)
            return None
        try:
            return self._apply(event, value, payload)
        except ProtocolError as err:
            self.downlink.count(err.code)
            log.warning("refused down/%s: %s (%s)", kind, err.code, err)
            return None
        except StoreFull as err:
            # The list in force is untouched (the write rolled back): drop the
            # download and ask for a whole list in the next hello, once there is room.
            self.downlink.count("disk_full")
            self.downlink.assembly = None
            self.downlink.want_snapshot = True
            with contextlib.suppress(StoreFull):
                self.store.begin_staging()  # give back what the download took
            log.warning("down/%s not applied: %s", kind, err)
            return None

    def _apply(self, event: str, value: Any, payload: bytes) -> str | None:
        if event == "manifest":
            return self._manifest(value)
        if event == "chunk":
            return self._chunk(value)
        if event == "delta":
            version, add, delete = value
            body = envelope.loads(bytes(payload[envelope.HEAD_LEN :]))  # MAC checked above
            issued = body.get("issued")
            issued = issued if isinstance(issued, int) and issued > 0 else self.store.issued
            self.store.apply_delta(version, add, delete, issued)
            self.downlink.applied(version)
            self.clock.raise_floor(issued)
            self.deltas += 1
            log.info("list v%d in force: delta +%d -%d", version, len(add), len(delete))
            return "delta"
        if event == "ack":
            self.store.ack(value)
            return "ack"
        if event == "cmd":
            return self._command(value)
        return None

    # -- snapshots ---------------------------------------------------------------------
    def _manifest(self, manifest: dict[str, Any]) -> str:
        try:
            schedules = Schedules.from_json(manifest.get("sched"))
        except ProtocolError:
            self.downlink.assembly = None
            raise
        passback = manifest.get("passback", 0)
        if not isinstance(passback, int) or isinstance(passback, bool) or passback < 0:
            self.downlink.assembly = None
            raise Malformed("manifest passback must be a non-negative integer")
        try:
            reentry = check_window(manifest.get("reentry"))
        except ProtocolError:
            self.downlink.assembly = None
            raise
        n = manifest.get("n")
        self.store.begin_staging(n if isinstance(n, int) and n > 0 else 0)
        self._manifest_extras = (schedules, passback, reentry)
        self._progress_at = self.monotonic()
        return "manifest"

    def _chunk(self, records: bytes | None) -> str:
        if records is None:
            return "duplicate"
        self.store.stage(records)
        self._progress_at = self.monotonic()
        assembly = self.downlink.assembly
        if assembly is None or not assembly.done:
            return "chunk"
        try:
            manifest = self.downlink.finish()  # counts a bad_manifest itself
        except ProtocolError as err:
            log.warning("downloaded list refused: %s", err)
            self.store.begin_staging()
            self.request_snapshot()
            return "refused"
        schedules, passback, reentry = self._manifest_extras or (Schedules(), 0, 0)
        self.store.swap_in(manifest["v"], manifest["issued"], schedules, passback, reentry)
        self.downlink.applied(manifest["v"])
        self.clock.raise_floor(manifest["issued"])
        self.swaps += 1
        log.info("list v%d in force: %d cards", manifest["v"], manifest["n"])
        return "swapped"

    def check_stall(self, stall_s: float) -> bool:
        """Abandon a download that made no progress for *stall_s*; True if it did."""
        if self.downlink.assembly is None:
            return False
        if self.monotonic() - self._progress_at < stall_s:
            return False
        log.warning("list download stalled: starting over")
        self.downlink.assembly = None
        self.store.begin_staging()
        self.downlink.count("stalled")
        self.request_snapshot()
        return True

    # -- commands ----------------------------------------------------------------------
    def _command(self, cmd: dict[str, Any]) -> str:
        op, n, args = cmd["op"], cmd["n"], cmd.get("args") or {}
        if op == "unlock":
            seconds = _positive(args.get("seconds"), MAX_UNLOCK_S)
            pulse_ms = int(seconds * 1000) if seconds else None
            self.controller.remote_unlock(command=n, pulse_ms=pulse_ms)  # n saved with it
            return "unlock"
        self.store.set_last_cmd(n)
        if op == "time":
            self.clock.set_hub_time(args["now"])
        elif op == "enroll":
            self.controller.start_enroll(_positive(args.get("seconds"), MAX_ENROLL_S))
        elif op == "resync":
            self.request_snapshot()
        elif op == "rekey":
            return self._rekey(args)
        log.info("command %s n=%d applied", op, n)
        return op

    def _rekey(self, args: dict[str, Any]) -> str:
        new = self.downlink.rekey_key(args)  # a ProtocolError is counted by handle()
        old = self.downlink.key.key
        if new != old:
            self.store.save_keys(new, old, args["until"])  # saved before it is used
            self.downlink.rotate(new, args["until"])
            log.info("gate key rotated to %s", self.downlink.key.kid.decode())
        return "rekey"
