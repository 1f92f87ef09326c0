"""The database folder of a snapshot or approved tree: written with `git mktree`, read back
with every tree object checked against its id."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping

from gitguard.errors import StoreError
from gitguard.store.git import Git
from gitguard.store.meta import DB_DIR

TREE = "40000"
BLOB = "100644"


def write_tree(git: Git, entries: Mapping[str, tuple[str, str]]) -> str:
    """A tree object of name -> (mode, id) entries; its id."""
    data = b"".join(f"{mode} {'tree' if mode == TREE else 'blob'} {oid}\t{name}\0".encode()
                    for name, (mode, oid) in sorted(entries.items()))
    return git.text(["mktree", "-z"], input=data)


class TreeReader:
    """Reads tree objects through one `git cat-file --batch`, each checked against its id."""

    def __init__(self, git: Git) -> None:
        self.git = git
        self._proc = git.popen(["cat-file", "--batch"], stdout=subprocess.PIPE)

    def entries(self, oid: str) -> dict[str, tuple[str, str]]:
        """name -> (mode, id) of a tree."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(oid.encode() + b"\n")
        self._proc.stdin.flush()
        head = self._proc.stdout.readline().split()
        if len(head) != 3 or head[1] != b"tree":
            raise StoreError(f"tree {oid[:12]} is missing from {self.git.git_dir}")
        size = int(head[2])
        data = self._proc.stdout.read(size)
        self._proc.stdout.read(1)
        if hashlib.sha1(b"tree %d\0" % size + data).hexdigest() != oid:
            raise StoreError(f"tree {oid[:12]} in {self.git.git_dir} does not match its id: "
                             "the repository was tampered with")
        found: dict[str, tuple[str, str]] = {}
        pos = 0
        while pos < len(data):
            space = data.index(b" ", pos)
            nul = data.index(b"\0", space)
            mode = data[pos:space].decode()
            name = data[space + 1:nul].decode("utf-8", "surrogateescape")
            found[name] = (mode, data[nul + 1:nul + 21].hex())
            pos = nul + 21
        return found

    def blob(self, oid: str) -> bytes:
        """A blob's bytes, checked against its id."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(oid.encode() + b"\n")
        self._proc.stdin.flush()
        head = self._proc.stdout.readline().split()
        if len(head) != 3 or head[1] != b"blob":
            raise StoreError(f"blob {oid[:12]} is missing from {self.git.git_dir}")
        size = int(head[2])
        data = self._proc.stdout.read(size)
        self._proc.stdout.read(1)
        if hashlib.sha1(b"blob %d\0" % size + data).hexdigest() != oid:
            raise StoreError(f"blob {oid[:12]} in {self.git.git_dir} does not match its id: "
                             "the repository was tampered with")
        return data

    def close(self) -> None:
        """Stop the cat-file process."""
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> TreeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def root_tree(git: Git, commit: str) -> str:
    """The tree of a commit, the commit checked against its id."""
    from gitguard.store.objects import commit_tree

    return commit_tree(git, commit)


def database_of(git: Git, commit: str | None, reader: TreeReader | None = None) -> str | None:
    """The database folder's tree of a commit, None when it has none."""
    if commit is None:
        return None
    if reader is None:
        with TreeReader(git) as own:
            return database_of(git, commit, own)
    entry = reader.entries(root_tree(git, commit)).get(DB_DIR)
    return entry[1] if entry and entry[0] == TREE else None


def with_database(git: Git, tree: str, database: str | None) -> str:
    """A root tree with the database folder set to `database` (removed with None)."""
    with TreeReader(git) as reader:
        entries = reader.entries(tree)
    if database is None:
        if DB_DIR not in entries:
            return tree
        entries.pop(DB_DIR)
    else:
        if entries.get(DB_DIR) == (TREE, database):
            return tree
        entries[DB_DIR] = (TREE, database)
    return write_tree(git, entries)


def files_tree_id(git: Git, tree: str) -> str:
    """The id the root tree would have without the database folder (nothing written):
    what the scan cache's files make."""
    with TreeReader(git) as reader:
        entries = reader.entries(tree)
    if DB_DIR not in entries:
        return tree
    entries.pop(DB_DIR)
    body = b"".join(f"{mode} ".encode() + name.encode("utf-8", "surrogateescape") + b"\0"
                    + bytes.fromhex(oid) for name, (mode, oid) in
                    sorted(entries.items(), key=lambda e: _sort_key(e[0], e[1][0])))
    return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()


def _sort_key(name: str, mode: str) -> bytes:
    """git's tree order: names as bytes, a folder's with a '/' after it."""
    raw = name.encode("utf-8", "surrogateescape")
    return raw + b"/" if mode == TREE else raw
