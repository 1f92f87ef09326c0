"""Turn a scan's manifest and the files' contents into one snapshot commit (or none)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from gitguard import heap
from gitguard.config import DEFAULT_MAX_FILE_SIZE
from gitguard.errors import ScanError
from gitguard.model import KIND_BY_VALUE, Entry, Kind, path_bytes, printable
from gitguard.progress import Progress
from gitguard.remote.base import Content
from gitguard.store import meta
from gitguard.store.objects import (
    ZERO,
    BlobWriter,
    blob_differences,
    blob_id,
    commit,
    commit_tree,
    ls_tree,
    move_ref,
    write_object,
)
from gitguard.store.repo import (
    CTIME,
    GID,
    KIND,
    MODE,
    MTIME,
    OID,
    SIZE,
    SNAPSHOTS,
    UID,
    CachedStat,
    ScanCache,
    SiteRepo,
)

log = logging.getLogger(__name__)


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
    complete: bool = True  # every path's stat vouches for its content (none changed mid-read)


_KIND = {kind: value for value, kind in KIND_BY_VALUE.items()}
_DIR = Kind.DIR.value
_LINK = Kind.SYMLINK.value


def _same_stat(entry: Entry, cached: CachedStat | None) -> bool:
    # ctime moves on every write and chmod and cannot be set back by the web user, so a
    # reset mtime does not hide an edit; -1 marks a stat that vouches for nothing.
    return (cached is not None and cached[KIND] == entry.kind and cached[SIZE] == entry.size
            and cached[MTIME] == entry.mtime_ns and cached[CTIME] == entry.ctime_ns
            and cached[CTIME] >= 0)


def nothing_changed(cache: ScanCache, entries: Sequence[Entry]) -> bool:
    """Whether the scan shows exactly what the cache vouches for: the same paths, each with
    the same kind, stat, mode, owner and link target. Then there is nothing to read or
    write, and no snapshot to take."""
    if not cache.valid or len(entries) != len(cache.entries):
        return False
    get = cache.entries.get
    for entry in entries:
        cached = get(entry.path)
        if (cached is None or not _same_stat(entry, cached) or cached[MODE] != entry.mode
                or cached[UID] != entry.uid or cached[GID] != entry.gid):
            return False
        if entry.kind is Kind.SYMLINK and cached[OID] != blob_id(path_bytes(entry.target or "")):
            return False
    return True


def files_to_read(cache: ScanCache, entries: Sequence[Entry], deep: bool,
                  fresh: Collection[str] = (), limit: int = DEFAULT_MAX_FILE_SIZE) -> list[str]:
    """The regular files whose contents must be fetched: new or changed ones, the `fresh`
    ones and those an earlier run did not back up, or all; never one above `limit` bytes."""
    get = ({} if deep else cache.entries).get
    return [e.path for e in entries
            if e.kind is Kind.FILE and e.size <= limit
            and (deep or e.path in fresh or not _backed_up(e, get(e.path)))]


def _backed_up(entry: Entry, cached: CachedStat | None) -> bool:
    """Whether the snapshot holds this file's content as the stat shows it."""
    return cached is not None and _same_stat(entry, cached) and bool(cached[OID])


def too_big(entries: Iterable[Entry], limit: int) -> list[str]:
    """The regular files above the size limit: listed, never read or backed up."""
    return [e.path for e in entries if e.kind is Kind.FILE and e.size > limit]


def _git_mode(cached: CachedStat) -> bytes:
    if cached[KIND] == _LINK:
        return b"120000"
    return b"100755" if cached[MODE] & 0o100 else b"100644"


def _tree_path(path: str, cached: CachedStat) -> bytes:
    """The raw path of a cache row's blob in the snapshot's tree."""
    return path_bytes(meta.stored_name(path, cached[KIND] == _LINK))


