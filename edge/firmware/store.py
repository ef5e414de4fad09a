# The access list on flash: sorted 16-byte records behind a small header, in one file.
#
# The list never sits in RAM.  find() binary-searches by seeking in the file and reading
# one key per step into a buffer allocated once, so 20,000 members cost 15 reads of
# 8 bytes per tap.
#
# A snapshot is written to acl.tmp while the downlink's assembler checks order and
# sha256 chunk by chunk; only after the manifest verifies is the file renamed to acl.new
# and then over acl.bin.  A delta is merged from the live list into acl.tmp in runs
# (a binary search finds where each change goes, the records between are copied in
# blocks) and swapped in the same way.  Version, issue time, sha256 and schedules sit
# in the header, so one rename swaps them together with the records: after a power cut
# at any byte the gate holds the old list or the new one, whole.  On boot a left-over
# acl.new (verified, but not yet renamed) finishes the swap; acl.tmp is discarded.
#
#   store = Store("/data")
#   rec = store.find(key)           # 16 bytes (valid until the next find) or None
#
# Header (64 bytes, big-endian), then the schedules JSON padded to 16, then records:
#   0 magic "GHA1" | 4 version u32 | 8 count u32 | 12 issued u32 | 16 sched len u16
#   18 reserved | 32 sha256 of the record bytes

import binascii
import hashlib
import json
import struct

import files
from micropython import const

_HEADER = const(64)
_HEAD_FMT = ">4sIIIH"
_MAGIC = b"GHA1"
_REC = const(16)
_KEY = const(8)
_BLOCK = const(32)  # records copied per read while merging or hashing
_LIVE = "acl.bin"
_NEW = "acl.new"
_TMP = "acl.tmp"


class StoreError(Exception):
    pass


def _pad16(n):
    return (n + 15) & ~15


def _parse_header(head):
    # (version, count, issued, sched_len, sha) or None when it is not a list header
    if len(head) < _HEADER:
        return None
    magic, version, count, issued, slen = struct.unpack_from(_HEAD_FMT, head, 0)
    if magic != _MAGIC:
        return None
    return version, count, issued, slen, bytes(head[32:64])


def _header(version, count, issued, sched, sha):
    head = bytearray(_HEADER)
    struct.pack_into(_HEAD_FMT, head, 0, _MAGIC, version, count, issued, len(sched))
    head[32:64] = sha
    return head


class _Writer:
    # A list file being written: header, schedules, then records, hashed as they go.
    def __init__(self, path, version, issued, sched, count, sha):
        self.f = open(path, "wb")
        self.version = version
        self.issued = issued
        self.sched = sched
        self.expect = (count, sha)
        self.count = 0
        self.sha = hashlib.sha256()
        self.f.write(_header(version, count, issued, sched, sha))
        self.f.write(sched)
        pad = _pad16(len(sched)) - len(sched)
        if pad:
            self.f.write(bytes(pad))

    def write(self, records):
        self.f.write(records)
        self.sha.update(records)
        self.count += len(records) // _REC

    def close(self):
        self.f.flush()
        self.f.close()


