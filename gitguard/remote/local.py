"""A docroot on this host: scanned with lstat, read with O_NOFOLLOW at every level.

Every call names a single component relative to an open folder descriptor, so no path is
too long and no symlink on the way is followed. Walks hold a bounded number of
descriptors however wide or deep the tree is: a folder's names are read at once, and the
folders far above the current one are closed and reopened through '..', checked to be the
folder they were.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
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
HELD = 32  # folder descriptors a walk keeps open; deeper trees reopen through '..'
TRIES = 3  # looks at a path (or scans of the tree) that keeps changing before giving up
_CHANGED_KIND = (errno.EINVAL, errno.ELOOP, errno.ENOTDIR)  # lstat said one kind, now another


def entry_from_stat(path: str, st: os.stat_result, target: str | None) -> Entry:
    """An Entry from lstat data; FIFOs, sockets and devices are SPECIAL (never opened)."""
    kind = _KINDS.get(stat.S_IFMT(st.st_mode), Kind.SPECIAL)
    return Entry(path=path, kind=kind, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid,
                 gid=st.st_gid, size=st.st_size if kind is Kind.FILE else 0,
                 mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns, target=target)


class _Changed(Exception):
    """A path changed under the scan (kind, or a folder moved): the scan starts again."""


def _ident(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _reopen_up(fd: int, ident: tuple[int, int], what: str) -> int:
    """The folder above `fd`, through '..', if it is still the folder `ident` names."""
    up = os.open("..", _DIR_FLAGS, dir_fd=fd)
    if _ident(os.fstat(up)) != ident:
        os.close(up)
        raise _Changed(what)
    return up


class _Frame:
    """A folder being walked: its descriptor (-1 while closed), path prefix, names to go."""

    __slots__ = ("fd", "ident", "names", "prefix")

    def __init__(self, fd: int, prefix: str, names: list[str]) -> None:
        self.fd = fd
        self.prefix = prefix
        self.names = iter(names)
        self.ident = _ident(os.fstat(fd))


def _walk(root: int, exclude: PathSet) -> tuple[list[Entry], list[str]]:
    """Every path below the folder `root` (which stays open), depth first; and the folders
    that could not be listed."""
    entries: list[Entry] = []
    unreadable: list[str] = []
    fd = os.dup(root)
    try:
        stack = [_Frame(fd, "", sorted(os.listdir(fd)))]
    except BaseException:
        os.close(fd)
        raise
    low = 0  # the frames below this index have their descriptors closed
    try:
        while stack:
            frame = stack[-1]
            raw = next(frame.names, None)
            if raw is None:
                stack.pop()
                try:
                    if stack and stack[-1].fd < 0:
                        stack[-1].fd = _reopen_up(frame.fd, stack[-1].ident,
                                                  stack[-1].prefix or ".")
                        low = len(stack) - 1
                finally:
                    os.close(frame.fd)
                continue
            path = frame.prefix + raw
            found = _look(frame.fd, raw, path, exclude, unreadable)
            if found is None:
                continue
            entry, child = found
            entries.append(entry)
            if child < 0:
                continue
            try:
                names = sorted(os.listdir(child))
            except OSError as exc:
                os.close(child)
                unreadable.append(f"{printable(path)}: {exc.strerror}")
                continue
            stack.append(_Frame(child, path + "/", names))
            if len(stack) - low > HELD:
                os.close(stack[low].fd)
                stack[low].fd = -1
                low += 1
    finally:
        for frame in stack:
            if frame.fd >= 0:
                os.close(frame.fd)
    return entries, unreadable


def _look(fd: int, raw: str, path: str, exclude: PathSet,
          unreadable: list[str]) -> tuple[Entry, int] | None:
    """One name of the folder `fd` as an Entry, with a descriptor of it when it is a folder
    to walk (else -1); None when it is excluded or gone."""
    for _ in range(TRIES):
        try:
            st = os.lstat(raw, dir_fd=fd)
            if skipped(path, exclude, stat.S_ISDIR(st.st_mode)):
                return None
            if stat.S_ISLNK(st.st_mode):
                target = path_str(os.readlink(path_bytes(raw), dir_fd=fd))
                return entry_from_stat(path, st, target), -1
            if not stat.S_ISDIR(st.st_mode):
                return entry_from_stat(path, st, None), -1
            try:
                child = os.open(raw, _DIR_FLAGS, dir_fd=fd)
            except PermissionError as exc:
                unreadable.append(f"{printable(path)}: {exc.strerror}")
                return entry_from_stat(path, st, None), -1
            # the folder listed is the folder recorded, whatever the name held before
            return entry_from_stat(path, os.fstat(child), None), child
        except FileNotFoundError:
            return None  # gone since the folder was listed: not part of this scan
        except OSError as exc:
            if exc.errno not in _CHANGED_KIND:
                raise
    raise _Changed(path)


def _chunks(fd: int, size: int, path: str) -> Iterator[bytes]:
    """Exactly `size` bytes of an open file, a chunk at a time."""
    left = size
    while left:
        chunk = os.read(fd, min(CHUNK, left))
        if not chunk:
            raise ScanError(f"{printable(path)} shrank while it was read, nothing was committed")
        left -= len(chunk)
        yield chunk


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
        there is no listing to compare); a tree that keeps changing under the walk is
        walked again, then given up with ScanError."""
        root = self._root_fd()
        try:
            for _ in range(TRIES):
                try:
                    entries, unreadable = _walk(root, exclude)
                    break
                except _Changed as exc:
                    changed = str(exc)
                except OSError as exc:
                    raise ScanError(f"{self.description}: cannot scan, nothing was committed: "
                                    f"{exc.strerror or exc}") from None
            else:
                raise ScanError(f"{printable(changed)} kept changing while {self.description} "
                                "was scanned, nothing was committed (run it again)")
        finally:
            os.close(root)
        if unreadable:
            raise ScanError(f"cannot list {len(unreadable)} folder(s), nothing was committed: "
                            + "; ".join(unreadable[:10]))
        return Scan(entries)

    def read(self, paths: Sequence[str]) -> Iterator[Content]:
        """Stream each file through O_NOFOLLOW descriptors (each Content's chunks must be
        taken before the next); name every failure at the end."""
        failures = FailureList()
        root = self._root_fd()
        try:
            for path in paths:
                try:
                    fd = _open_file(root, path)
                except UnsafePath as exc:
                    failures.add(path, str(exc))
                    continue
                except OSError as exc:
                    failures.add(path, "vanished during the scan" if exc.errno == errno.ENOENT
                                 else "is no longer a regular file" if exc.errno in _CHANGED_KIND
                                 else exc.strerror or str(exc))
                    continue
                try:
                    size = os.fstat(fd).st_size
                    yield Content(path, size, _chunks(fd, size, path))
                finally:
                    os.close(fd)
        finally:
            os.close(root)
        failures.raise_if_any()

    def look(self, paths: Sequence[str], exclude: PathSet) -> list[Entry] | None:
        """None: a local walk is cheap enough to rescan in full."""
        return None

    def hashes(self, paths: Sequence[str]) -> dict[str, str]:
        """Nothing: reading a local file costs what hashing it would."""
        return {}

    def apply(self, steps: Sequence[Step], blobs: RepoBlobs) -> list[Failure]:
        """Carry out a restore plan (see apply_local)."""
        return apply_local(self.root, steps, blobs.stream)

    def close(self) -> None:
        """Nothing to release."""


