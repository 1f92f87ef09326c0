"""The database folder of a snapshot or approved tree: written with `git mktree`, read back
with every tree object checked against its id."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from gitguard.store.git import Git
from gitguard.store.meta import DB_DIR
from gitguard.store.objects import BlobReader

TREE = "40000"
BLOB = "100644"


def write_tree(git: Git, entries: Mapping[str, tuple[str, str]]) -> str:
    """A tree object of name -> (mode, id) entries; its id."""
    data = b"".join(f"{mode} {'tree' if mode == TREE else 'blob'} {oid}\t{name}\0".encode()
                    for name, (mode, oid) in sorted(entries.items()))
    return git.text(["mktree", "-z"], input=data)


class TreeReader(BlobReader):
    """The store's checked object reader, with a tree's entries as text (a database
    folder's names are table names, never raw bytes)."""

    def entries(self, oid: str) -> dict[str, tuple[str, str]]:
        """name -> (mode, id) of a tree."""
        return {name.decode("utf-8", "surrogateescape"): (f"{mode:o}", child)
                for name, (mode, child) in self.tree(oid).items()}

def database_of(git: Git, commit: str | None, reader: TreeReader | None = None) -> str | None:
    """The database folder's tree of a commit, None when it has none."""
    if commit is None:
        return None
    if reader is None:
        with TreeReader(git) as own:
            return database_of(git, commit, own)
    entry = reader.entries(reader.commit_tree(commit)).get(DB_DIR)
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
