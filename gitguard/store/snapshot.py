"""Turn a scan's manifest and the files' contents into one snapshot commit (or none)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gitguard.model import Entry, Kind, path_bytes
from gitguard.progress import Progress
from gitguard.remote.base import Content
from gitguard.store import meta
from gitguard.store.objects import ZERO, BlobWriter, blob_id, commit, ls_tree, move_ref
from gitguard.store.repo import SNAPSHOTS, CachedStat, ScanCache, SiteRepo


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


def _same_stat(entry: Entry, cached: CachedStat | None) -> bool:
    # ctime moves on every write and chmod and cannot be set back by the web user, so a
    # reset mtime does not hide an edit; ctime 0 means the transport (SFTP) cannot see it.
    return (cached is not None and cached.kind == entry.kind
            and cached.size == entry.size and cached.mtime_ns == entry.mtime_ns
            and cached.ctime_ns == entry.ctime_ns and cached.ctime_ns >= 0)


def _same_kind_and_meta(before: CachedStat | None, now: CachedStat) -> bool:
    return (before is not None and before.kind == now.kind
            and (before.mode, before.uid, before.gid) == (now.mode, now.uid, now.gid))


def _meta_changed(before: CachedStat | None, now: CachedStat) -> bool:
    return (before is not None and before.kind == now.kind
            and (before.mode, before.uid, before.gid) != (now.mode, now.uid, now.gid))


def nothing_changed(cache: ScanCache, entries: Sequence[Entry]) -> bool:
    """Whether the scan shows exactly what the cache vouches for: the same paths, each with
    the same kind, stat, mode, owner and link target. Then there is nothing to read or
    write, and no snapshot to take."""
    if not cache.valid or len(entries) != len(cache.entries):
        return False
    for entry in entries:
        cached = cache.entries.get(entry.path)
        if (cached is None or not _same_stat(entry, cached)
                or (cached.mode, cached.uid, cached.gid) != (entry.mode, entry.uid, entry.gid)):
            return False
        if entry.kind is Kind.SYMLINK and cached.oid != blob_id(path_bytes(entry.target or "")):
            return False
    return True


def files_to_read(cache: ScanCache, entries: Sequence[Entry], deep: bool) -> list[str]:
    """The regular files whose contents must be fetched: new or changed ones, or all."""
    known = {} if deep else cache.entries
    return [e.path for e in entries
            if e.kind is Kind.FILE and (deep or not _same_stat(e, known.get(e.path)))]


def _git_mode(cached: CachedStat) -> str:
    if cached.kind == Kind.SYMLINK.value:
        return "120000"
    return "100755" if cached.mode & 0o100 else "100644"


def commit_snapshot(repo: SiteRepo, cache: ScanCache, entries: Sequence[Entry],
                    contents: Iterable[Content], source: str, bar: Progress,
                    known: Mapping[str, str] | None = None) -> SnapshotOutcome:
    """Write the blobs, and commit a snapshot when the tree differs from the newest one.

    `contents` must yield every file that files_to_read named, except those in `known`
    (path -> id of a blob the repository holds, hashed on the server); if it raises, nothing
    is committed and the cache is left as it was.
    """
    known = known or {}
    parent = repo.git.rev(SNAPSHOTS)
    by_path = {e.path: e for e in entries}
    new_cache: dict[str, CachedStat] = {}
    read = bytes_read = 0
    with BlobWriter(repo.git) as writer:
        for content in contents:
            entry = by_path[content.path]
            oid = writer.add(content.size, content.chunks)
            # A size that differs from the listing means the file changed between the two:
            # its bytes are consistent, but the stat must not vouch for them next time.
            ctime = entry.ctime_ns if content.size == entry.size else -1
            new_cache[entry.path] = CachedStat(entry.kind.value, entry.size, entry.mtime_ns,
                                               ctime, entry.mode, entry.uid, entry.gid, oid)
            read += 1
            bytes_read += content.size
            bar.advance()
        files = 0
        for entry in entries:
            if entry.kind is not Kind.DIR:
                files += 1
            if entry.path in new_cache:
                continue
            cached = cache.entries.get(entry.path)
            if entry.kind is Kind.DIR:
                oid = ""
            elif entry.path in known:
                oid = known[entry.path]
            elif entry.kind is Kind.SYMLINK:
                target = path_bytes(entry.target or "")
                oid = blob_id(target)
                if cached is None or cached.oid != oid:
                    writer.add_bytes(target)
            else:
                assert cached is not None, f"{entry.path} was neither read nor cached"
                oid = cached.oid
            new_cache[entry.path] = CachedStat(entry.kind.value, entry.size, entry.mtime_ns,
                                               entry.ctime_ns, entry.mode, entry.uid, entry.gid,
                                               oid)
        same_paths = cache.valid and len(new_cache) == len(cache.entries) and all(
            _same_kind_and_meta(cache.entries.get(path), now) for path, now in new_cache.items())
        unchanged = same_paths and all(cache.entries[path].oid == now.oid
                                       for path, now in new_cache.items())
        if same_paths:
            meta_oid = cache.meta_oid  # same paths, kinds, modes and owners: same file
        else:
            meta_oid = writer.add_bytes(meta.encode(meta.of_entries(entries)))
    if unchanged and parent is not None:
        if any(not _same_stat(e, cache.entries.get(e.path)) for e in entries):
            repo.save_cache(ScanCache(parent, new_cache, meta_oid))  # same tree, newer stat
        return SnapshotOutcome(commit=None, tip=parent, added=0, modified=0, deleted=0,
                               meta_changed=0, files=files, read=read, bytes_read=bytes_read)

    old = _old_tree(repo, cache, parent)
    new = {p: (_git_mode(c), c.oid) for p, c in new_cache.items() if c.kind != Kind.DIR.value}
    old_meta = old.pop(meta.META_PATH, None)
    added = sum(1 for p in new if p not in old)
    deleted = sum(1 for p in old if p not in new)
    modified = sum(1 for p, v in new.items() if p in old and old[p] != v)
    mode_changes = sum(1 for p, c in new_cache.items() if _meta_changed(cache.entries.get(p), c))
    if not cache.valid and old_meta is not None and old_meta[1] != meta_oid:
        before = meta.decode(repo.git.run(["cat-file", "blob", old_meta[1]]))
        mode_changes = sum(1 for p, m in meta.of_entries(entries).items()
                           if p in before and before[p] != m)
    if not (added or deleted or modified) and old_meta is not None and old_meta[1] == meta_oid:
        assert parent is not None
        repo.save_cache(ScanCache(parent, new_cache, meta_oid))
        return SnapshotOutcome(commit=None, tip=parent, added=0, modified=0, deleted=0,
                               meta_changed=0, files=files, read=read, bytes_read=bytes_read)
    assert meta_oid is not None
    new[meta.META_PATH] = ("100644", meta_oid)
    tree, index = _write_tree(repo, cache, old, new)
    summary = f"{added} added, {modified} modified, {deleted} deleted"
    if mode_changes:
        summary += f", {mode_changes} mode or owner changes"
    message = (f"snapshot: {summary}\n\nsource: {source}\nfiles: {files}\n"
               f"read: {read} ({bytes_read} bytes)\n")
    new_commit = commit(repo.git, tree, [parent] if parent else [], message)
    move_ref(repo.git, SNAPSHOTS, new_commit, parent, "gitguard mirror")
    os.replace(index, repo.private / "snapshot.index")
    repo.save_cache(ScanCache(new_commit, new_cache, meta_oid))
    return SnapshotOutcome(commit=new_commit, tip=new_commit, added=added, modified=modified,
                           deleted=deleted, meta_changed=mode_changes, files=files, read=read,
                           bytes_read=bytes_read)


def _old_tree(repo: SiteRepo, cache: ScanCache,
              parent: str | None) -> dict[str, tuple[str, str]]:
    """The newest snapshot's blobs by path: from the cache when it is valid, else git."""
    if cache.valid and cache.meta_oid is not None:
        old = {p: (_git_mode(c), c.oid) for p, c in cache.entries.items()
               if c.kind != Kind.DIR.value}
        old[meta.META_PATH] = ("100644", cache.meta_oid)
        return old
    return {path: (mode, oid) for mode, oid, path in ls_tree(repo.git, parent)} \
        if parent else {}


def _write_tree(repo: SiteRepo, cache: ScanCache, old: Mapping[str, tuple[str, str]],
                new: Mapping[str, tuple[str, str]]) -> tuple[str, os.PathLike[str]]:
    """Write the tree through a private index. The index of the last snapshot is kept, so
    only the changed paths are fed to git and unchanged folders reuse their cached trees."""
    index = repo.tmp("snapshot-index")
    kept = repo.private / "snapshot.index"
    rows: list[bytes] = []
    if cache.valid and kept.exists():
        shutil.copyfile(kept, index)
        rows += [f"0 {ZERO}\t".encode() + path_bytes(p) + b"\0" for p in old if p not in new]
        changed = [(p, v) for p, v in new.items() if old.get(p) != v]
    else:
        changed = list(new.items())
    rows += [f"{mode} {oid}\t".encode() + path_bytes(p) + b"\0" for p, (mode, oid) in changed]
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        repo.git.run(["update-index", "-z", "--index-info"], input=b"".join(rows), env=env)
        return repo.git.text(["write-tree"], env=env), index
    except BaseException:
        index.unlink(missing_ok=True)
        raise
