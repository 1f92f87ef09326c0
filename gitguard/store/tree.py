"""A commit's tree as gitguard sees it: blobs and links by path, plus the metadata file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitguard.model import Kind
from gitguard.store import meta
from gitguard.store.git import Git
from gitguard.store.objects import BlobWriter, commit, ls_tree, write_tree
from gitguard.store.repo import SiteRepo


@dataclass(frozen=True)
class TreeState:
    """What a snapshot or approved commit says the docroot holds."""

    files: Mapping[str, tuple[str, str]]  # path -> (git mode, object id), files and links
    meta: Mapping[str, meta.Meta]  # path -> mode, owner, kind; folders too

    def kind(self, path: str) -> Kind | None:
        """What the path is in this tree, or None when absent."""
        info = self.meta.get(path)
        if info is not None:
            return info.kind
        entry = self.files.get(path)
        if entry is None:
            return None
        return Kind.SYMLINK if entry[0] == "120000" else Kind.FILE


EMPTY = TreeState({}, {})


def read_state(git: Git, rev: str | None) -> TreeState:
    """Load a commit's tree and metadata (EMPTY for None)."""
    if rev is None:
        return EMPTY
    files: dict[str, tuple[str, str]] = {}
    meta_oid = None
    for mode, oid, path in ls_tree(git, rev):
        if path == meta.META_PATH:
            meta_oid = oid
        else:
            files[path] = (mode, oid)
    metas = meta.decode(git.run(["cat-file", "blob", meta_oid])) if meta_oid else {}
    return TreeState(files, metas)


def commit_state(repo: SiteRepo, state: TreeState, parents: list[str], message: str,
                 sign_with: list[str] | None = None, env: dict[str, str] | None = None) -> str:
    """Write a TreeState as a commit (signed when sign_with is given); return its id."""
    with BlobWriter(repo.git) as writer:
        meta_oid = writer.add_bytes(meta.encode(state.meta))
    rows = [(mode, oid, path) for path, (mode, oid) in state.files.items()]
    rows.append(("100644", meta_oid, meta.META_PATH))
    tree = write_tree(repo.git, rows, repo.tmp("tree-index"))
    return commit(repo.git, tree, parents, message, sign_with=sign_with or (), env=env)
