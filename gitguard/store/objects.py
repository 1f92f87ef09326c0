"""Git objects in bulk: blobs as loose objects, trees through a private index, commits."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import threading
import zlib
from binascii import unhexlify
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from gitguard.errors import StoreError
from gitguard.model import path_bytes
from gitguard.store.git import Git

ZERO = "0" * 40
CHUNK = 1 << 20  # what a streamed blob passes at a time


def blob_id(data: bytes) -> str:
    """The git object id of a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# Content that is already compressed (JPEG, PNG, GIF, WebP, ZIP, gzip, PDF, MP4, WOFF2,
# bzip2, xz, 7z, RAR, Ogg) is stored without deflate: uploads are most of a site's bytes and
# deflating them again costs CPU and saves nothing.
_COMPRESSED_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF", b"PK\x03\x04", b"\x1f\x8b",
                     b"%PDF", b"wOF2", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!", b"OggS",
                     b"ID3", b"\x00\x00\x00\x18ftyp", b"\x00\x00\x00\x1cftyp",
                     b"\x00\x00\x00 ftyp")
_IN_FLIGHT = 16 << 20  # bytes of blobs waiting to be deflated: bounds memory
STREAM_ABOVE = 4 << 20  # larger blobs are written as they arrive, never held whole


def deflate_level(data: bytes) -> int:
    """zlib level for a blob: 0 for already-compressed formats, 1 (git's loose default) else."""
    return 0 if data.startswith(_COMPRESSED_MAGIC) else 1


class BlobWriter:
    """Writes blobs as git loose objects, deflating on a thread pool (zlib frees the GIL).

    The format is git's own (zlib of 'blob <size>\\0' + content, named by its SHA-1); each
    object is written under a temporary name and renamed, as git does, so a killed run leaves
    no torn object. Nothing becomes reachable until the caller moves a ref.
    """

    def __init__(self, git: Git, workers: int = 2) -> None:
        self._objects = git.git_dir / "objects"
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="blob")
        self._pending: list[Future[None]] = []
        self._budget = threading.BoundedSemaphore(_IN_FLIGHT >> 16)
        self.count = 0
        self.bytes = 0

    def add(self, size: int, chunks: Iterable[bytes]) -> str:
        """Write a blob of exactly `size` bytes given as chunks; return its object id.

        A large blob is deflated chunk by chunk into its object file as it arrives, so
        memory never grows with a file's size; a small one goes to the thread pool."""
        if size > STREAM_ABOVE:
            return self._stream(size, chunks)
        parts = []
        seen = 0
        for chunk in chunks:
            seen += len(chunk)
            if seen > size:
                break  # a source that sends more than it announced is not read to its end
            parts.append(chunk)
        if seen != size:
            raise StoreError(f"blob announced as {size} bytes had "
                             f"{'more' if seen > size else seen}")
        return self.add_bytes(b"".join(parts))

    def _stream(self, size: int, chunks: Iterable[bytes]) -> str:
        """Write a large blob as git's loose object without holding it: its id, whose
        header needs only the size known up front, is hashed as the chunks pass."""
        header = b"blob %d\0" % size
        digest = hashlib.sha1(header)
        seen = 0
        fd, tmp = tempfile.mkstemp(dir=self._objects, prefix="tmp_obj_")
        try:
            with os.fdopen(fd, "wb") as out:
                packer = None
                for chunk in chunks:
                    if packer is None:
                        packer = zlib.compressobj(deflate_level(chunk))
                        out.write(packer.compress(header))
                    seen += len(chunk)
                    if seen > size:
                        break
                    digest.update(chunk)
                    out.write(packer.compress(chunk))
                if packer is not None:
                    out.write(packer.flush())
            if seen != size:
                raise StoreError(f"blob announced as {size} bytes had "
                                 f"{'more' if seen > size else seen}")
            oid = digest.hexdigest()
            path = self._objects / oid[:2] / oid[2:]
            if path.exists():
                Path(tmp).unlink()
            else:
                path.parent.mkdir(exist_ok=True)
                os.chmod(tmp, 0o444)
                os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.count += 1
        self.bytes += size
        return oid

    def add_bytes(self, data: bytes) -> str:
        """Write a blob held in memory; return its object id."""
        header = b"blob %d\0" % len(data)
        digest = hashlib.sha1(header)
        digest.update(data)
        oid = digest.hexdigest()
        self.count += 1
        self.bytes += len(data)
        path = self._objects / oid[:2] / oid[2:]
        if path.exists():
            return oid
        units = max(1, min(len(data) >> 16, _IN_FLIGHT >> 16))
        for _ in range(units):
            self._budget.acquire()
        future = self._pool.submit(self._write, path, header, data)
        future.add_done_callback(lambda _f: self._release(units))
        self._pending.append(future)
        if len(self._pending) > 256:
            self._drain(keep=64)
        return oid

    def _release(self, units: int) -> None:
        for _ in range(units):
            self._budget.release()

    @staticmethod
    def _write(path: Path, header: bytes, data: bytes) -> None:
        packer = zlib.compressobj(deflate_level(data))
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="tmp_obj_")
        try:
            with os.fdopen(fd, "wb") as out:
                # written as deflated, never joined: no second copy of a file's bytes
                out.write(packer.compress(header))
                out.write(packer.compress(data))
                out.write(packer.flush())
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _drain(self, keep: int = 0) -> None:
        while len(self._pending) > keep:
            self._pending.pop(0).result()

    def close(self) -> None:
        """Wait until every object is on disk; raise StoreError if one could not be written."""
        try:
            self._drain()
        except OSError as exc:
            raise StoreError(f"cannot write to the repository: {exc}") from None
        finally:
            self._pool.shutdown()

    def abort(self) -> None:
        """Stop without finishing: nothing written is reachable from any ref."""
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)
        self._pending.clear()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@dataclass(frozen=True)