def _open_file(root: int, path: str) -> int:
    """A read descriptor of a regular file (ELOOP when it is anything else)."""
    parent, name = _walk_to_parent(root, path)
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
    finally:
        os.close(parent)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.ELOOP, "not a regular file")
    return fd


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


def _open_up(fd: int, st: os.stat_result) -> None:
    """Give the owner rwx on a folder about to be emptied: the attacker's chmod 555 must not
    keep their files."""
    if st.st_mode & stat.S_IRWXU != stat.S_IRWXU:
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, stat.S_IRWXU)


def _remove_tree(parent: int, name: str) -> None:
    """Remove a file, link, special file or folder below `parent` without following any
    link, holding two descriptors however deep the folder goes: down to a folder with no
    folders left in it, empty it, then back up through '..' (checked to be the folder it
    came from) and remove it there."""
    st = os.lstat(name, dir_fd=parent)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=parent)
        return
    cur = os.open(name, _DIR_FLAGS, dir_fd=parent)
    below: list[tuple[str, tuple[int, int]]] = [(name, _ident(os.fstat(cur)))]
    try:
        while True:
            _open_up(cur, os.fstat(cur))
            sub = None
            for child in os.listdir(cur):
                try:
                    if stat.S_ISDIR(os.lstat(child, dir_fd=cur).st_mode):
                        sub = child
                        break
                    os.unlink(child, dir_fd=cur)
                except FileNotFoundError:
                    continue
            if sub is not None:
                nxt = os.open(sub, _DIR_FLAGS, dir_fd=cur)
                below.append((sub, _ident(os.fstat(nxt))))
                os.close(cur)
                cur = nxt
                continue
            here, _ = below.pop()
            if not below:
                break
            try:
                up = _reopen_up(cur, below[-1][1], here)
            except _Changed:
                raise UnsafePath(f"folder {printable(here)!r} was moved while it was removed"
                                 ) from None
            os.close(cur)
            cur = up
            os.rmdir(here, dir_fd=cur)
    finally:
        os.close(cur)
    os.rmdir(name, dir_fd=parent)


