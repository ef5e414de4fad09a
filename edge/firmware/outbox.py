# The check-in outbox: an append-only log of fixed-size records on flash.
#
# Every decision is appended (and flushed) before the door moves, with the next seq of
# this store.  The hub acks the highest contiguous seq it has committed; the ack is kept
# in a small meta file (written whole, then renamed), and acked records are dropped by
# rewriting the log without them - at once when everything is acked, otherwise when the
# acked part outweighs the pending part, so each record is copied at most about once.
#
# Each 32-byte record carries a CRC-32, so a record cut short or garbled by a power cut
# at any byte is detected; it and anything after it are discarded on the next boot
# (a record being written when power failed was never published, so its seq may be
# reused).  The store id is random and made with the meta file: a gate wiped or
# re-flashed starts again at seq 1 under a new id and never collides with its old
# check-ins.
#
#   box = Outbox("/data")
#   seq = box.append(ts, key, reason, version, flags)
#   box.entries(box.acked + 1, 50)     # [[seq, ts, key_hex, reason, version, flags], ...]
#   box.ack(seq)
#
# Record (big-endian): 0 magic 0xC7 | 1 flags | 2 reason | 3 has key | 4 seq u32 |
#   8 ts u32 | 12 list version u32 | 16 card key (8) | 24 reserved | 28 crc32 of 0-27
# Meta: "GHO1" | store id (8) | acked u32 | reserved u32 | crc32 of 0-19

import binascii
import os
import struct

import files
from micropython import const

_REC = const(32)
_BODY = const(28)
_MAGIC = const(0xC7)
_REC_FMT = ">BBBBIII8s"
_META = const(24)
_META_FMT = ">4s8sII"
_META_MAGIC = b"GHO1"
_LOG = "outbox.log"
_META_NAME = "outbox.meta"
_COMPACT_MIN = const(64)


def _crc(buf, n):
    return binascii.crc32(memoryview(buf)[:n]) & 0xFFFFFFFF


def _meta_ok(data):
    if data is None or len(data) != _META or data[:4] != _META_MAGIC:
        return False
    return struct.unpack_from(">I", data, 20)[0] == _crc(data, 20)