class CommitInfo:
    """One commit of a branch's history, as `log` shows it."""

    commit: str
    date: datetime  # the committer's date
    authored: datetime
    subject: str
    message: str


class BlobReader:
    """Reads objects through one persistent `git cat-file --batch` started by the runner:
    blobs (whole or streamed), trees and commits, every one checked against its id (git
    does not re-hash what it hands out, so a rewritten object file in the data dir would
    otherwise be believed). The check's single reads go through here; GitPython is kept
    for walks over history, whose import alone costs a check a tenth of a second."""

    def __init__(self, git: Git) -> None:
        self._git = git
        self._proc = git.popen(["cat-file", "--batch"], stdout=subprocess.PIPE)
        self.pid = os.getpid()  # a forked job must start its own: answers would interleave

    def read(self, oid: str, kind: str = "blob") -> bytes:
        """The bytes of an object of this kind, checked against its id."""
        if kind == "blob":
            return b"".join(self.stream(oid))
        size = self._ask(oid, kind)
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(size)
        self._proc.stdout.read(1)
        if len(data) != size:
            raise StoreError(f"git cat-file stopped inside object {oid}")
        if hashlib.sha1(b"%s %d\0" % (kind.encode(), size) + data).hexdigest() != oid:
            raise StoreError(f"{kind} {oid[:12]} in {self._git.git_dir} does not match its "
                             "id: the repository was tampered with")
        return data

    def stream(self, oid: str) -> Iterator[bytes]:
        """The content of a blob in chunks, never held whole; StoreError, before its last
        chunk is given, when the bytes do not match the id (git does not check them: a
        rewritten object file in the data dir would otherwise be restored as is)."""
        size = self._ask(oid, "blob")
        assert self._proc.stdout is not None
        yield from _checked_body(self._proc.stdout, oid, size)

    def _ask(self, oid: str, kind: str) -> int:
        """Ask cat-file for an object; its size once the header names this kind."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if not _OID.fullmatch(oid):  # anything else would be read as a revision
            raise StoreError(f"{oid[:60]!r} is not an object id")
        self._proc.stdin.write(oid.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().split()
        if len(header) == 3 and header[1] != kind.encode() and header[2].isdigit():
            size = int(header[2])
            while size > 0 and (skipped := self._proc.stdout.read(min(size, CHUNK))):
                size -= len(skipped)  # keep the pipe in step
            self._proc.stdout.read(1)
            raise StoreError(f"object {oid[:12]} in {self._git.git_dir} is a "
                             f"{header[1].decode(errors='replace')}, not a {kind}")
        if len(header) != 3 or not header[2].isdigit():
            raise StoreError(f"{kind} {oid[:12]} is missing from {self._git.git_dir}")
        return int(header[2])

    def tree(self, oid: str) -> dict[bytes, tuple[int, str]]:
        """Raw name -> (mode, object id) of a tree's entries."""
        return parse_tree(self.read(oid, "tree"), oid)

    def commit_tree(self, commit: str) -> str:
        """The tree a commit names."""
        return named_tree(self.read(commit, "commit"), commit, self._git.git_dir)

    def lookup(self, commit: str, path: str) -> tuple[int, str] | None:
        """(mode, id) of what lies at `path` in a commit's tree, or None."""
        found: tuple[int, str] | None = (TREE_MODE, self.commit_tree(commit))
        for part in path.encode("utf-8", "surrogateescape").split(b"/"):
            if found is None or found[0] != TREE_MODE:
                return None
            found = self.tree(found[1]).get(part)
        return found

    def file(self, commit: str, path: str) -> bytes | None:
        """A file of a commit's tree, or None when it has none there."""
        found = self.lookup(commit, path)
        return None if found is None or found[0] == TREE_MODE else self.read(found[1])

    def info(self, commit: str) -> CommitInfo:
        """A commit's dates and message, read from the checked commit object."""
        return commit_info(commit, self.read(commit, "commit"))

    def close(self) -> None:
        """Stop the cat-file process."""
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_OID = re.compile(r"[0-9a-f]{40}")


