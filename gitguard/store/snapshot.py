"""Turn a scan's manifest and the files' contents into one snapshot commit (or none)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gitguard.model import Entry, Kind, path_bytes
from gitguard.progress import Progress
from gitguard.remote.base import Content
from gitguard.store import meta
from gitguard.store.objects import BlobWriter, blob_id, commit, ls_tree, move_ref, write_tree
from gitguard.store.repo import SNAPSHOTS, CachedStat, SiteRepo


@dataclass(frozen=True)
class SnapshotOutcome:
    """What one mirror did to the snapshots branch."""

    commit: str | None  # the new snapshot, None when nothing changed
    tip: str | None  # the newest snapshot after the run
    added: int
    modified: int
    deleted: int
    meta_changed: int  # paths whose mode, owner or kind changed
    files: int
    read: int  # files whose contents were read
    bytes_read: int


def _unchanged(entry: Entry, cached: CachedStat | None) -> bool:
    # ctime moves on every write and chmod and cannot be set back by the web user, so a
    # reset mtime does not hide an edit; ctime 0 means the transport (SFTP) cannot see it.
    return (cached is not None and cached.kind == entry.kind.value
            and cached.size == entry.size and cached.mtime_ns == entry.mtime_ns
            and cached.ctime_ns == entry.ctime_ns and cached.ctime_ns >= 0)


def files_to_read(repo: SiteRepo, entries: Sequence[Entry], deep: bool) -> list[str]:
    """The regular files whose contents must be fetched: new or changed ones, or all."""
    cache = {} if deep else repo.load_cache(repo.git.rev(SNAPSHOTS))
    return [e.path for e in entries
            if e.kind is Kind.FILE and (deep or not _unchanged(e, cache.get(e.path)))]


def commit_snapshot(repo: SiteRepo, entries: Sequence[Entry], contents: Iterable[Content],
                    source: str, bar: Progress,
                    known: Mapping[str, str] | None = None) -> SnapshotOutcome:
    """Write the blobs, and commit a snapshot when the tree differs from the newest one.

    `contents` must yield every file that files_to_read named, except those in `known`
    (path -> id of a blob the repository holds, hashed on the server); if it raises, nothing
    is committed and the cache is left as it was.
    """
    known = known or {}
    parent = repo.git.rev(SNAPSHOTS)
    cache = repo.load_cache(parent)
    by_path = {e.path: e for e in entries}
    oids: dict[str, str] = {}
    new_cache: dict[str, CachedStat] = {}
    read = bytes_read = 0
    with BlobWriter(repo.git) as writer:
        for content in contents:
            entry = by_path[content.path]
            oids[content.path] = writer.add(content.size, content.chunks)
            # A size that differs from the listing means the file changed between the two:
            # its bytes are consistent, but the stat must not vouch for them next time.
            ctime = entry.ctime_ns if content.size == entry.size else -1
            new_cache[entry.path] = CachedStat(entry.kind.value, entry.size, entry.mtime_ns,
                                               ctime, entry.mode, oids[content.path])
            read += 1
            bytes_read += content.size
            bar.advance()
        for entry in entries:
            if entry.kind is Kind.DIR or entry.path in oids:
                continue
            cached = cache.get(entry.path)
            if entry.path in known:
                oid = known[entry.path]
            elif entry.kind is Kind.SYMLINK:
                target = path_bytes(entry.target or "")
                oid = blob_id(target)
                if cached is None or cached.oid != oid:
                    writer.add_bytes(target)
            else:
                assert cached is not None, f"{entry.path} was neither read nor cached"
                oid = cached.oid
            oids[entry.path] = oid
            new_cache[entry.path] = CachedStat(entry.kind.value, entry.size, entry.mtime_ns,
                                               entry.ctime_ns, entry.mode, oid)
        metas = meta.of_entries(entries)
        meta_oid = writer.add_bytes(meta.encode(metas))

    new_tree = {e.path: (e.git_mode, oids[e.path]) for e in entries if e.kind is not Kind.DIR}
    old_tree = {path: (mode, oid) for mode, oid, path in ls_tree(repo.git, parent)} \
        if parent else {}
    old_meta = old_tree.pop(meta.META_PATH, None)
    added = sum(1 for p in new_tree if p not in old_tree)
    deleted = sum(1 for p in old_tree if p not in new_tree)
    modified = sum(1 for p, v in new_tree.items() if p in old_tree and old_tree[p] != v)
    meta_differs = old_meta is None or old_meta[1] != meta_oid
    mode_changes = 0
    if meta_differs and old_meta is not None:
        before = meta.decode(repo.git.run(["cat-file", "blob", old_meta[1]]))
        mode_changes = sum(1 for p, m in metas.items() if p in before and before[p] != m)
    new_commit = None
    if added or deleted or modified or meta_differs:
        tree_rows = [(mode, oid, path) for path, (mode, oid) in new_tree.items()]
        tree_rows.append(("100644", meta_oid, meta.META_PATH))
        tree = write_tree(repo.git, tree_rows, repo.tmp("snapshot-index"))
        summary = f"{added} added, {modified} modified, {deleted} deleted"
        if mode_changes:
            summary += f", {mode_changes} mode or owner changes"
        message = (f"snapshot: {summary}\n\nsource: {source}\nfiles: {len(new_tree)}\n"
                   f"read: {read} ({bytes_read} bytes)\n")
        new_commit = commit(repo.git, tree, [parent] if parent else [], message)
        move_ref(repo.git, SNAPSHOTS, new_commit, parent, "gitguard mirror")
    tip = new_commit or parent
    assert tip is not None
    repo.save_cache(tip, new_cache)
    return SnapshotOutcome(commit=new_commit, tip=tip, added=added, modified=modified,
                           deleted=deleted, meta_changed=mode_changes,
                           files=len(new_tree), read=read, bytes_read=bytes_read)