class Store:
    # root: folder for the list files ("" = current folder).
    # verify: check the sha256 of the whole list when opening it (boot).

    def __init__(self, root="", verify=True):
        self.root = root
        self.version = 0
        self.count = 0
        self.issued = 0
        self.sha = bytes(32)
        self.sched = b""
        self.discarded = 0  # lists found damaged and dropped
        self._f = None
        self._base = _HEADER
        self._key = bytearray(_KEY)
        self._rec = bytearray(_REC)
        self._buf = bytearray(_BLOCK * _REC)
        self._w = None  # the _Writer of a temporary list
        self._recover()
        self._open(verify)

    def _path(self, name):
        return files.join(self.root, name)

    def _recover(self):
        files.remove(self._path(_TMP))
        if files.exists(self._path(_NEW)):
            # A verified list was about to replace the live one: finish the swap.
            files.replace(self._path(_NEW), self._path(_LIVE))

    def _open(self, verify):
        self.close()
        self.version = 0
        self.count = 0
        self.issued = 0
        self.sched = b""
        path = self._path(_LIVE)
        try:
            f = open(path, "rb")
        except OSError:
            return
        head = f.read(_HEADER)
        meta = _parse_header(head)
        ok = meta is not None
        if ok:
            version, count, issued, slen, sha = meta
            base = _HEADER + _pad16(slen)
            ok = files.size(path) == base + count * _REC
        if ok:
            sched = f.read(slen)
            ok = len(sched) == slen
        if ok and verify:
            f.seek(base)
            ok = self._hash(f, count) == sha
        if not ok:
            f.close()
            files.remove(path)
            self.discarded += 1
            return
        self._f = f
        self._base = base
        self.version = version
        self.count = count
        self.issued = issued
        self.sha = sha
        self.sched = sched

    def _hash(self, f, count):
        h = hashlib.sha256()
        buf = self._buf
        mv = memoryview(buf)
        left = count * _REC
        while left:
            n = f.readinto(mv[: min(left, len(buf))])
            if not n:
                return None
            h.update(mv[:n])
            left -= n
        return h.digest()

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

    def schedules(self):
        # The site's schedules as the manifest sent them (a dict), or None.
        if not self.sched:
            return None
        return json.loads(self.sched)

    # -- lookups ------------------------------------------------------------------

    def _live(self):
        f = self._f
        if f is None:
            raise StoreError("no list")
        return f

    def _key_at(self, i):
        f = self._live()
        f.seek(self._base + i * _REC)
        if f.readinto(self._key) != _KEY:
            raise StoreError("list file cut short")
        return self._key

    def _lower_bound(self, key):
        # First index whose key is >= key, and whether it is equal.
        lo = 0
        hi = self.count
        while lo < hi:
            mid = (lo + hi) >> 1
            if self._key_at(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo, lo < self.count and self._key_at(lo) == key

    def find(self, key):
        # The 16-byte record of card key (8 bytes), or None.  The returned buffer is
        # reused by the next call.
        if self._f is None:
            return None
        lo = 0
        hi = self.count
        while lo < hi:
            mid = (lo + hi) >> 1
            k = self._key_at(mid)
            if k < key:
                lo = mid + 1
            elif k > key:
                hi = mid
            else:
                f = self._live()
                f.seek(self._base + mid * _REC)
                if f.readinto(self._rec) != _REC:
                    raise StoreError("list file cut short")
                return self._rec
        return None

    def record_at(self, i):
        f = self._live()
        f.seek(self._base + i * _REC)
        f.readinto(self._rec)
        return self._rec

    # -- writing a new list ---------------------------------------------------------

    def _start(self, version, issued, sched, count, sha):
        self.abort()
        w = _Writer(self._path(_TMP), version, issued, sched, count, sha)
        self._w = w
        return w

    def begin(self, manifest):
        # Start writing the snapshot a (checked) manifest announces.
        sched = json.dumps(manifest.get("sched") or {}).encode()
        sha = binascii.unhexlify(manifest["sha"])
        self._start(manifest["v"], manifest["issued"], sched, manifest["n"], sha)

    def _writer(self):
        w = self._w
        if w is None:
            raise StoreError("no list being written")
        return w

    def write(self, records):
        # Append verified record bytes of one chunk.
        self._writer().write(records)

    @property
    def writing(self):
        return self._w is not None

    def abort(self):
        # Drop a list being written; the live list stays.
        w = self._w
        if w is not None:
            self._w = None
            w.close()
        files.remove(self._path(_TMP))

    def commit(self):
        # Swap the written list in after checking count and sha256 once more.
        w = self._writer()
        count, sha = w.expect
        if w.count != count or w.sha.digest() != sha:
            self.abort()
            raise StoreError("written list does not match its manifest")
        self._w = None
        w.close()
        self._swap()

    def _swap(self):
        files.replace(self._path(_TMP), self._path(_NEW))
        self.close()
        files.replace(self._path(_NEW), self._path(_LIVE))
        self._open(False)

    # -- deltas -----------------------------------------------------------------------

    def _copy(self, w, start, stop):
        # Copy live records [start, stop) to the list being written.
        f = self._live()
        buf = self._buf
        mv = memoryview(buf)
        f.seek(self._base + start * _REC)
        left = (stop - start) * _REC
        while left:
            n = f.readinto(mv[: min(left, len(buf))])
            if not n:
                raise StoreError("list file cut short")
            w.f.write(mv[:n])
            w.sha.update(mv[:n])
            left -= n
        w.count += stop - start

    def apply_delta(self, version, add, delete, issued=None):
        # Merge a parsed delta (sorted 16-byte records to add or replace, sorted 8-byte
        # keys to delete; an added key wins over a deletion) into a new list file.
        if issued is None:
            issued = self.issued
        w = self._start(version, issued, self.sched, 0, bytes(32))
        try:
            pos = 0
            ai = 0
            di = 0
            na = len(add)
            nd = len(delete)
            while ai < na or di < nd:
                if di >= nd or (ai < na and add[ai][:_KEY] <= delete[di]):
                    key = add[ai][:_KEY]
                    rec = add[ai]
                    ai += 1
                    if di < nd and delete[di] == key:
                        di += 1
                else:
                    key = delete[di]
                    rec = None
                    di += 1
                idx, found = self._lower_bound(key) if self._f is not None else (0, False)
                if idx > pos:
                    self._copy(w, pos, idx)
                    pos = idx
                if found:
                    pos += 1
                if rec is not None:
                    w.write(rec)
            if self.count > pos:
                self._copy(w, pos, self.count)
            w.f.seek(0)
            w.f.write(_header(version, w.count, issued, self.sched, w.sha.digest()))
            self._w = None
            w.close()
        except Exception:
            self.abort()
            raise
        self._swap()

    def check(self):
        # True if the live list's records match the sha256 in its header.
        f = self._f
        if f is None:
            return self.version == 0
        f.seek(self._base)
        return self._hash(f, self.count) == self.sha
