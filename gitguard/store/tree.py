"""A commit's tree as gitguard sees it: blobs and links by path, plus the metadata file."""

from __future__ import annotations

import marshal
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gitguard.model import KIND_BY_VALUE, Change, Kind
from gitguard.policy import Policy
from gitguard.store import meta
from gitguard.store.git import Git
from gitguard.store.objects import BlobWriter, commit, ls_tree, write_tree
from gitguard.store.repo import ScanCache, SiteRepo


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


MEMO_KEEP = 8
# Parsed states this process already built, by (repository, commit): a restore looks at the
# approved tree and the evidence several times, and a 30,000-path state costs 0.1 s to build.
_STATES: dict[tuple[Path, str], TreeState] = {}
STATES_KEEP = 4


def _known(git: Git, commit: str) -> TreeState | None:
    return _STATES.get((git.git_dir, commit))


def _keep(git: Git, commit: str, state: TreeState) -> TreeState:
    _STATES[(git.git_dir, commit)] = state
    while len(_STATES) > STATES_KEEP:
        del _STATES[next(iter(_STATES))]
    return state


def read_state(git: Git, rev: str | None) -> TreeState:
    """Load a commit's tree and metadata (EMPTY for None).

    Trees never change, so the parsed form of the last few is kept in the repository's
    private folder: the audit of a 30,000-file site then reads two small files, not git.
    """
    if rev is None:
        return EMPTY
    commit = git.rev(rev) or rev
    known = _known(git, commit)
    if known is not None:
        return known
    memo = git.git_dir / "gitguard" / "trees" / f"{commit}.state"
    try:
        files, rows = marshal.loads(memo.read_bytes())
        return _keep(git, commit, TreeState(files, {p: meta.Meta(m, u, g, KIND_BY_VALUE[k])
                                                    for p, (m, u, g, k) in rows.items()}))
    except (OSError, ValueError, EOFError, TypeError, KeyError):
        pass
    files = {}
    meta_oid = None
    for mode, oid, path in ls_tree(git, commit):
        if path == meta.META_PATH:
            meta_oid = oid
        else:
            files[path] = (mode, oid)
    metas = meta.decode(git.run(["cat-file", "blob", meta_oid])) if meta_oid else {}
    _remember(memo, files, metas)
    return _keep(git, commit, TreeState(files, metas))


def remember_state(git: Git, commit: str, state: TreeState) -> None:
    """Keep a state gitguard just committed, so its next reader need not parse the tree."""
    _remember(git.git_dir / "gitguard" / "trees" / f"{commit}.state", dict(state.files),
              state.meta)


def state_of_cache(cache: ScanCache, paths: Iterable[str] | None = None) -> TreeState:
    """The newest snapshot's state as the scan cache knows it (the same paths, kinds, modes,
    owners and blobs as its tree), without asking git; with `paths`, only those."""
    files: dict[str, tuple[str, str]] = {}
    metas: dict[str, meta.Meta] = {}
    rows = (cache.entries.items() if paths is None else
            ((p, cache.entries[p]) for p in paths if p in cache.entries))
    for path, (kind_name, _size, _mtime, _ctime, mode, uid, gid, oid) in rows:
        kind = KIND_BY_VALUE[kind_name]
        metas[path] = meta.Meta(mode, uid, gid, kind)
        if kind is Kind.SYMLINK:
            files[path] = ("120000", oid)
        elif kind is Kind.FILE:
            files[path] = ("100755" if mode & 0o100 else "100644", oid)
    return TreeState(files, metas)


def snapshot_state(repo: SiteRepo, commit: str, paths: Iterable[str] | None = None) -> TreeState:
    """A snapshot's state: from the scan cache when it describes that snapshot (the newest,
    just taken), else from git. With `paths`, a state that holds only those paths."""
    known = _known(repo.git, commit)
    if known is not None:
        return known
    cache = repo.load_cache(commit)  # valid only when it describes `commit`
    if cache.valid:
        if paths is not None:
            return state_of_cache(cache, paths)
        return _keep(repo.git, commit, state_of_cache(cache))
    return read_state(repo.git, commit)