class _Diff:
    """What a new scan changes against the newest snapshot, counted in one pass."""

    def __init__(self, keep_rows: bool = True) -> None:
        self.added = self.modified = self.deleted = self.mode_changes = 0
        self.fresh = 0  # paths the snapshot did not have, folders included
        self.meta_paths: set[str] = set()  # whose line in the metadata file changes
        self.rows: list[bytes] = []  # update-index lines for the changed blobs
        # without a snapshot to change, the tree is written from every path and a first
        # mirror's 100,000 rows here would only cost memory
        self._keep = keep_rows

    def blob(self, path: str, stat: CachedStat) -> None:
        if self._keep:
            self.rows.append(b"%s %s\t%s\0" % (_git_mode(stat), stat[OID].encode(),
                                               _tree_path(path, stat)))

    def gone(self, path: str, stat: CachedStat) -> None:
        if self._keep:
            self.rows.append(b"0 %s\t%s\0" % (ZERO.encode(), _tree_path(path, stat)))

    def compare(self, path: str, before: CachedStat | None, now: CachedStat) -> None:
        """One path present now; `before` is what the snapshot had there."""
        if before is None:
            self.fresh += 1
            self.meta_paths.add(path)
            if now[OID]:  # folders, special files and files not backed up have no blob
                self.added += 1
                self.blob(path, now)
            return
        if before[KIND] != now[KIND]:
            self.meta_paths.add(path)
        elif before[MODE] != now[MODE] or before[UID] != now[UID] or before[GID] != now[GID]:
            self.meta_paths.add(path)
            self.mode_changes += 1
        had, has = bool(before[OID]), bool(now[OID])
        if had and has:
            if before[OID] != now[OID] or _git_mode(before) != _git_mode(now):
                self.modified += 1
                if _tree_path(path, before) != _tree_path(path, now):
                    self.gone(path, before)  # a .gitmodules link became a file, or back
                self.blob(path, now)
        elif has:
            self.added += 1
            self.blob(path, now)
        elif had:
            self.deleted += 1
            self.gone(path, before)

    def removed(self, path: str, before: CachedStat) -> None:
        """One path the snapshot had and the scan no longer shows."""
        self.meta_paths.add(path)
        if before[OID]:
            self.deleted += 1
            self.gone(path, before)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.modified or self.deleted or self.meta_paths)


