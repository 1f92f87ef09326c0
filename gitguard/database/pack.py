"""A whole database read goes into git as one pack (`git fast-import`), not as thousands of
loose objects: each loose object is a new file, and creating files is what a disk does
slowest (a first backup of 600,000 rows is ~2,400 rows files)."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import threading
from collections import deque
from types import TracebackType
from typing import Self

from gitguard.errors import StoreError
from gitguard.store.git import Git
from gitguard.store.objects import BlobWriter

FINISH_TIMEOUT = 600.0  # seconds fast-import may take to finish its pack once fed
IN_FLIGHT = 32 << 20  # bytes of blobs waiting for fast-import: bounds memory
# pack.compression 1 as loose objects have it (zlib's fastest); no deltas: rows files of
# different key ranges share little, and finding that out costs more than it saves
FAST_IMPORT = ["-c", "pack.compression=1", "fast-import", "--quiet", "--done", "--depth=0"]


class PackWriter:
    """Blobs into one new pack; their ids computed here, as BlobWriter does. A thread
    feeds fast-import, so the database client is read while fast-import deflates."""

    def __init__(self, git: Git) -> None:
        self._git = git
        self._proc = git.popen(FAST_IMPORT)
        self._written: set[str] = set()
        self._queue: deque[bytes | None] = deque()
        self._queued = 0  # bytes in the queue
        self._room = threading.Condition()
        self._error: OSError | None = None
        self._feeder = threading.Thread(target=self._feed, daemon=True, name="pack")
        self._feeder.start()
        self.count = 0
        self.bytes = 0

    def add_bytes(self, data: bytes) -> str:
        """Write a blob held in memory; return its object id."""
        digest = hashlib.sha1(b"blob %d\0" % len(data))
        digest.update(data)
        oid = digest.hexdigest()
        self.count += 1
        self.bytes += len(data)
        if oid not in self._written:
            self._written.add(oid)
            self._put(b"blob\ndata %d\n" % len(data) + data + b"\n")
        return oid

    def _put(self, item: bytes | None) -> None:
        with self._room:
            # one item always fits, however big: memory is the queue's bound or one blob
            while self._queue and self._queued + len(item or b"") > IN_FLIGHT \
                    and self._error is None:
                self._room.wait()
            if self._error is not None:
                raise self._failed()
            self._queue.append(item)
            self._queued += len(item or b"")
            self._room.notify_all()

    def _feed(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        while True:
            with self._room:
                while not self._queue and self._error is None:
                    self._room.wait()
                if self._error is not None:
                    return  # stopped: nothing more goes in
                item = self._queue[0]
            try:
                stdin.write(b"done\n" if item is None else item)
                if item is None:
                    stdin.close()
            except OSError as exc:
                with self._room:
                    self._error = exc
                    self._queue.clear()
                    self._room.notify_all()
                return
            with self._room:
                self._queue.popleft()
                self._queued -= len(item or b"")
                self._room.notify_all()
            if item is None:
                return

    def close(self) -> None:
        """Finish the pack: every blob is in the repository once this returns."""
        self._put(None)
        self._feeder.join(FINISH_TIMEOUT)
        try:
            self._proc.wait(timeout=FINISH_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise self._failed() from None
        if self._error is not None or self._proc.returncode != 0:
            raise self._failed()
        self._drop()

    def _failed(self) -> StoreError:
        """The error of a fast-import that stopped: git's last words."""
        self._stop()
        said = self._proc.stderr.read().decode("utf-8", "replace").strip().splitlines() \
            if self._proc.stderr else []
        self._drop()
        return StoreError(f"cannot write to the repository {self._git.git_dir}: git "
                          f"fast-import: {said[-1] if said else 'ended early'}")

    def _stop(self) -> None:
        """End fast-import (a killed one writes no pack) and let the feeder go."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        with self._room:
            self._error = self._error or OSError("stopped")
            self._queue.clear()
            self._room.notify_all()

    def _drop(self) -> None:
        for stream in (self._proc.stdin, self._proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.close()
        else:  # nothing of a failed run is kept
            self._stop()
            self._feeder.join(FINISH_TIMEOUT)
            self._drop()


Writer = BlobWriter | PackWriter
