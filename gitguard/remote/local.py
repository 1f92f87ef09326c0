"""A docroot on this host: scanned with lstat, read with O_NOFOLLOW at every level."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from gitguard.errors import ScanError
from gitguard.model import Entry, Kind, path_bytes, path_str, printable
from gitguard.plan import Action, Step
from gitguard.policy import PathSet
from gitguard.remote.base import (
    CHUNK,
    Content,
    Failure,
    FailureList,
    Scan,
    UnsafePath,
    skipped,
    temp_name,
    why,
)
from gitguard.store.objects import RepoBlobs

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
        self.sees_ctime = True

    def _root_fd(self) -> int:
        try:
            return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise ScanError(f"docroot {self.root}: {exc.strerror}") from None

    def start_scan(self) -> None:
        """Nothing to start: a local scan is the work of this process."""

    def scan(self, exclude: PathSet, since: bytes | None = None) -> Scan:
        """Walk the tree by file descriptors, never following a symlink (always in full:
        there is no listing to compare)."""
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
        return Scan(entries)

    def read(self, paths: Sequence[str]) -> Iterator[Content]:
        """Read each file through O_NOFOLLOW descriptors; name every failure at the end."""
        failures = FailureList()
        root = self._root_fd()
        try:
            for path in paths:
                try:
                    data = self._read_one(root, path)
                except UnsafePath as exc:
                    failures.add(path, str(exc))
                    continue
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
        parent, name = _walk_to_parent(root, path)
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

    def look(self, paths: Sequence[str], exclude: PathSet) -> list[Entry] | None:
        """None: a local walk is cheap enough to rescan in full."""
        return None

    def hashes(self, paths: Sequence[str]) -> dict[str, str]:
        """Nothing: reading a local file costs what hashing it would."""
        return {}

    def apply(self, steps: Sequence[Step], blobs: RepoBlobs) -> list[Failure]:
        """Carry out a restore plan (see apply_local)."""
        return apply_local(self.root, steps, blobs.read)

    def close(self) -> None:
        """Nothing to release."""


def _walk_to_parent(root: int, path: str) -> tuple[int, str]:
    """A descriptor of the path's folder, each step O_NOFOLLOW: a symlinked folder stops it."""
    parts = path.split("/")
    fd = os.dup(root)
    for part in parts[:-1]:
        try:
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UnsafePath(f"folder {printable(part)!r} on the way is a symlink or not "
                                 "a folder") from None
            raise
        os.close(fd)
        fd = nxt
    return fd, parts[-1]


def _remove_tree(parent: int, name: str) -> None:
    """Remove a file, link or folder below `parent` without following any link."""
    st = os.lstat(name, dir_fd=parent)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    try:
        if st.st_mode & stat.S_IRWXU != stat.S_IRWXU:
            # The attacker's chmod 555 must not keep their files: open it up, it goes anyway.
            with contextlib.suppress(PermissionError):
                os.fchmod(fd, stat.S_IRWXU)
        for child in os.listdir(fd):
            _remove_tree(fd, child)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


def _set_owner(parent: int, name: str, uid: int, gid: int) -> None:
    """Put the owner back where this account may; an unprivileged account may not."""
    if uid < 0:
        return
    st = os.lstat(name, dir_fd=parent)
    if (st.st_uid, st.st_gid) != (uid, gid):
        with contextlib.suppress(PermissionError):
            os.chown(name, uid, gid, dir_fd=parent, follow_symlinks=False)


def apply_local(root_path: Path, steps: Sequence[Step],
                blob: Callable[[str], bytes]) -> list[Failure]:
    """Carry out a restore plan on a local docroot through O_NOFOLLOW descriptors."""
    failures: list[Failure] = []
    root = os.open(root_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for step in steps:
            try:
                parent, name = _walk_to_parent(root, step.path)
            except (OSError, UnsafePath) as exc:
                failures.append(Failure(step.path, why(exc)))
                continue
            try:
                _apply_step(parent, name, step, blob)
            except (OSError, UnsafePath) as exc:
                failures.append(Failure(step.path, why(exc)))
            finally:
                os.close(parent)
    finally:
        os.close(root)
    return failures


def _apply_step(parent: int, name: str, step: Step, blob: Callable[[str], bytes]) -> None:
    if step.action is Action.REMOVE:
        with contextlib.suppress(FileNotFoundError):
            _remove_tree(parent, name)
    elif step.action is Action.MKDIR:
        os.mkdir(name, 0o700, dir_fd=parent)
        _set_owner(parent, name, step.uid, step.gid)
    elif step.action is Action.CHMOD:
        if stat.S_ISLNK(os.lstat(name, dir_fd=parent).st_mode):
            return  # a link has no mode of its own
        os.chmod(name, step.mode, dir_fd=parent)
        _set_owner(parent, name, step.uid, step.gid)
    else:
        assert step.oid is not None
        data = blob(step.oid)
        tmp = temp_name()
        try:
            if step.action is Action.LINK:
                os.symlink(data, tmp, dir_fd=parent)
            else:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o600, dir_fd=parent)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fchmod(fd, step.mode)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            _set_owner(parent, tmp, step.uid, step.gid)
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=parent)
            raise