def commit_snapshot(repo: SiteRepo, cache: ScanCache, entries: Sequence[Entry],
                    contents: Iterable[Content], source: str, bar: Progress,
                    known: Mapping[str, str] | None = None,
                    removed: Sequence[str] | None = None,
                    limit: int = DEFAULT_MAX_FILE_SIZE) -> SnapshotOutcome:
    """Write the blobs, and commit a snapshot when the tree differs from the newest one.

    `contents` must yield every file that files_to_read named, except those in `known`
    (path -> id of a blob the repository holds, hashed on the server); if it raises, nothing
    is committed and the cache is left as it was. With `removed`, `entries` hold only the
    new and changed paths (a delta to the valid scan cache) and `removed` the ones gone;
    with a partial cache (rows of those paths alone), nothing costs more than the change.
    A file above `limit` bytes is listed with its mode and owner but holds no blob.
    """
    known = known or {}
    parent = repo.git.rev(SNAPSHOTS)
    base, base_meta = _base(repo, cache, parent)
    read_oids: dict[str, tuple[str, int]] = {}  # path -> blob id, size as read
    read = bytes_read = trimmed = 0
    diff = _Diff(keep_rows=cache.valid and parent is not None)
    new_cache: dict[str, CachedStat] = {}
    if removed is not None:
        assert cache.valid, "a delta needs the scan cache it is a delta to"
        new_cache = dict(base)
        for path in removed:
            if path in new_cache:
                diff.removed(path, new_cache.pop(path))
    with BlobWriter(repo.git) as writer:
        for content in contents:
            if content.size > limit:
                # It grew past the limit after the listing, or the server's archive says
                # so: reading on would let a hostile server make the run read without end.
                raise ScanError(f"{printable(content.path)} is {content.size} bytes as read, "
                                f"above max_file_size ({limit}); nothing was committed (the "
                                "next run lists it as too large to back up)")
            oid = writer.add(content.size, content.chunks)
            read_oids[content.path] = (oid, content.size)
            read += 1
            bytes_read += content.size
            if bytes_read >= trimmed + heap.TRIM_EVERY:
                heap.trim()  # the freed file buffers: not kept resident by the heaps
                trimmed = bytes_read
            bar.advance()
        get = base.get
        for entry in entries:
            path, kind = entry.path, entry.kind
            before = get(path)
            ctime = entry.ctime_ns
            if kind is Kind.DIR or kind is Kind.SPECIAL:
                oid = ""  # git holds neither; the metadata file does
            elif path in read_oids:
                oid, size = read_oids[path]
                if size != entry.size:
                    # the file changed between the listing and the read: its bytes are
                    # consistent, but the stat must not vouch for them next time
                    ctime = -1
            elif path in known:
                oid = known[path]
            elif kind is Kind.SYMLINK:
                target = path_bytes(entry.target or "")
                oid = blob_id(target)
                if before is None or before[OID] != oid:
                    writer.add_bytes(target)
            elif entry.size > limit:
                oid = ""  # listed, not backed up
            else:
                assert before is not None, f"{path} was neither read nor cached"
                oid = before[OID]
            now = (_KIND[kind], entry.size, entry.mtime_ns, ctime, entry.mode, entry.uid,
                   entry.gid, oid)
            new_cache[path] = now
            if before != now:
                diff.compare(path, before, now)
        if removed is None and len(new_cache) - diff.fresh < len(base):
            for path in base.keys() - new_cache.keys():
                diff.removed(path, base[path])
        read_oids.clear()  # a big site's first mirror: its memory is the metadata file's now
        if trimmed:
            heap.trim()  # before the metadata file and the index are built
        meta_oid = base_meta
        if diff.meta_paths or base_meta is None:
            # the cache's rows are what its metadata file says, line for line
            data = _metadata(repo, new_cache, base_meta if cache.valid else None,
                             diff.meta_paths, cache.partial)
            meta_oid = writer.add_bytes(data)
            _LAST_META.clear()
            _LAST_META[meta_oid] = data
    rows = new_cache.values()
    files = sum(1 for row in rows if row[KIND] != _DIR)
    if cache.files is not None:  # partial: the rest of the snapshot is as it was
        files += cache.files - sum(1 for row in base.values() if row[KIND] != _DIR)
    # (a partial cache's other rows vouched for their files: a delta follows a complete run)
    complete = all(row[CTIME] >= 0 for row in rows)
    gone = [path for path in removed or () if path in base]
    if parent is not None and not diff.changed and meta_oid == base_meta:
        if cache.partial:
            repo.save_delta(parent, ScanCache(parent, new_cache, meta_oid, False, files), gone)
        elif new_cache != cache.entries or not cache.valid:
            # same tree, newer stat
            repo.save_cache(ScanCache(parent, new_cache, meta_oid, cache.verified))
        return SnapshotOutcome(commit=None, tip=parent, added=0, modified=0, deleted=0,
                               meta_changed=0, files=files, read=read, bytes_read=bytes_read,
                               complete=complete)
    assert meta_oid is not None
    tree, index = _write_tree(repo, cache, diff, new_cache, meta_oid, parent)
    if trimmed:
        heap.trim()  # what building the tree freed, before the cache is written whole
    summary = f"{diff.added} added, {diff.modified} modified, {diff.deleted} deleted"
    if diff.mode_changes:
        summary += f", {diff.mode_changes} mode or owner changes"
    message = (f"snapshot: {summary}\n\nsource: {source}\nfiles: {files}\n"
               f"read: {read} ({bytes_read} bytes)\n")
    new_commit = commit(repo.git, tree, [parent] if parent else [], message)
    move_ref(repo.git, SNAPSHOTS, new_commit, parent, "gitguard mirror")
    kept = repo.private / "snapshot.index"
    if index is None:
        kept.unlink(missing_ok=True)  # it no longer holds the newest snapshot
        assert parent is not None
        repo.save_delta(parent, ScanCache(new_commit, new_cache, meta_oid, False, files), gone)
    else:
        os.replace(index, kept)
        repo.save_cache(ScanCache(new_commit, new_cache, meta_oid, cache.verified))
    return SnapshotOutcome(commit=new_commit, tip=new_commit, added=diff.added,
                           modified=diff.modified, deleted=diff.deleted,
                           meta_changed=diff.mode_changes, files=files, read=read,
                           bytes_read=bytes_read, complete=complete)


