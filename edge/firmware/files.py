# Small file helpers shared by the flash-backed store, outbox and state.
#
# Every file that must survive a power cut is replaced, never edited in place: the new
# content goes to NAME.tmp, is flushed and closed, then renamed over NAME.  On littlefs
# (the default filesystem of the ESP32 and rp2 ports) a rename is atomic; on FAT,
# MicroPython removes NAME before renaming, so readers fall back to a whole NAME.tmp
# when NAME is missing (see read_either).

import os


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return -1


def remove(path):
    # Remove a file if it is there; a missing file is not an error.
    try:
        os.remove(path)
    except OSError:
        pass


def replace(src, dst):
    # Rename src over dst (dst may exist).
    try:
        os.rename(src, dst)
    except OSError:
        # Some filesystems refuse to rename over an existing file.
        remove(dst)
        os.rename(src, dst)


def write_atomic(path, data):
    # Write data to path so that a power cut leaves the old or the new content.
    tmp = path + ".tmp"
    f = open(tmp, "wb")
    try:
        f.write(data)
        f.flush()
    finally:
        f.close()
    replace(tmp, path)


def read_either(path, check):
    # Content of path if check() accepts it, else of a whole path.tmp (which then
    # takes path's place, finishing the interrupted replace), else None.
    for name in (path, path + ".tmp"):
        try:
            f = open(name, "rb")
        except OSError:
            continue
        try:
            data = f.read()
        finally:
            f.close()
        if check(data):
            if name != path:
                replace(name, path)
            else:
                remove(path + ".tmp")  # a replace cut short before its rename
            return data
    return None


def join(root, name):
    if not root:
        return name
    if root[-1] == "/":
        return root + name
    return root + "/" + name