class Outbox:
    # root: folder for the files.  capacity: most records kept (acked ones included
    # until compacted); when pending check-ins fill it, new ones are counted in
    # .dropped instead of being stored.

    def __init__(self, root="", capacity=4096):
        self.root = root
        self.capacity = capacity
        self.dropped = 0
        self.torn = 0  # damaged records discarded at boot
        self._rec = bytearray(_REC)
        self._w = None
        self._load_meta()
        self._scan()

    def _path(self, name):
        return files.join(self.root, name)

    # -- meta -----------------------------------------------------------------------

    def _load_meta(self):
        data = files.read_either(self._path(_META_NAME), _meta_ok)
        if data is None:
            # A new store: a new id, and no log of an unknown store is kept.
            files.remove(self._path(_LOG))
            self.sid = binascii.hexlify(os.urandom(8)).decode()
            self.acked = 0
            self._save_meta()
        else:
            _m, sid, acked, _r = struct.unpack_from(_META_FMT, data, 0)
            self.sid = binascii.hexlify(sid).decode()
            self.acked = acked

    def _save_meta(self):
        buf = bytearray(_META)
        struct.pack_into(
            _META_FMT, buf, 0, _META_MAGIC, binascii.unhexlify(self.sid), self.acked, 0
        )
        struct.pack_into(">I", buf, 20, _crc(buf, 20))
        files.write_atomic(self._path(_META_NAME), buf)

    # -- log --------------------------------------------------------------------------

    def _valid(self, rec, expect_seq):
        if rec[0] != _MAGIC:
            return False
        if struct.unpack_from(">I", rec, _BODY)[0] != _crc(rec, _BODY):
            return False
        seq = struct.unpack_from(">I", rec, 4)[0]
        return expect_seq is None or seq == expect_seq

    def _scan(self):
        # Find the log's first seq and its last whole record; drop a damaged tail.
        path = self._path(_LOG)
        if files.exists(path + ".tmp"):
            if files.exists(path):
                files.remove(path + ".tmp")  # a rewrite that never finished
            else:
                files.replace(path + ".tmp", path)  # whole: only the rename was cut
        self.first = 0
        self.last = self.acked
        valid = 0
        total = files.size(path)
        if total > 0:
            f = open(path, "rb")
            try:
                expect = None
                while f.readinto(self._rec) == _REC and self._valid(self._rec, expect):
                    seq = struct.unpack_from(">I", self._rec, 4)[0]
                    if expect is None:
                        self.first = seq
                    expect = seq + 1
                    valid += 1
            finally:
                f.close()
        if valid:
            self.last = max(self.acked, self.first + valid - 1)
        if total > valid * _REC:
            self.torn += 1
            self._rewrite(valid)
        elif valid and self.first + valid - 1 <= self.acked:
            self._rewrite(valid)

    def _rewrite(self, valid):
        # Keep only the pending whole records: copy them to a new log and swap it in.
        self.close()
        path = self._path(_LOG)
        start = max(self.first, self.acked + 1)
        end = self.first + valid - 1 if valid else 0
        if end < start:
            # Nothing pending: an empty log.
            f = open(path, "wb")
            f.close()
            self.first = 0
            return
        tmp = path + ".tmp"
        src = open(path, "rb")
        dst = open(tmp, "wb")
        try:
            src.seek((start - self.first) * _REC)
            for _ in range(end - start + 1):
                src.readinto(self._rec)
                dst.write(self._rec)
            dst.flush()
        finally:
            dst.close()
            src.close()
        files.replace(tmp, path)
        self.first = start

    def close(self):
        if self._w is not None:
            self._w.close()
            self._w = None

    @property
    def pending(self):
        return self.last - self.acked

    def _stored(self):
        # Records in the log file (acked ones not yet compacted included).
        return self.last - self.first + 1 if self.first else 0

    def append(self, ts, card_key, reason, version, flags=0):
        # Store one check-in; returns its seq, or 0 when the outbox is full.
        if self._stored() >= self.capacity:
            if self.acked >= self.first and self.first:
                self._rewrite(self._stored())
            if self._stored() >= self.capacity:
                self.dropped += 1
                return 0
        seq = self.last + 1
        rec = self._rec
        struct.pack_into(
            _REC_FMT,
            rec,
            0,
            _MAGIC,
            flags,
            reason,
            1 if card_key else 0,
            seq,
            ts,
            version,
            card_key or b"\x00" * 8,
        )
        struct.pack_into(">I", rec, 24, 0)
        struct.pack_into(">I", rec, _BODY, _crc(rec, _BODY))
        if self._w is None:
            self._w = open(self._path(_LOG), "ab")
        self._w.write(rec)
        self._w.flush()
        if not self.first:
            self.first = seq
        self.last = seq
        return seq

    def entries(self, start, limit):
        # Up to limit check-ins from seq start on, as the hub's batch entries.
        out = []  # type: list[list]
        if start < max(self.first, self.acked + 1) or start > self.last:
            return out
        end = min(self.last, start + limit - 1)
        f = open(self._path(_LOG), "rb")
        try:
            f.seek((start - self.first) * _REC)
            rec = self._rec
            for _ in range(end - start + 1):
                if f.readinto(rec) != _REC:
                    break
                _m, flags, reason, has_key, seq, ts, version, key = struct.unpack_from(
                    _REC_FMT, rec, 0
                )
                out.append(
                    [
                        seq,
                        ts,
                        binascii.hexlify(key).decode() if has_key else "",
                        reason,
                        version,
                        flags,
                    ]
                )
        finally:
            f.close()
        return out

    def ack(self, seq):
        # The hub has stored everything up to seq.  Returns True if that was news.
        if seq <= self.acked:
            return False
        if seq > self.last:
            return False  # acks for check-ins this store never wrote are ignored
        self.acked = seq
        self._save_meta()
        stored = self._stored()
        if self.acked >= self.last or (
            self.acked - self.first + 1 >= _COMPACT_MIN
            and self.acked - self.first + 1 >= stored // 2
        ):
            self._rewrite(stored)
        return True