def _remember(memo: Path, files: dict[str, tuple[str, str]],
              metas: Mapping[str, meta.Meta]) -> None:
    rows = {p: (m.mode, m.uid, m.gid, str(m.kind)) for p, m in metas.items()}
    try:
        memo.parent.mkdir(exist_ok=True)
        tmp = memo.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(marshal.dumps((files, rows)))
        os.replace(tmp, memo)
        kept = sorted(memo.parent.glob("*.state"), key=lambda f: f.stat().st_mtime)
        for old in kept[:-MEMO_KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a memo is only a shortcut


def commit_state(repo: SiteRepo, state: TreeState, parents: list[str], message: str,
                 sign_with: list[str] | None = None, env: dict[str, str] | None = None) -> str:
    """Write a TreeState as a commit (signed when sign_with is given); return its id."""
    with BlobWriter(repo.git) as writer:
        meta_oid = writer.add_bytes(meta.encode(state.meta))
    rows = [(mode, oid, path) for path, (mode, oid) in state.files.items()]
    rows.append(("100644", meta_oid, meta.META_PATH))
    tree = write_tree(repo.git, rows, repo.tmp("tree-index"))
    new = commit(repo.git, tree, parents, message, sign_with=sign_with or (), env=env)
    remember_state(repo.git, new, state)
    return new


def changed_paths(approved: TreeState, snapshot: TreeState, policy: Policy,
                  folders: bool = False,
                  paths: Iterable[str] | None = None) -> Iterator[tuple[str, Change]]:
    """Every path (of `paths`, when given) whose content, kind, mode or owner differs, with
    what changed.

    A folder added or removed together with files in it is left out unless `folders`.
    """
    holding: dict[int, set[str]] = {}  # folders that hold files, per side, built on demand
    for path in sorted(_differing(approved, snapshot) if paths is None else paths):
        if policy.excluded(path):
            continue
        old_kind, new_kind = approved.kind(path), snapshot.kind(path)
        if old_kind is None and new_kind is None:
            continue
        if old_kind is None:
            change: Change | None = Change.ADDED
        elif new_kind is None:
            change = Change.DELETED
        elif old_kind is not new_kind:
            change = Change.TYPE
        elif _content(approved, path) != _content(snapshot, path):
            change = Change.MODIFIED
        elif (approved.meta.get(path) != snapshot.meta.get(path)
              or approved.files.get(path) != snapshot.files.get(path)):
            change = Change.MODE  # same bytes, other mode or owner (the executable bit too)
        else:
            change = None
        if change is None:
            continue
        if not folders and change in (Change.ADDED, Change.DELETED) \
                and Kind.DIR in (old_kind, new_kind):
            # A folder added or removed with files in it says nothing the files don't.
            side = snapshot if change is Change.ADDED else approved
            if id(side) not in holding:
                holding[id(side)] = _folders_with_files(side)
            if path in holding[id(side)]:
                continue
        yield path, change


def _differing(one: TreeState, other: TreeState) -> set[str]:
    """The paths whose blob or metadata entry is not the same on both sides: a superset of
    what changed_paths reports, found with dictionary lookups only."""
    found = {p for p, v in one.files.items() if other.files.get(p) != v}
    found.update(other.files.keys() - one.files.keys())
    found.update(p for p, m in one.meta.items() if other.meta.get(p) != m)
    found.update(other.meta.keys() - one.meta.keys())
    return found


def _folders_with_files(state: TreeState) -> set[str]:
    """Every folder that has a file or link somewhere below it."""
    found: set[str] = set()
    for path in state.files:
        parts = path.split("/")
        for n in range(len(parts) - 1, 0, -1):
            folder = "/".join(parts[:n])
            if folder in found:
                break
            found.add(folder)
    return found


def _content(state: TreeState, path: str) -> str | None:
    """The blob id of a file or link (its content or target), None for folders."""
    entry = state.files.get(path)
    return entry[1] if entry else None
