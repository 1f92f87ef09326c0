"""A whole database read goes into git as one pack, not as thousands of loose objects: each
loose object is a new file, and creating files is what a disk does slowest (a first backup
of 600,000 rows is ~2,400 rows files).

The pack (version 2, whole blobs, no deltas) and its index (version 2) are written here
rather than by `git fast-import`: fast-import hashes with SHA-1DC and deflates on one core
(1.6 to 2.0 s of CPU for the bench's 147 MB); hashlib and zlib on two threads do the same
in 1.0 s, and zlib frees the GIL, so the database client is read meanwhile. Git reads a
pack only once its index is there: the index is renamed into place last."""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from gitguard.errors import StoreError
from gitguard.store.git import Git
from gitguard.store.objects import BlobWriter

IN_FLIGHT = 32 << 20  # bytes of blobs waiting to be deflated: bounds memory
WORKERS = 2  # deflating threads: the machine's cores, as BlobWriter has
LEVEL = 1  # zlib's fastest, as git's loose objects and `git add` use
BLOB = 3  # a pack entry's object type
BIG_OFFSET = 1 << 31  # offsets from here on go to the index's 64-bit table
LARGE = 1 << 31  # an index offset with this bit: the rest is a place in that table
_READ = 1 << 20


def entry_header(size: int) -> bytes:
    """A pack entry's head: the blob type and its size, 7 bits a byte after the first 4."""
    out = bytearray()
    byte = (BLOB << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte, size = size & 0x7F, size >> 7
    out.append(byte)
    return bytes(out)


class PackWriter:
    """Blobs into one new pack and its index; ids computed here, as BlobWriter does."""

    def __init__(self, git: Git) -> None:
        self._dir = git.git_dir / "objects" / "pack"
        self._dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._dir, prefix="tmp_pack_")
        self._path = Path(name)
        self._out: BinaryIO = os.fdopen(fd, "w+b")
        self._out.write(b"PACK" + struct.pack(">II", 2, 0))  # the count is set at close
        self._offset = 12
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pack")
        self._queue: deque[tuple[bytes, int, Future[bytes]]] = deque()  # in pack order
        self._queued = 0  # bytes of blobs in the queue
        self._ids: set[bytes] = set()  # every blob given, written or queued
        self._entries: dict[bytes, tuple[int, int]] = {}  # raw id -> offset, CRC-32
        self.count = 0
        self.bytes = 0

    def add_bytes(self, data: bytes) -> str:
        """Write a blob held in memory; return its object id."""
        raw = hashlib.sha1(b"blob %d\0" % len(data) + data).digest()
        self.count += 1
        self.bytes += len(data)
        if raw not in self._ids:
            self._ids.add(raw)
            self._queue.append((raw, len(data), self._pool.submit(zlib.compress, data, LEVEL)))
            self._queued += len(data)
            # entries go in as their turn comes; one blob always fits, however big
            while self._queue and (self._queue[0][2].done() or self._queued > IN_FLIGHT):
                self._write_next()
        return raw.hex()

    def _write_next(self) -> None:
        raw, size, future = self._queue.popleft()
        self._queued -= size
        entry = entry_header(size) + future.result()
        self._entries[raw] = (self._offset, zlib.crc32(entry))
        try:
            self._out.write(entry)
        except OSError as exc:
            raise StoreError(f"cannot write to the repository: {exc}") from None
        self._offset += len(entry)

    def close(self) -> None:
        """Finish the pack and its index: every blob is in the repository once this
        returns."""
        try:
            while self._queue:
                self._write_next()
            self._pool.shutdown()
            self._out.seek(8)
            self._out.write(struct.pack(">I", len(self._entries)))
            self._out.flush()
            self._out.seek(0)
            digest = hashlib.sha1()
            while block := self._out.read(_READ):
                digest.update(block)
            checksum = digest.digest()
            self._out.seek(0, os.SEEK_END)
            self._out.write(checksum)
            self._out.close()
            name = self._dir / f"pack-{checksum.hex()}"
            index = self._index(checksum)
            try:
                os.chmod(self._path, 0o444)
                os.replace(self._path, name.with_suffix(".pack"))
                os.replace(index, name.with_suffix(".idx"))  # git sees the pack from now on
            finally:
                index.unlink(missing_ok=True)  # renamed, or left behind by a failure
        except OSError as exc:
            self._discard()
            raise StoreError(f"cannot write to the repository {self._dir}: {exc}") from None
        except BaseException:
            self._discard()
            raise

    def _index(self, checksum: bytes) -> Path:
        """The pack's index (version 2) under a temporary name."""
        ids = sorted(self._entries)
        fanout = [0] * 256
        for raw in ids:
            fanout[raw[0]] += 1
        total = 0
        for n in range(256):
            total += fanout[n]
            fanout[n] = total
        small: list[int] = []
        big: list[int] = []
        for raw in ids:
            offset = self._entries[raw][0]
            if offset < BIG_OFFSET:
                small.append(offset)
            else:
                small.append(LARGE | len(big))
                big.append(offset)
        body = b"".join((b"\377tOc", struct.pack(">I", 2), struct.pack(">256I", *fanout),
                         *ids, struct.pack(f">{len(ids)}I", *(self._entries[r][1] for r in ids)),
                         struct.pack(f">{len(small)}I", *small),
                         struct.pack(f">{len(big)}Q", *big), checksum))
        fd, name = tempfile.mkstemp(dir=self._dir, prefix="tmp_idx_")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body + hashlib.sha1(body).digest())
            os.chmod(name, 0o444)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    def _discard(self) -> None:
        """Drop the unfinished pack: nothing of it becomes an object."""
        for _, _, future in self._queue:
            future.cancel()
        self._queue.clear()
        self._pool.shutdown(wait=True)
        with contextlib.suppress(OSError):  # its buffer's last write fails as the first did
            self._out.close()
        self._path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.close()
        else:  # nothing of a failed run is kept
            self._discard()


Writer = BlobWriter | PackWriter