def _set_owner(parent: int, name: str, uid: int, gid: int) -> None:
    """Put the owner back where this account may (never through a link); an unprivileged
    account may not."""
    if uid < 0:
        return
    st = os.lstat(name, dir_fd=parent)
    if (st.st_uid, st.st_gid) != (uid, gid):
        with contextlib.suppress(PermissionError):
            os.chown(name, uid, gid, dir_fd=parent, follow_symlinks=False)


def _chmod(parent: int, name: str, mode: int, uid: int, gid: int) -> None:
    """Set mode and owner on what the name holds now, through a descriptor opened without
    following a link: a name swapped for a symlink after the plan was made is left alone,
    never the file it points to."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
        target: str | int = fd
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return  # a link has no mode of its own
        if exc.errno not in (errno.EACCES, errno.ENXIO, errno.EPERM):
            raise
        # mode 000, or a socket: an O_PATH descriptor, changed through its /proc name
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        target = f"/proc/self/fd/{fd}"
    try:
        st = os.fstat(fd)
        if stat.S_ISLNK(st.st_mode):
            return
        if uid >= 0 and (st.st_uid, st.st_gid) != (uid, gid):
            with contextlib.suppress(PermissionError):
                os.chown(target, uid, gid)  # before the mode: chown clears set-id bits
        os.chmod(target, mode)
    finally:
        os.close(fd)


def apply_local(root_path: Path, steps: Sequence[Step],
                blob: Callable[[str], Iterable[bytes]]) -> list[Failure]:
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


def _apply_step(parent: int, name: str, step: Step,
                blob: Callable[[str], Iterable[bytes]]) -> None:
    if step.action is Action.REMOVE:
        with contextlib.suppress(FileNotFoundError):
            _remove_tree(parent, name)
    elif step.action is Action.MKDIR:
        os.mkdir(name, 0o700, dir_fd=parent)
        _set_owner(parent, name, step.uid, step.gid)
    elif step.action is Action.CHMOD:
        _chmod(parent, name, step.mode, step.uid, step.gid)
    else:
        assert step.oid is not None
        tmp = temp_name()
        try:
            if step.action is Action.LINK:
                os.symlink(b"".join(blob(step.oid)), tmp, dir_fd=parent)
                _set_owner(parent, tmp, step.uid, step.gid)
            else:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, 0o600, dir_fd=parent)
                try:
                    for chunk in blob(step.oid):  # streamed: memory never holds a file
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view):]
                    if step.uid >= 0:
                        with contextlib.suppress(PermissionError):
                            os.fchown(fd, step.uid, step.gid)  # before the mode, as above
                    os.fchmod(fd, step.mode)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=parent)
            raise