# The last metadata file written, by blob id: the next snapshot of this process (a
# restore takes two) patches its lines instead of encoding 30,000 again.
_LAST_META: dict[str, bytes] = {}
PATCH_LIMIT = 2000  # changed lines up to which the last metadata file is patched


def _metadata(repo: SiteRepo, stats: Mapping[str, CachedStat], base_meta: str | None,
              changed: set[str], partial: bool = False) -> bytes:
    """The metadata file of a scan, from its cache rows: the file `base_meta` (whose lines
    are the rows but for the `changed` paths) patched when they are few or the rows are a
    partial cache's, else encoded afresh."""
    data = None
    if base_meta is not None and (len(changed) <= PATCH_LIMIT or partial):
        old = _LAST_META.get(base_meta)
        if old is None:
            old = repo.verified_blob(base_meta)
        data = meta.patch_rows(old, {
            path_bytes(p): None if (s := stats.get(p)) is None else _meta_row(s)
            for p in changed})
    assert data is not None or not partial, "a partial cache's metadata file is patched"
    return _encoded(stats) if data is None else data


def _encoded(stats: Mapping[str, CachedStat]) -> bytes:
    """The metadata file of a scan, from all its cache rows."""
    try:
        # strict: no name holds a byte that is not UTF-8, so names sort as their bytes do
        plain = meta.plain_names("\0".join(stats).encode("utf-8"))
    except UnicodeEncodeError:
        plain = False
    if plain:  # every real site: no second copy of 100,000 names and rows
        return meta.encode_plain((path.encode(), _meta_row(stats[path]))
                                 for path in sorted(stats))
    # all names encoded in one call: their bytes, in the same order
    raws = "\0".join(stats).encode("utf-8", "surrogateescape").split(b"\0") if stats else []
    return meta.encode_rows(dict(zip(raws, map(_meta_row, stats.values()), strict=True)))


def _meta_row(stat: CachedStat) -> tuple[int, int, int, bytes]:
    """A cache row's line in the metadata file, as meta.encode_rows takes it."""
    return stat[MODE], stat[UID], stat[GID], meta.KIND_CODES[stat[KIND]]


def _base(repo: SiteRepo, cache: ScanCache,
          parent: str | None) -> tuple[dict[str, CachedStat], str | None]:
    """The newest snapshot as cache rows, and its metadata blob: from the scan cache when it
    is valid, else rebuilt from git with stats that vouch for nothing."""
    if cache.valid:
        return cache.entries, cache.meta_oid
    if parent is None:
        return {}, None
    blobs: dict[str, tuple[str, str]] = {}
    meta_oid = None
    for mode, oid, path in ls_tree(repo.git, parent):
        if path == meta.META_PATH:
            meta_oid = oid
        elif path.startswith(meta.DB_DIR + "/"):
            continue  # the CMS database's folder is no scanned path
        else:
            blobs[meta.real_path(path)] = (mode, oid)
    metas = meta.decode(repo.git.run(["cat-file", "blob", meta_oid])) if meta_oid else {}
    rows: dict[str, CachedStat] = {}
    for path, m in metas.items():
        _mode, oid = blobs.pop(path, ("", ""))
        rows[path] = (_KIND[m.kind], -1, -1, -1, m.mode, m.uid, m.gid, oid)
    for path, (mode, oid) in blobs.items():  # a tree without metadata for some paths
        kind = Kind.SYMLINK if mode == "120000" else Kind.FILE
        rows[path] = (_KIND[kind], -1, -1, -1, 0o755 if mode == "100755" else 0o644, -1, -1,
                      oid)
    return rows, meta_oid