def parse_tree(data: bytes, oid: str) -> dict[bytes, tuple[int, str]]:
    """Raw name -> (mode, object id) of a tree object's bytes. Parsed here, not by
    GitPython, whose checks refuse names (`git~1`, `.git.`) that git and a Linux docroot
    allow."""
    found: dict[bytes, tuple[int, str]] = {}
    at = 0
    try:
        while at < len(data):
            space = data.index(b" ", at)
            nul = data.index(b"\0", space)
            if nul + 21 > len(data):
                raise ValueError("cut short")
            found[data[space + 1:nul]] = (int(data[at:space], 8), data[nul + 1:nul + 21].hex())
            at = nul + 21
    except ValueError as exc:
        raise StoreError(f"tree {oid[:12]} does not parse: {exc}") from None
    return found


def commit_info(commit: str, data: bytes) -> CommitInfo:
    """The dates and message of a commit object's (checked) bytes."""
    head, _, body = data.partition(b"\n\n")
    dates: dict[bytes, datetime] = {}
    for line in head.split(b"\n"):
        field, _, value = line.partition(b" ")
        if field in (b"author", b"committer"):
            stamp = value.rpartition(b">")[2].split()
            if len(stamp) == 2 and stamp[0].isdigit() and re.fullmatch(rb"[+-]\d{4}", stamp[1]):
                sign = -1 if stamp[1][:1] == b"-" else 1
                zone = timezone(sign * timedelta(hours=int(stamp[1][1:3]),
                                                 minutes=int(stamp[1][3:5])))
                dates[field] = datetime.fromtimestamp(int(stamp[0]), zone)
    if b"committer" not in dates or b"author" not in dates:
        raise StoreError(f"commit {commit[:12]} has no author or committer date")
    message = body.decode("utf-8", "replace")
    return CommitInfo(commit, dates[b"committer"], dates[b"author"],
                      message.split("\n", 1)[0], message)


