"""Git objects in bulk: blobs through fast-import, trees through a private index, commits."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from gitguard.errors import StoreError
from gitguard.model import path_bytes
from gitguard.store.git import Git

ZERO = "0" * 40


def blob_id(data: bytes) -> str:
    """The git object id of a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class BlobWriter:
    """Streams many blobs into one pack through `git fast-import` (no loose objects)."""

    def __init__(self, git: Git) -> None:
        self._git = git
        self._proc: subprocess.Popen[bytes] | None = None
        self.count = 0
        self.bytes = 0

    def _stdin(self) -> IO[bytes]:
        if self._proc is None:
            # Level 1 compression: uploads are already compressed, text still shrinks well.
            self._proc = self._git.popen(["-c", "pack.compression=1", "fast-import",
                                          "--quiet", "--done"])
        assert self._proc.stdin is not None
        return self._proc.stdin

    def add(self, size: int, chunks: Iterable[bytes]) -> str:
        """Write a blob of exactly `size` bytes given as chunks; return its object id."""
        out = self._stdin()
        digest = hashlib.sha1(b"blob %d\0" % size)
        out.write(b"blob\ndata %d\n" % size)
        written = 0
        for chunk in chunks:
            digest.update(chunk)
            out.write(chunk)
            written += len(chunk)
        if written != size:
            raise StoreError(f"blob announced as {size} bytes had {written}")
        out.write(b"\n")
        self.count += 1
        self.bytes += size
        return digest.hexdigest()

    def add_bytes(self, data: bytes) -> str:
        """Write a blob held in memory."""
        return self.add(len(data), (data,))

    def close(self) -> None:
        """Finish the pack; raise StoreError if fast-import failed."""
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        try:
            assert proc.stdin is not None
            proc.stdin.write(b"done\n")
            proc.stdin.close()
        except BrokenPipeError:
            pass
        assert proc.stderr is not None
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise StoreError("git fast-import failed: " + err.decode("utf-8", "replace").strip())

    def abort(self) -> None:
        """Stop without finishing: nothing written becomes reachable."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class BlobReader:
    """Reads blobs through one `git cat-file --batch` process."""

    def __init__(self, git: Git) -> None:
        self._proc = git.popen(["cat-file", "--batch"], stdout=subprocess.PIPE)

    def read(self, oid: str) -> bytes:
        """The content of a blob."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(oid.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().split()
        if len(header) != 3:
            raise StoreError(f"object {oid} is missing from the repository")
        data = self._proc.stdout.read(int(header[2]) + 1)
        return data[:-1]

    def close(self) -> None:
        """Stop the cat-file process."""
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
           sign_with: Iterable[str] = ()) -> str:
    """Create a commit object and return its id; `sign_with` (git -c options) signs it."""
    options = list(sign_with)
    args = [*options, "commit-tree", *(["-S"] if options else []), tree]
    for parent in parents:
        args += ["-p", parent]
    return git.text(args, input=message.encode("utf-8"))


def move_ref(git: Git, ref: str, new: str, old: str | None, reason: str) -> None:
    """Point ref at new only if it still points at old (compare-and-swap)."""
    git.run(["update-ref", "-m", reason, ref, new, old or ZERO])


def ls_tree(git: Git, rev: str) -> Iterator[tuple[str, str, str]]:
    """(git mode, object id, path) for every blob and link of a commit's tree."""
    out = git.run(["ls-tree", "-r", "-z", "--full-tree", rev])
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, _kind, oid = meta.split(b" ")
        yield mode.decode(), oid.decode(), raw_path.decode("utf-8", "surrogateescape")