def _write_tree(repo: SiteRepo, cache: ScanCache, diff: _Diff, stats: Mapping[str, CachedStat],
                meta_oid: str, parent: str | None) -> tuple[str, os.PathLike[str] | None]:
    """Write the tree through a private index: the newest snapshot's tree plus the changed
    paths, so unchanged folders reuse their cached trees. The index of the last snapshot
    is kept for that; the data dir is no one's to trust, so what it gives is held against
    the snapshot, and a kept index that adds anything else is rebuilt from git."""
    index = repo.tmp("snapshot-index")
    kept = repo.private / "snapshot.index"
    meta_row = b"100644 %s\t%s\0" % (meta_oid.encode(), meta.META_PATH.encode())
    if cache.partial and parent is not None:
        # the newest snapshot's trees with the changed paths set: no index of the site
        changes = {}
        for row in [*diff.rows, meta_row]:
            head, _, path = row[:-1].partition(b"\t")
            mode, oid = head.split(b" ")
            changes[path] = None if mode == b"0" else (int(mode, 8), oid.decode())
        return repo.trees(parent).patch(
            changes, lambda data: write_object(repo.git, "tree", data)), None
    # version 4 compresses the paths: a third less index to read and write on every run
    env = {"GIT_INDEX_FILE": str(index), "GIT_INDEX_VERSION": "4"}

    def add(rows: bytes | bytearray) -> None:
        repo.git.run(["update-index", "-z", "--index-info"], input=rows, env=env)

    def write(rows: list[bytes]) -> str:
        add(b"".join(rows))
        return repo.git.text(["write-tree"], env=env)

    try:
        if cache.valid and parent is not None:
            base = commit_tree(repo.git, parent)
            rows = [*diff.rows, meta_row]
            if kept.exists():
                shutil.copyfile(kept, index)
                tree = write(rows)
                if _adds_only(repo, base, tree, rows):
                    return tree, index
                log.warning("%s: the kept index holds what the newest snapshot does not; "
                            "rebuilt from git", repo.path)
                index.unlink()
            repo.git.run(["read-tree", base], env=env)
            return write(rows), index
        every = bytearray()  # a whole site's rows, with no list of them beside it
        for p, s in stats.items():
            if s[OID]:
                every += b"%s %s\t%s\0" % (_git_mode(s), s[OID].encode(), _tree_path(p, s))
        every += meta_row
        add(every)
        del every  # a whole site's rows, not held while git writes its trees
        return repo.git.text(["write-tree"], env=env), index
    except BaseException:
        index.unlink(missing_ok=True)
        raise


def _adds_only(repo: SiteRepo, base: str, tree: str, rows: list[bytes]) -> bool:
    """Whether `tree` differs from the tree `base` in the index rows given alone (each
    "<mode> <id>\\t<path>\\0", mode 0 for a removal), the CMS database's folder aside.
    Read through checked objects: a rewritten tree of the snapshot fails here, as tampering."""
    wanted: dict[bytes, tuple[int, str] | None] = {}
    for row in rows:
        head, _, path = row[:-1].partition(b"\t")
        mode, oid = head.split(b" ")
        wanted[path] = None if mode == b"0" else (int(mode, 8), oid.decode())
    database = meta.DB_DIR.encode() + b"/"
    return all(wanted.get(path, False) == now
               for path, (_, now) in blob_differences(repo.objects, base, tree).items()
               if not path.startswith(database))