class RepoBlobs:
    """Where a restore takes the approved content from: single blobs, or a whole tar."""

    def __init__(self, git: Git, scratch: Path) -> None:
        self._git = git
        self._scratch = scratch
        self._reader: BlobReader | None = None

    def read(self, oid: str) -> bytes:
        """One blob's bytes."""
        if self._reader is None:
            self._reader = BlobReader(self._git)
        return self._reader.read(oid)

    def stream(self, oid: str) -> Iterator[bytes]:
        """One blob's bytes in chunks, checked against its id (BlobReader.stream)."""
        if self._reader is None:
            self._reader = BlobReader(self._git)
        return self._reader.stream(oid)

    def batch(self, oids: Iterable[str]) -> Iterator[bytes]:
        """These blobs as `git cat-file --batch` prints them ("<id> blob <size>\\n", the
        bytes, "\\n"; "<id> missing\\n"), in chunks: no blob passes through Python whole."""
        proc = self._git.popen(["cat-file", "--batch"], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdin is not None
        stdin = proc.stdin

        def feed() -> None:
            # a thread of its own: cat-file's answers fill the pipe while it is asked
            try:
                for oid in oids:
                    stdin.write(oid.encode() + b"\n")
                stdin.close()
            except OSError:
                pass  # the consumer gave up and closed the output

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            yield from _checked_batch(proc.stdout)
        finally:
            proc.stdout.close()
            feeder.join()
            if proc.wait() not in (0, -13) and proc.stderr is not None:  # -13: SIGPIPE
                raise StoreError("git cat-file failed: "
                                 + proc.stderr.read().decode("utf-8", "replace").strip())

    def close(self) -> None:
        """Stop the blob reader."""
        if self._reader is not None:
            self._reader.close()

    def __enter__(self) -> RepoBlobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check(digest: hashlib._Hash, oid: str) -> None:
    if digest.hexdigest() != oid:
        raise StoreError(f"blob {oid[:12]} does not match its id: the repository was "
                         "tampered with; nothing more is restored from it")


def _checked_batch(out: IO[bytes]) -> Iterator[bytes]:
    """`git cat-file --batch` output passed on as it comes, each blob's last chunk only once
    its bytes proved to match its id: the server never receives the whole of a tampered
    object, so apply.pl, which renames a file only after its last byte, never puts it in
    place."""
    while head := out.readline():
        parts = head.split()
        if len(parts) != 3 or parts[1] != b"blob":
            yield head  # "<id> missing": apply.pl fails that step
            continue
        yield from _checked_body(out, parts[0].decode(), int(parts[2]), first=head)
        yield b"\n"  # the newline git puts after each object, which apply.pl expects


def _checked_body(out: IO[bytes], oid: str, size: int, first: bytes = b"") -> Iterator[bytes]:
    """The `size` bytes of blob `oid` from cat-file's output, in chunks, after `first`: each
    chunk passed on once the next has arrived, the last only once the whole proved to match
    the id (StoreError otherwise); the newline after the object is read, not passed on."""
    digest = hashlib.sha1(b"blob %d\0" % size)
    held, left = first, size
    try:
        while left:
            chunk = out.read(min(left, CHUNK))
            if not chunk:
                raise StoreError(f"git cat-file stopped inside object {oid}")
            left -= len(chunk)
            digest.update(chunk)
            if held:
                yield held
            held = chunk
    finally:
        while left > 0 and (rest := out.read(min(left, CHUNK))):
            left -= len(rest)  # a reader that stopped early: keep the pipe in step
        out.read(1)
    _check(digest, oid)
    if held:
        yield held


def existing(git: Git, oids: Iterable[str]) -> set[str]:
    """Which of these objects the repository already holds."""
    wanted = list(dict.fromkeys(oids))
    if not wanted:
        return set()
    out = git.run(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                  input="".join(f"{oid}\n" for oid in wanted).encode())
    return {line.split()[0] for line in out.decode().splitlines() if line.endswith(" blob")}


def write_tree(git: Git, entries: Iterable[tuple[str, str, str]], index: Path) -> str:
    """Build a tree from (git mode, object id, path) through a private, fresh index."""
    index.unlink(missing_ok=True)
    env = {"GIT_INDEX_FILE": str(index)}
    data = b"".join(f"{mode} {oid}\t".encode() + path_bytes(path) + b"\0"
                    for mode, oid, path in entries)
    try:
        git.run(["update-index", "-z", "--index-info"], input=data, env=env)
        return git.text(["write-tree"], env=env)
    finally:
        index.unlink(missing_ok=True)


def commit(git: Git, tree: str, parents: Iterable[str], message: str,
           sign_with: Iterable[str] = (), env: dict[str, str] | None = None) -> str:
    """Create a commit object and return its id; `sign_with` (git -c options) signs it."""
    options = list(sign_with)
    args = [*options, "commit-tree", *(["-S"] if options else []), tree]
    for parent in parents:
        args += ["-p", parent]
    return git.text(args, input=message.encode("utf-8"), env=env)


def move_ref(git: Git, ref: str, new: str, old: str | None, reason: str) -> None:
    """Point ref at new only if it still points at old (compare-and-swap)."""
    git.run(["update-ref", "-m", reason, ref, new, old or ZERO])


TREE_MODE = 0o040000


def tree_body(entries: Mapping[bytes, tuple[int, str]]) -> bytes:
    """A tree object's bytes from name -> (mode, id in hex), in git's order (a folder sorts
    as if its name ended in '/')."""
    names = sorted(entries, key=lambda n: n + b"/" if entries[n][0] == TREE_MODE else n)
    return b"".join(b"%o %s\0" % (entries[n][0], n) + unhexlify(entries[n][1]) for n in names)


def write_object(git: Git, kind: str, data: bytes) -> str:
    """Write one object (a tree, say) as a loose object, at once; return its id."""
    header = b"%s %d\0" % (kind.encode(), len(data))
    oid = hashlib.sha1(header + data).hexdigest()
    path = git.git_dir / "objects" / oid[:2] / oid[2:]
    if not path.exists():
        try:
            BlobWriter._write(path, header, data)
        except OSError as exc:
            raise StoreError(f"cannot write to the repository: {exc}") from None
    return oid


def tree_id(rows: Iterable[tuple[bytes, str | bytes, bytes]]) -> str:
    """The id git gives the tree that holds these (git mode, blob id in hex, raw path)
    entries, given in git's order (by path bytes), computed here: what a cache or git's own
    listing says can be held against a commit. Entries out of order give another id."""
    stack: list[tuple[bytes, list[bytes]]] = [(b"", [])]  # open folders, as "a/b/"
    folder, entries = stack[0]
    for mode, oid, path in rows:
        cut = path.rfind(b"/") + 1
        if path[:cut] != folder:
            folder, entries = _enter(stack, path[:cut])
        entries.append(mode + b" " + path[cut:] + b"\0" + unhexlify(oid))
    while len(stack) > 1:
        _close_tree(stack)
    return _tree_digest(stack[0][1]).hexdigest()


def _listed_tree_id(records: list[bytes]) -> str:
    """tree_id of `git ls-tree -r -z` records ("100644 blob <hex>\t<path>": fixed places),
    in one loop with nothing built per record but its tree entry (a restore checks the
    approved tree's 30,000 records on every run)."""
    stack: list[tuple[bytes, list[bytes]]] = [(b"", [])]
    folder, entries = stack[0]
    add = entries.append
    for record in records:
        cut = record.rfind(b"/") + 1 or 53
        if record[53:cut] != folder:
            folder, entries = _enter(stack, record[53:cut])
            add = entries.append
        add(record[:6] + b" " + record[cut:] + b"\0" + unhexlify(record[12:52]))
    while len(stack) > 1:
        _close_tree(stack)
    return _tree_digest(stack[0][1]).hexdigest()


def _enter(stack: list[tuple[bytes, list[bytes]]], prefix: bytes) -> tuple[bytes, list[bytes]]:
    """Close the open folders that do not hold `prefix`, open the ones down to it."""
    while not prefix.startswith(stack[-1][0]):
        _close_tree(stack)
    if prefix != stack[-1][0]:
        for part in prefix[len(stack[-1][0]):-1].split(b"/"):
            stack.append((stack[-1][0] + part + b"/", []))
    return stack[-1]


def _tree_digest(entries: list[bytes]) -> hashlib._Hash:
    body = b"".join(entries)
    return hashlib.sha1(b"tree %d\0" % len(body) + body)


def _close_tree(stack: list[tuple[bytes, list[bytes]]]) -> None:
    folder, entries = stack.pop()
    name = folder[:-1].rpartition(b"/")[2]
    stack[-1][1].append(b"40000 %s\0" % name + _tree_digest(entries).digest())


Differences = dict[bytes, tuple[tuple[int, str] | None, tuple[int, str] | None]]


def blob_differences(objects: BlobReader, old: str | None, new: str | None,
                     prefix: bytes = b"") -> Differences:
    """(old entry, new entry) of every blob or link whose entry differs below two trees, by
    raw path: git diff-tree's answer, but every tree object read is checked against its id,
    and folders with the same tree id on both sides are not read."""
    return entry_differences(objects, objects.tree(old) if old else {},
                             objects.tree(new) if new else {}, prefix)


def entry_differences(objects: BlobReader, one: Mapping[bytes, tuple[int, str]],
                      other: Mapping[bytes, tuple[int, str]], prefix: bytes = b"") -> Differences:
    """blob_differences of two trees already read (their entries)."""
    out: Differences = {}
    for name in one.keys() | other.keys():
        was, now = one.get(name), other.get(name)
        if was == now:
            continue
        folders = [e[1] if e is not None and e[0] == TREE_MODE else None for e in (was, now)]
        if folders[0] != folders[1]:
            out.update(blob_differences(objects, folders[0], folders[1], prefix + name + b"/"))
        blobs = [None if e is None or e[0] == TREE_MODE else e for e in (was, now)]
        if blobs[0] != blobs[1]:
            out[prefix + name] = (blobs[0], blobs[1])
    return out


def commit_tree(git: Git, commit: str) -> str:
    """The tree id a commit names, read from the commit object only after its bytes are
    checked against the commit's id (a rewritten object file names another tree)."""
    data = git.run(["cat-file", "commit", commit])
    if hashlib.sha1(b"commit %d\0" % len(data) + data).hexdigest() != commit:
        raise StoreError(f"commit {commit[:12]} in {git.git_dir} does not match its id: "
                         "the repository was tampered with")
    return named_tree(data, commit, git.git_dir)


def named_tree(data: bytes, commit: str, where: object) -> str:
    """The tree id a commit object's (checked) bytes name in their first line."""
    head = data.split(b"\n", 1)[0].decode("ascii", "replace").split(" ")
    if len(head) != 2 or head[0] != "tree" or not _OID.fullmatch(head[1]):
        raise StoreError(f"commit {commit[:12]} in {where} names no tree")
    return head[1]


# Every record of `ls-tree -r -z` that a snapshot can hold: a file or a link.
_LS_TREE = re.compile(rb"(?:(?:100644|100755|120000) blob [0-9a-f]{40}\t[^\0]+\0)*")


def verified_ls_tree(git: Git, commit: str) -> dict[str, tuple[str, str]]:
    """Path -> (git mode, object id) of every blob and link of a commit's tree, with the
    listing checked against the commit's id: a tampered object fails, never misleads."""
    tree = commit_tree(git, commit)
    out = git.run(["ls-tree", "-r", "-z", "--full-tree", tree])
    records = out.split(b"\0")
    records.pop()  # what follows the last NUL
    # "100644 blob <40 hex>\t<path>": fixed places; anything else fails the id check
    if not _LS_TREE.fullmatch(out) or _listed_tree_id(records) != tree:
        raise StoreError(f"the tree of commit {commit[:12]} in {git.git_dir} does not match "
                         "its id: the repository was tampered with")
    text = out.decode("utf-8", "surrogateescape").split("\0")
    text.pop()
    return {r[53:]: (r[:6], r[12:52]) for r in text}


def verified_blob(git: Git, oid: str) -> bytes:
    """A blob's bytes, checked against its id."""
    data = git.run(["cat-file", "blob", oid])
    if blob_id(data) != oid:
        raise StoreError(f"blob {oid[:12]} in {git.git_dir} does not match its id: "
                         "the repository was tampered with")
    return data


def ls_tree(git: Git, rev: str) -> Iterator[tuple[str, str, str]]:
    """(git mode, object id, path) for every blob and link of a commit's tree."""
    out = git.run(["ls-tree", "-r", "-z", "--full-tree", rev])
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, _kind, oid = meta.split(b" ")
        yield mode.decode(), oid.decode(), raw_path.decode("utf-8", "surrogateescape")
