"""A docroot on this host: scanned with lstat, read with O_NOFOLLOW at every level."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from gitguard.errors import ScanError
from gitguard.model import Entry, Kind, path_bytes, path_str, printable
from gitguard.policy import PathSet
from gitguard.remote.base import CHUNK, Content, FailureList, skipped

_KINDS = {stat.S_IFREG: Kind.FILE, stat.S_IFDIR: Kind.DIR, stat.S_IFLNK: Kind.SYMLINK}
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def entry_from_stat(path: str, st: os.stat_result, target: str | None) -> Entry | None:
    """An Entry from lstat data; None for sockets, fifos and devices."""
    kind = _KINDS.get(stat.S_IFMT(st.st_mode))
    if kind is None:
        return None
    return Entry(path=path, kind=kind, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid,
                 gid=st.st_gid, size=st.st_size if kind is Kind.FILE else 0,
                 mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns, target=target)


class LocalRemote:
    """A docroot reached through the local file system."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def _root_fd(self) -> int:
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise ScanError(f"docroot {self.root}: {exc.strerror}") from None

    def scan(self, exclude: PathSet) -> list[Entry]:
        """Walk the tree by file descriptors, never following a symlink."""
        entries: list[Entry] = []
        unreadable: list[str] = []
        root = self._root_fd()
        stack: list[tuple[int, str]] = [(root, "")]
        while stack:
            fd, prefix = stack.pop()
            try:
                names = sorted(os.listdir(fd))
            except OSError as exc:
                unreadable.append(f"{printable(prefix or '.')}: {exc.strerror}")
                os.close(fd)
                continue
            for raw in names:
                path = prefix + raw
                if skipped(path, exclude):
                    continue
                try:
                    st = os.lstat(raw, dir_fd=fd)
                    target = (path_str(os.readlink(path_bytes(raw), dir_fd=fd))
                              if stat.S_ISLNK(st.st_mode) else None)
                except FileNotFoundError:
                    continue  # gone between listdir and lstat: not part of this scan
                entry = entry_from_stat(path, st, target)
                if entry is None:
                    continue
                entries.append(entry)
                if entry.kind is Kind.DIR:
                    try:
                        stack.append((os.open(raw, _DIR_FLAGS, dir_fd=fd), path + "/"))
                    except OSError as exc:
                        unreadable.append(f"{printable(path)}: {exc.strerror}")
            os.close(fd)
        if unreadable:
            raise ScanError(f"cannot list {len(unreadable)} folder(s), nothing was committed: "
                            + "; ".join(unreadable[:10]))
        return entries

    def _open_parent(self, root: int, path: str) -> tuple[int, str]:
        """A descriptor of the path's folder, reached without following any symlink."""
        parts = path.split("/")
        fd = os.dup(root)
        try:
            for part in parts[:-1]:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nxt
        except OSError:
            os.close(fd)
            raise
        return fd, parts[-1]

    def read(self, paths: Sequence[str]) -> Iterator[Content]:
        """Read each file through O_NOFOLLOW descriptors; name every failure at the end."""
        failures = FailureList()
        root = self._root_fd()
        try:
            for path in paths:
                try:
                    data = self._read_one(root, path)
                except OSError as exc:
                    why = ("vanished during the scan" if exc.errno == errno.ENOENT
                           else "is no longer a regular file" if exc.errno in (errno.ELOOP,
                                                                                 errno.ENOTDIR)
                           else exc.strerror or str(exc))
                    failures.add(path, why)
                    continue
                yield Content(path, len(data), (data,))
        finally:
            os.close(root)
        failures.raise_if_any()

    def _read_one(self, root: int, path: str) -> bytes:
        parent, name = self._open_parent(root, path)
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
        finally:
            os.close(parent)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.ELOOP, "not a regular file")
            chunks = []
            while chunk := os.read(fd, CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Nothing to release."""
