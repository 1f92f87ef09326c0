"""A commit's tree as gitguard sees it: blobs and links by path, plus the metadata file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gitguard.model import Change, Kind, path_bytes, path_str
from gitguard.policy import Policy
from gitguard.store import meta
from gitguard.store.git import Git
from gitguard.store.objects import (
    TREE_MODE,
    BlobWriter,
    commit,
    entry_differences,
    verified_blob,
    verified_ls_tree,
    write_tree,
)
from gitguard.store.repo import ScanCache, SiteRepo, TreeReader

UNSTORABLE = meta.UNSTORABLE_DIR + "/"
DATABASE = meta.DB_DIR + "/"  # the CMS database's folder: gitguard.database reads it
DATABASE_RAW = DATABASE.encode()
_FILE = Kind.FILE.value
_LINK = Kind.SYMLINK.value


@dataclass(frozen=True)
class TreeState:
    """What a snapshot or approved commit says the docroot holds."""

    files: Mapping[str, tuple[str, str]]  # path -> (git mode, object id), files and links
    meta: Mapping[str, meta.Meta]  # path -> mode, owner, kind; folders and special files too

    def kind(self, path: str) -> Kind | None:
        """What the path is in this tree, or None when absent."""
        info = self.meta.get(path)
        if info is not None:
            return info.kind
        entry = self.files.get(path)
        if entry is None:
            return None
        return Kind.SYMLINK if entry[0] == "120000" else Kind.FILE

    def unread(self, path: str) -> bool:
        """Whether the path is a regular file whose content this tree does not hold (it was
        above the size limit when the snapshot was taken)."""
        return path not in self.files and self.kind(path) is Kind.FILE


EMPTY = TreeState({}, {})


# Parsed whole states this process already built, by (repository, commit): `approve` reads
# the approved tip and the snapshot, and a 30,000-path state costs 0.1 s to build (an audit
# or a restore reads only where two trees differ: differing_states).
# Nothing is kept on disk: whoever can write the data dir could rewrite it, and a state
# read back from there would decide what a signed commit holds.
_STATES: dict[tuple[Path, str], TreeState] = {}
STATES_KEEP = 4
# The metadata file of the kept states read from git: the next snapshot's state is then
# that state patched with what `git diff-tree` and the changed metadata lines say.
_RAW_META: dict[tuple[Path, str], bytes] = {}


def _known(git: Git, commit: str) -> TreeState | None:
    return _STATES.get((git.git_dir, commit))


def _keep(git: Git, commit: str, state: TreeState, raw_meta: bytes | None = None) -> TreeState:
    _STATES[(git.git_dir, commit)] = state
    if raw_meta is not None:
        _RAW_META[(git.git_dir, commit)] = raw_meta
    while len(_STATES) > STATES_KEEP:
        _RAW_META.pop(next(iter(_STATES)), None)
        del _STATES[next(iter(_STATES))]
    return state


def read_state(git: Git, rev: str | None) -> TreeState:
    """Load a commit's tree and metadata from git (EMPTY for None), every object checked
    against its id: a tampered repository raises StoreError, it never misleads."""
    if rev is None:
        return EMPTY
    commit = git.rev(rev) or rev
    known = _known(git, commit)
    if known is not None:
        return known
    stored = verified_ls_tree(git, commit)
    meta_entry = stored.pop(meta.META_PATH, None)
    files = {meta.real_path(path) if path.startswith(UNSTORABLE) else path: entry
             for path, entry in stored.items() if not path.startswith(DATABASE)}
    raw = verified_blob(git, meta_entry[1]) if meta_entry else b""
    return _keep(git, commit, TreeState(files, meta.decode(raw)), raw)


# The pairs of states differing_states built, by (repository, old, new): a restore asks for
# the approved tree against the evidence in the audit and again in the plan.
_PAIRS: dict[tuple[Path, str, str], tuple[TreeState, TreeState]] = {}


def differing_states(repo: SiteRepo, old: str, new: str) -> tuple[TreeState, TreeState]:
    """Two commits' states on the paths where they differ (a blob, a link or a line of the
    metadata file), each tree object and metadata file checked against its id. Folders
    whose tree ids agree are not read: the cost grows with the difference, not the site.

    changed_paths, findings and make_plan see in them what they would see in the whole
    states: every path either differs on or holds below a differing folder is there."""
    key = (repo.git.git_dir, old, new)
    pair = _PAIRS.get(key)
    if pair is None:
        pair = _PAIRS[key] = _differing_pair(repo, old, new) or (
            read_state(repo.git, old), read_state(repo.git, new))
        while len(_PAIRS) > STATES_KEEP:
            del _PAIRS[next(iter(_PAIRS))]
    return pair


def _differing_pair(repo: SiteRepo, old: str, new: str) -> tuple[TreeState, TreeState] | None:
    """differing_states, or None when a metadata file is of an older version."""
    objects = repo.objects
    roots = objects.commit_tree(old), objects.commit_tree(new)
    if roots[0] == roots[1]:
        return EMPTY, EMPTY
    tops = [objects.tree(root) for root in roots]  # each read once
    entries = entry_differences(objects, tops[0], tops[1])
    meta_name = meta.META_PATH.encode()
    metas = [top.get(meta_name) for top in tops]
    entries.pop(meta_name, None)
    raws = [objects.read(found[1]) if found else meta.HEADER for found in metas]
    if not all(raw.startswith(meta.HEADER) and raw.endswith(b"\n") for raw in raws):
        return None
    lines = [raw[len(meta.HEADER):-1].split(b"\n") if len(raw) > len(meta.HEADER) else []
             for raw in raws]
    sides: list[tuple[dict[str, tuple[str, str]], dict[str, meta.Meta]]] = [({}, {}), ({}, {})]
    if raws[0] != raws[1]:
        for side, changed in zip(sides, meta.differing_lines(lines[0], lines[1]), strict=True):
            side[1].update(meta.decode(b"\n".join(changed)))
    for raw, pair in entries.items():
        if raw.startswith(DATABASE_RAW):
            continue  # the CMS database's folder is compared by gitguard.database
        name = path_str(raw)
        path = meta.real_path(name) if name.startswith(UNSTORABLE) else name
        for side, entry in zip(sides, pair, strict=True):
            if entry is not None:
                side[0][path] = (f"{entry[0]:06o}", entry[1])
    paths = {*sides[0][0], *sides[1][0], *sides[0][1], *sides[1][1]}
    # each path's line found by bisection; past a few thousand, decoding the files is faster
    whole = [meta.decode(raw) for raw in raws] if len(paths) > 2000 else None
    trees: TreeReader | None = None
    for path in paths:
        raw = path_bytes(path)
        for at, (_, found) in enumerate(sides):
            if path in found:
                continue
            if whole is not None:
                if path in whole[at]:
                    found[path] = whole[at][path]
            elif (line := meta.line_of(lines[at], raw)) is not None:
                found.update(meta.decode(line))
        if path in sides[0][0] or path in sides[1][0]:
            continue
        # the same blob or link on both sides (its metadata line differs): read it once
        kinds = [side[1][path].kind for side in sides if path in side[1]]
        if not {Kind.FILE, Kind.SYMLINK} & set(kinds):
            continue
        trees = trees or TreeReader(objects, new)
        for link in dict.fromkeys([kinds[0] is Kind.SYMLINK, kinds[0] is not Kind.SYMLINK]):
            blob = trees.entry(meta.stored_raw(raw, link))
            if blob is not None and blob[0] != TREE_MODE:
                for side in sides:
                    side[0][path] = (f"{blob[0]:06o}", blob[1])
                break
    return TreeState(*sides[0]), TreeState(*sides[1])


def remember_state(git: Git, commit: str, state: TreeState) -> None:
    """Keep a state gitguard just committed, so this process need not parse its tree."""
    _keep(git, commit, state)


def cache_agrees(git: Git, cache: ScanCache) -> bool | None:
    """Whether the scan cache holds what its snapshot's tree holds, told from a state this
    process read from git and the difference git shows (far cheaper than hashing the
    cache's tree); None when no such state is at hand."""
    base = next((key[1] for key in reversed(_STATES)
                 if key[0] == git.git_dir and key in _RAW_META), None)
    if base is None or cache.commit is None:
        return None
    state = _known(git, cache.commit) or _patched(git, base, cache.commit)
    get_file, get_meta = state.files.get, state.meta.get
    blobs = 0
    for path, (kind, _size, _mtime, _ctime, mode, uid, gid, oid) in cache.entries.items():
        # Kind is a StrEnum: a Meta equals the plain tuple of its values
        if get_meta(path) != (mode, uid, gid, kind):
            return False
        if oid and kind in (_FILE, _LINK):
            blobs += 1
            git_mode = "120000" if kind == _LINK else "100755" if mode & 0o100 else "100644"
            if get_file(path) != (git_mode, oid):
                return False
    return len(state.meta) == len(cache.entries) and len(state.files) == blobs


def _patched(git: Git, base_commit: str, commit: str) -> TreeState:
    """The state of `commit` from the kept state of `base_commit` and what differs between
    their trees: a few changed paths cost a few lines, not a 30,000-path tree."""
    base = _STATES[(git.git_dir, base_commit)]
    files = dict(base.files)
    raw = _RAW_META[(git.git_dir, base_commit)]
    metas: Mapping[str, meta.Meta] = base.meta
    out = git.run(["diff-tree", "-r", "-z", "--no-renames", base_commit, commit]).split(b"\0")
    for head, name in zip(out[0:-1:2], out[1::2], strict=True):
        # ":<old mode> <new mode> <old id> <new id> <status>", then the path
        _old_mode, mode, _old_oid, oid, status = head[1:].decode().split(" ")
        path = name.decode("utf-8", "surrogateescape")
        if path.startswith(DATABASE):
            continue
        if path == meta.META_PATH:
            new_raw = git.run(["cat-file", "blob", oid]) if status != "D" else b""
            metas = _patched_meta(base.meta, raw, new_raw)
            raw = new_raw
        elif status == "D":
            files.pop(meta.real_path(path), None)
        else:
            files[meta.real_path(path)] = (mode, oid)
    return _keep(git, commit, TreeState(files, metas), raw)


def _patched_meta(base: Mapping[str, meta.Meta], raw: bytes, new_raw: bytes
                  ) -> dict[str, meta.Meta]:
    """The metadata of `new_raw` from that of `raw` (decoded as `base`): only the lines
    that differ are decoded."""
    old_lines = set(raw.split(b"\n"))
    new_lines = new_raw.split(b"\n")
    new_set = set(new_lines)
    metas = dict(base)
    for path in meta.decode(b"\n".join(line for line in old_lines if line not in new_set)):
        metas.pop(path, None)
    metas.update(meta.decode(b"\n".join(line for line in new_lines if line not in old_lines)))
    return metas


def commit_state(repo: SiteRepo, state: TreeState, parents: list[str], message: str,
                 sign_with: list[str] | None = None, env: dict[str, str] | None = None,
                 database: str | None = None) -> str:
    """Write a TreeState as a commit (signed when sign_with is given), with `database` as
    its CMS database folder (gitguard.database) when given; return its id."""
    with BlobWriter(repo.git) as writer:
        meta_oid = writer.add_bytes(meta.encode(state.meta))
    rows = [(mode, oid, meta.stored_name(path, mode == "120000"))
            for path, (mode, oid) in state.files.items()]
    rows.append(("100644", meta_oid, meta.META_PATH))
    tree = write_tree(repo.git, rows, repo.tmp("tree-index"))
    if database is not None:
        from gitguard.database.gittree import with_database

        tree = with_database(repo.git, tree, database)
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
        old_kind, new_kind = approved.kind(path), snapshot.kind(path)
        if policy.excluded(path, Kind.DIR in (old_kind, new_kind)):
            continue
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
