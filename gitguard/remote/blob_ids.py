"""Run on the web server by `python3 -c`, not imported by gitguard: the git blob ids of
regular files, as hash.pl computes them, with OpenSSL's SHA-1 (faster than perl's by half
or more) in several threads: hashlib lets go of the GIL while it hashes.

Reads NUL-separated paths (relative to the current folder, the docroot) on stdin; prints
"ID\\0" for each, in the same order, or "-\\0" when the path is not a regular file (a link is
never followed). The first argument is how many threads may hash at once (at most four).
Written for any Python 3.6 or newer: the server's Python is not gitguard's.
"""

import hashlib
import os
import stat
import sys
import threading

CHUNK = 1 << 20


def blob_id(path: bytes, buffer: bytearray) -> bytes:
    """The blob id of one file, or b"-"; `buffer` is the calling thread's to read into."""
    name = b"./" + path
    try:
        # lstat first: a device or a fifo is never opened; the open then must find the
        # same file (O_NOFOLLOW: not a link put there meanwhile)
        seen = os.lstat(name)
        if not stat.S_ISREG(seen.st_mode):
            return b"-"
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b"-"
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (seen.st_dev, seen.st_ino):
            return b"-"
        sha = hashlib.sha1(b"blob %d\0" % info.st_size)
        view = memoryview(buffer)
        while True:
            size = os.readv(fd, [buffer])  # no new bytes object for every read
            if not size:
                break
            sha.update(view[:size])  # hashlib lets go of the GIL for big updates
        return sha.hexdigest().encode()
    except OSError:
        return b"-"
    finally:
        os.close(fd)


def main() -> None:
    """Hash what stdin names; print the ids in its order."""
    try:
        workers = max(1, min(4, int(sys.argv[1])))
    except (IndexError, ValueError):
        workers = 1
    paths = sys.stdin.buffer.read().split(b"\0")[:-1]
    ids = [b"-"] * len(paths)

    def work(first: int) -> None:
        # Thread k takes paths k, k + n, ...: one loop a thread, not a task a file (a
        # thread pool's bookkeeping per file cost more than the hashing)
        buffer = bytearray(CHUNK)
        for i in range(first, len(paths), workers):
            ids[i] = blob_id(paths[i], buffer)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sys.stdout.buffer.write(b"".join(oid + b"\0" for oid in ids))


if __name__ == "__main__":
    main()
