"""One site's bare repository: layout, lock, scan cache and the journal of runs."""

from __future__ import annotations

import fcntl
import json
import logging
import marshal
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gitguard.clock import now
from gitguard.database.gittree import files_tree_id
from gitguard.errors import LockedError, StoreError
from gitguard.model import Kind, RunRecord, path_bytes
from gitguard.store import meta
from gitguard.store.git import Git
from gitguard.store.objects import (
    TREE_MODE,
    BlobReader,
    CommitInfo,
    commit,
    commit_tree,
    move_ref,
    tree_body,
    tree_id,
    verified_blob,
    write_object,
)

if TYPE_CHECKING:
    from gitguard.store.history import History

log = logging.getLogger(__name__)

SNAPSHOTS = "refs/heads/snapshots"
APPROVED = "refs/heads/approved"
JOURNAL = "refs/heads/journal"
# The last approved tip gitguard saw verified: a rollback or rewrite of `approved` shows
# up as a tip that does not descend from it.
APPROVED_SEEN = "refs/gitguard/approved-seen"
# In the journal's tree: "<commit> <count>", the newest approval gitguard saw verified and
# how many approvals its history held. Each run carries it forward and never back, so moving
# `approved` and APPROVED_SEEN back together still leaves the journal ahead of them.
ANCHOR = "approved"
CACHE_FILE = "scan-cache"
LISTING_FILE = "listing"

REPO_CONFIG = {
    "core.repositoryformatversion": "0",
    "core.filemode": "true",
    "core.bare": "true",
    "core.protectNTFS": "false",  # Linux servers may have names that NTFS forbids
    "core.protectHFS": "false",
    "core.logAllRefUpdates": "always",  # reflogs of every ref, for auditors
    "receive.denyNonFastForwards": "true",
    "gc.autoPackLimit": "200",
    "gpg.format": "ssh",
}


def _config_text(settings: Mapping[str, str]) -> bytes:
    lines: list[str] = []
    section = None
    for key, value in settings.items():
        head, _, name = key.partition(".")
        if head != section:
            lines.append(f"[{head}]")
            section = head
        lines.append(f"\t{name} = {value}")
    return ("\n".join(lines) + "\n").encode()


# What init writes into the repository's config, byte for byte (git's own layout, so a
# repository made by `git config` calls reads the same); open refuses any other.
CONFIG_TEXT = _config_text(REPO_CONFIG)

# info/attributes outranks every .gitattributes in a tree: no filter, line-ending or
# encoding conversion, substitution or omission changes what `git archive` gives a restore.
ATTRIBUTES_TEXT = (b"* -text !eol -ident !filter !working-tree-encoding -export-subst "
                   b"-export-ignore\n")


# What the last scan saw of a path, so an unchanged file is not read again: a plain tuple
# (kind, size, mtime_ns, ctime_ns, mode, uid, gid, blob id; "" for folders). Plain, because
# a 30,000-path cache is loaded and saved by every 15-minute run, and objects cost there.
CachedStat = tuple[str, int, int, int, int, int, int, str]
KIND: Final = 0
SIZE: Final = 1
MTIME: Final = 2
CTIME: Final = 3
MODE: Final = 4
UID: Final = 5
GID: Final = 6
OID: Final = 7
_FILE: Final = Kind.FILE.value
_LINK: Final = Kind.SYMLINK.value


class ScanCache:
    """Every path of the newest snapshot with the stat that vouches for it (folders too),
    and the id of that snapshot's metadata blob. Valid only for that snapshot."""

    def __init__(self, commit: str | None, entries: dict[str, CachedStat],
                 meta_oid: str | None, verified: bool = True,
                 files: int | None = None) -> None:
        self.commit = commit
        self.entries = entries
        self.meta_oid = meta_oid
        # Whether every row was held against the snapshot's tree (else it must not be
        # kept in memory as the snapshot's state).
        self.verified = verified
        # A partial cache (SiteRepo.partial_cache) holds only the rows of a change's
        # paths, read from git, and the number of files the whole snapshot holds.
        self.files = files

    @property
    def partial(self) -> bool:
        """Whether it holds only some paths (a delta's), not the whole snapshot."""
        return self.files is not None

    @property
    def valid(self) -> bool:
        """Whether it describes a snapshot at all (else every file is read)."""
        return self.commit is not None and self.meta_oid is not None


class SiteRepo:
    """The bare repository `<data_dir>/<site>.git` and gitguard's private state inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.git = Git(path)
        self.private = path / "gitguard"
        self._cache: ScanCache | None = None  # the last cache loaded or saved
        self._history: History | None = None
        self._objects: BlobReader | None = None
        self._blob: tuple[str, bytes] | None = None
        self._trees: TreeReader | None = None

    @property
    def history(self) -> History:
        """The reading side (GitPython), started on first use."""
        # a forked job gets its own: two processes on one cat-file pipe would read each
        # other's answers
        if self._history is None or self._history.pid != os.getpid():
            # imported on first use: GitPython's import is a tenth of a second, which a
            # run that reads no history (an unchanged mirror before any approval) saves
            from gitguard.store.history import History

            self._history = History(self.git)
        return self._history

    @property
    def objects(self) -> BlobReader:
        """Single checked object reads through the runner's cat-file, started on first use:
        a check reads a few trees and commits, and GitPython's import would cost it more
        than the reads."""
        if self._objects is None or self._objects.pid != os.getpid():
            self._objects = BlobReader(self.git)
        return self._objects

    def commit_info(self, commit: str) -> CommitInfo:
        """A commit's dates and message."""
        return self.objects.info(commit)

    def close(self) -> None:
        """Stop the reading side's git processes (they also end with this process)."""
        if self._history is not None:
            self._history.close()
            self._history = None
        if self._objects is not None and self._objects.pid == os.getpid():
            self._objects.close()
        self._objects = None

    @classmethod
    def create(cls, path: Path) -> SiteRepo:
        """Create the bare repository if needed, and (re)write its config (idempotent)."""
        repo = cls(path)
        if not (path / "HEAD").exists():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from None
            repo.git.run(["init", "--bare", "-q", "--template=", "-b", "snapshots", str(path)])
        (path / "info").mkdir(exist_ok=True)
        _write_atomic(path / "info" / "attributes", ATTRIBUTES_TEXT)
        _write_atomic(path / "config", CONFIG_TEXT)
        repo.private.mkdir(exist_ok=True)
        return repo

    @classmethod
    def open(cls, path: Path) -> SiteRepo:
        """Open an existing repository, or explain that `gitguard init` creates it; refuse
        one whose config, attributes or hooks are not what init wrote."""
        if not (path / "HEAD").is_file():
            raise StoreError(f"no site repository at {path}: run 'gitguard init' first")
        _check_layout(path)
        repo = cls(path)
        repo.git.guard = lambda: _check_layout(path)
        repo.private.mkdir(exist_ok=True)
        return repo

    def tmp(self, name: str) -> Path:
        """A private scratch path inside the repository (never in the site's tree)."""
        return self.private / f"{name}.{os.getpid()}.{secrets.token_hex(4)}"

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Keep two runs off this site; the kernel drops the lock of a killed run."""
        path = self.private / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                raise LockedError(f"site repository {self.path} is busy: another gitguard run "
                                  f"(pid {holder}) holds its lock") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)

    # -- scan cache ----------------------------------------------------------------------

    def load_cache(self, tip: str | None = None, verify: bool = True) -> ScanCache:
        """The stat cache, if it describes the newest snapshot (`tip`, when the caller has
        looked it up already) and holds exactly what that snapshot's tree holds; else an
        empty one. Without `verify`, its rows are not held against the tree (a cost that
        grows with the site): the caller must have each row it uses vouched for."""
        tip = tip or self.git.rev(SNAPSHOTS)
        if tip is not None and self._cache is not None and self._cache.commit == tip:
            return self._cache  # asked again in the same run (a restore's two scans)
        try:
            # marshal: a private cache read on every run of a 15-minute job, where JSON's
            # cost shows; a file it cannot read only means every file is read once more.
            data = marshal.loads((self.private / CACHE_FILE).read_bytes())
            if tip is None or data.get("version") != 4:
                raise ValueError("stale")
            entries = dict(zip(data["paths"], data["stats"], strict=True))
            at, meta_oid = self._caught_up(data["commit"], data["meta"], entries)
            if at != tip:
                raise ValueError("stale")
            cache = ScanCache(tip, entries, meta_oid, verified=verify)
            if not verify:
                return cache
            # a whole state read from git earlier in this process (approve's) tells
            # fastest; imported here because the tree module builds on this one
            from gitguard.store.tree import cache_agrees

            agrees = cache_agrees(self.git, cache)
            if not (_holds(self.git, cache) if agrees is None else agrees):
                log.warning("%s: the scan cache does not match snapshot %s; ignoring it",
                            self.path, tip[:12])
                raise ValueError("forged")
            self._cache = cache
            return cache
        except (OSError, ValueError, KeyError, TypeError, EOFError, IndexError):
            return ScanCache(None, {}, None)

    def save_cache(self, cache: ScanCache) -> None:
        """Write the stat cache atomically."""
        assert not cache.partial, "a partial cache is saved with save_delta"
        tmp = self.tmp("scan-cache")
        # two parallel lists load faster than one dict of tuples
        tmp.write_bytes(marshal.dumps({"version": 4, "commit": cache.commit,
                                       "meta": cache.meta_oid, "paths": list(cache.entries),
                                       "stats": list(cache.entries.values())}))
        os.replace(tmp, self.private / CACHE_FILE)
        (self.private / DELTA_FILE).unlink(missing_ok=True)
        self._cache = cache if cache.verified else None

    def move_cache(self, old: str, new: str) -> None:
        """Carry the saved cache from snapshot `old` to `new`, a commit of the same files
        and metadata (one whose database folder alone changed): one record, not a rewrite."""
        self._record_delta((old, new, None, [], [], []))

    def save_delta(self, parent: str, cache: ScanCache, gone: Iterable[str]) -> None:
        """Record what a partial cache changes since the snapshot `parent` (its rows, and
        the paths `gone`) beside the saved cache, at the cost of the change; the whole
        cache is written again once the changes kept so add up to DELTA_ROWS."""
        assert cache.commit is not None
        self._record_delta((parent, cache.commit, cache.meta_oid, list(cache.entries),
                            list(cache.entries.values()), list(gone)))

    def _record_delta(self, record: tuple[str, str, str | None, list[str],
                                          list[CachedStat], list[str]]) -> None:
        """Add one record to the delta file (rewritten atomically: it stays small)."""
        path = self.private / DELTA_FILE
        try:
            kept = marshal.loads(path.read_bytes())
            if not isinstance(kept, list):
                kept = []
        except (OSError, ValueError, TypeError, EOFError):
            kept = []
        kept.append(record)
        tmp = self.tmp(DELTA_FILE)
        tmp.write_bytes(marshal.dumps(kept))
        os.replace(tmp, path)
        self._cache = None
        if sum(len(kept_record[3]) + len(kept_record[5]) for kept_record in kept) > DELTA_ROWS:
            whole = self.load_cache(record[1], verify=False)
            if whole.commit == record[1]:
                self.save_cache(whole)
            else:
                path.unlink(missing_ok=True)  # no cache to add them to: the next full scan

    def _caught_up(self, commit: str, meta_oid: str, entries: dict[str, CachedStat]
                   ) -> tuple[str, str]:
        """Apply the changes recorded since the saved cache's snapshot to its rows; the
        snapshot and metadata blob they reach."""
        try:
            kept = marshal.loads((self.private / DELTA_FILE).read_bytes())
        except (OSError, ValueError, TypeError, EOFError):
            return commit, meta_oid
        for parent, child, child_meta, paths, stats, gone in kept:
            if parent != commit:
                continue  # recorded against another cache (one written since, say)
            entries.update(zip(paths, stats, strict=True))
            for path in gone:
                entries.pop(path, None)
            commit, meta_oid = child, child_meta or meta_oid
        return commit, meta_oid

    def partial_cache(self, tip: str, paths: Sequence[str], files: int) -> ScanCache | None:
        """The cache rows of a change's paths as the snapshot `tip` holds them, read from
        its checked tree objects and metadata file (stats that vouch for nothing, so each
        such file is read), for a snapshot of `files` files: the cost of the change, not of
        the site. None when the change is too large for that or the snapshot cannot
        answer so (an older metadata file); the whole cache serves then."""
        if len(paths) > PARTIAL_LIMIT:
            return None
        trees = self.trees(tip)
        found = trees.entry(meta.META_PATH.encode())
        if found is None or found[0] != _BLOB_MODE:
            return None
        stored = self.verified_blob(found[1])
        if not stored.startswith(meta.HEADER) or not stored.endswith(b"\n"):
            return None
        lines = stored[len(meta.HEADER):-1].split(b"\n")
        rows: dict[str, CachedStat] = {}
        for path in paths:
            raw = path_bytes(path)
            line = meta.line_of(lines, raw)
            if line is None:
                if any(trees.entry(meta.stored_raw(raw, link)) for link in (False, True)):
                    return None  # a blob the metadata file does not list
                continue
            info = next(iter(meta.decode(line).values()))
            oid = ""
            if info.kind in (Kind.FILE, Kind.SYMLINK):
                blob = trees.entry(meta.stored_raw(raw, info.kind is Kind.SYMLINK))
                mode = (0o120000 if info.kind is Kind.SYMLINK
                        else 0o100755 if info.mode & 0o100 else 0o100644)
                if blob is not None and blob[0] != mode:
                    return None
                if blob is None and info.kind is Kind.SYMLINK:
                    return None
                oid = blob[1] if blob is not None else ""  # none: above the size limit
            rows[path] = (info.kind.value, -1, -1, -1, info.mode, info.uid, info.gid, oid)
        return ScanCache(tip, rows, found[1], verified=False, files=files)

    def trees(self, commit: str) -> TreeReader:
        """The checked tree objects of a commit, read on demand (the last commit's kept)."""
        if self._trees is None or self._trees.commit != commit:
            self._trees = TreeReader(self.objects, commit)
        return self._trees

    def verified_blob(self, oid: str) -> bytes:
        """A blob's bytes, checked against its id (the last one asked for is kept: the
        metadata file is read by the check of a change, then patched)."""
        if self._blob is None or self._blob[0] != oid:
            self._blob = (oid, self.objects.read(oid))
        return self._blob[1]

    def listing_seen(self, tip: str | None, key: str) -> tuple[bytes, int] | None:
        """The raw listing the snapshot `tip` was taken from, and its number of files;
        None when there is none, or it belongs to another snapshot or another `key` (the
        source and exclusions it was listed with)."""
        return self._listing(tip, key, True)

    def listing_files(self, tip: str, key: str) -> int | None:
        """The number of files of the snapshot `tip`, from the header of the listing it was
        taken from (see listing_seen), without reading the listing."""
        seen = self._listing(tip, key, False)
        return None if seen is None else seen[1]

    def _listing(self, tip: str | None, key: str, whole: bool) -> tuple[bytes, int] | None:
        try:
            with open(self.private / LISTING_FILE, "rb") as handle:
                commit, seen_key, files = marshal.load(handle)
                # after its small header: read once, never copied
                listing = handle.read() if whole else b""
        except (OSError, ValueError, TypeError, EOFError):
            return None
        if tip is None or commit != tip or seen_key != key or not isinstance(files, int):
            return None
        return listing, files

    def spool_listing(self, listing: bytes) -> Path:
        """A private file holding a scan's raw listing until its snapshot is known: a big
        site's listing (12 MB at 100,000 paths) is not held while the snapshot is taken."""
        spool = self.tmp("listing-spool")
        spool.write_bytes(listing)
        return spool

    def remember_listing(self, tip: str, key: str, listing: bytes | Path | None,
                         files: int) -> None:
        """Keep (or, without one, forget) the listing the snapshot `tip` was taken from (its
        bytes, or the file spool_listing put them in, which this consumes)."""
        if listing is None:
            self.forget_listing()
            return
        tmp = self.tmp(LISTING_FILE)
        with open(tmp, "wb") as handle:
            marshal.dump((tip, key, files), handle)
            if isinstance(listing, Path):
                with open(listing, "rb") as spooled:
                    shutil.copyfileobj(spooled, handle, 1 << 20)
                listing.unlink()
            else:
                handle.write(listing)
        os.replace(tmp, self.private / LISTING_FILE)

    def forget_listing(self) -> None:
        """No listing holds the newest snapshot (it was not taken from one)."""
        (self.private / LISTING_FILE).unlink(missing_ok=True)

    # -- the journal ---------------------------------------------------------------------

    def journal_append(self, record: RunRecord, files: Mapping[str, bytes] | None = None) -> str:
        """Commit a run record (and any report files) onto refs/heads/journal. The journal's
        tree is patched on the folders of the new paths (its other trees, checked, are
        reused), so an append costs the same in the first week and after ten years."""
        stamp = record.started.astimezone(UTC)
        token = secrets.token_hex(3)
        name = f"{stamp:%Y/%m/%d/%H%M%S}-{record.action}-{token}"
        payload = dict(asdict(record), started=record.started.isoformat(),
                       finished=record.finished.isoformat())
        new_files = {f"runs/{name}.json": json.dumps(payload, indent=1, ensure_ascii=False,
                                                     default=str).encode()}
        for fname, data in (files or {}).items():
            # the run's token keeps two reports of the same second apart
            stem, dot, ext = fname.rpartition(".")
            new_files[f"reports/{stamp:%Y/%m/%d}/{stem}-{token}{dot}{ext}"] = data
        changes: dict[bytes, tuple[int, str] | None] = {
            fname.encode("utf-8", "surrogateescape"): (_BLOB_MODE, write_object(self.git, "blob",
                                                                              data))
            for fname, data in new_files.items()}
        message = f"{record.action} {record.site}: {record.status}\n\n{record.summary}\n"
        for _ in range(5):
            parent = self.git.rev(JOURNAL)
            trees = TreeReader(self.objects, parent)
            tree = trees.patch({**changes, **self._anchor_change(parent, trees)},
                               lambda data: write_object(self.git, "tree", data))
            new = commit(self.git, tree, [parent] if parent else [], message)
            try:
                move_ref(self.git, JOURNAL, new, parent, f"gitguard {record.action}")
                return new
            except StoreError:
                continue  # someone else appended meanwhile: rebuild on the new tip
        raise StoreError(f"could not append to the journal of {self.path}")

    def record(self, action: str, site: str, started: datetime, status: str, summary: str,
               details: dict[str, Any] | None = None,
               files: Mapping[str, bytes] | None = None) -> str:
        """Journal a finished run."""
        return self.journal_append(RunRecord(action=action, site=site, started=started,
                                             finished=now(), status=status, summary=summary,
                                             details=details or {}), files)

    def _anchor_change(self, parent: str | None, trees: TreeReader
                       ) -> dict[bytes, tuple[int, str] | None]:
        """The journal's anchor file set to the newest approval seen, when that moved
        forward since the journal commit `parent` (whose trees are `trees`); the record
        never moves back."""
        seen = self.git.rev(APPROVED_SEEN)
        if seen is None:
            return {}
        found = trees.entry(ANCHOR.encode()) if parent else None
        recorded = _anchor(self.objects.read(found[1])) if found and found[0] == _BLOB_MODE \
            else None
        if recorded is not None and (recorded[0] == seen or not self.descends(recorded[0], seen)):
            return {}
        count = self.approval_count(seen)
        return {ANCHOR.encode(): (_BLOB_MODE, write_object(self.git, "blob",
                                                           f"{seen} {count}\n".encode()))}

    def approved_anchor(self, journal: str | None = None) -> tuple[str, int] | None:
        """What the journal (its tip, or the journal commit given) records as the newest
        approved commit gitguard saw, with the number of approvals in its history."""
        rev = journal or self.git.rev(JOURNAL)
        if rev is None:
            return None
        return _anchor(self.objects.file(rev, ANCHOR))

    def approval_count(self, commit: str) -> int:
        """How many commits the approved history up to `commit` holds."""
        try:
            return int(self.git.text(["rev-list", "--count", commit]))
        except ValueError:
            raise StoreError(f"cannot count the history of {commit[:12]}") from None

    def descends(self, ancestor: str, commit: str) -> bool:
        """Whether `ancestor` is in the history of `commit` (False when either is missing)."""
        # exit 1: not an ancestor; 128: either is missing
        return self.git.status(["merge-base", "--is-ancestor", ancestor, commit])[0] == 0

    def remote_heads(self, url: str) -> dict[str, str] | None:
        """The approved and journal tips an off-site copy holds; None when it cannot be
        reached (the push reports that)."""
        try:
            out = self.git.text(["ls-remote", url, APPROVED, JOURNAL])
        except StoreError as exc:
            log.warning("%s: cannot read the off-site copy %s: %s", self.path, url, exc)
            return None
        return {ref: oid for oid, _, ref in (line.partition("\t") for line in out.splitlines())}

    def journal_records(self, since: datetime | None = None,
                        until: datetime | None = None) -> list[RunRecord]:
        """The run records whose start lies in [since, until), oldest first."""
        tip = self.git.rev(JOURNAL)
        if tip is None:
            return []
        # runs/YYYY/MM/DD/...: the trees of days outside the period are not read at all
        first = f"runs/{since.astimezone(UTC) - timedelta(days=1):%Y/%m/%d}" if since else ""
        last = f"runs/{until.astimezone(UTC) + timedelta(days=1):%Y/%m/%d}~" if until else "~"
        records: list[RunRecord] = []
        for path, oid in self.history.walk(tip, "runs", first, last):
            if not path.endswith(".json"):
                continue
            data: dict[str, Any] = json.loads(self.history.read(oid, "blob"))
            record = RunRecord(
                action=data["action"], site=data["site"],
                started=datetime.fromisoformat(data["started"]),
                finished=datetime.fromisoformat(data["finished"]),
                status=data["status"], summary=data["summary"],
                details=data.get("details") or {},
            )
            if since and record.started < since:
                continue
            if until and record.started >= until:
                continue
            records.append(record)
        records.sort(key=lambda r: r.started)
        return records

    def first_record_time(self) -> datetime | None:
        """When the journal's first run started: gitguard has guarded the site since then."""
        tip = self.git.rev(JOURNAL)
        roots = self.history.roots(tip) if tip else []
        if not roots:
            return None
        return self.history.info(roots[-1]).authored

    def journal_file(self, path: str) -> bytes | None:
        """A file kept in the journal's tree (a report), or None."""
        tip = self.git.rev(JOURNAL)
        return (self.history.file(tip, path) or None) if tip else None

    def journal_paths(self, folder: str) -> list[str]:
        """The paths of the files below a folder of the journal's tree."""
        tip = self.git.rev(JOURNAL)
        return [path for path, _oid in self.history.walk(tip, folder)] if tip else []


_BLOB_MODE = 0o100644
DELTA_FILE = "scan-cache.delta"
DELTA_ROWS = 20000  # changed rows kept beside the cache before it is written whole again
PARTIAL_LIMIT = 5000  # paths of a change read from git one by one; more: the whole cache


class TreeReader:
    """The tree objects of one commit, each read once (checked against its id), and new
    trees made from them with a few entries changed."""

    def __init__(self, objects: BlobReader, commit: str | None) -> None:
        self.commit = commit
        self._objects = objects
        self._root = objects.commit_tree(commit) if commit else None  # None: no tree yet
        self._trees: dict[str, dict[bytes, tuple[int, str]]] = {}

    def _tree(self, oid: str) -> dict[bytes, tuple[int, str]]:
        found = self._trees.get(oid)
        if found is None:
            found = self._trees[oid] = self._objects.tree(oid)
        return found

    def entry(self, raw: bytes) -> tuple[int, str] | None:
        """(mode, object id) at this raw path of the tree, or None."""
        *folders, name = raw.split(b"/")
        oid = self._root
        if oid is None:
            return None
        for folder in folders:
            found = self._tree(oid).get(folder)
            if found is None or found[0] != TREE_MODE:
                return None
            oid = found[1]
        return self._tree(oid).get(name)

    def patch(self, changes: Mapping[bytes, tuple[int, str] | None],
              write: Callable[[bytes], str]) -> str:
        """The id of this tree with these raw paths set to (mode, blob id) or removed
        (None); `write` stores a new tree object's bytes and gives its id. Only the
        folders on the changed paths are read and written again."""
        nested: dict[bytes, Any] = {}
        for raw, change in changes.items():
            *folders, name = raw.split(b"/")
            here = nested
            for folder in folders:
                here = here.setdefault(b"/" + folder, {})  # '/': no file name has one
            here[name] = change
        return self._patched(self._root, nested, write) or write(b"")

    def _patched(self, oid: str | None, changes: dict[bytes, Any],
                 write: Callable[[bytes], str]) -> str | None:
        entries = dict(self._tree(oid)) if oid is not None else {}
        for name, change in changes.items():
            if name.startswith(b"/"):
                continue
            if change is not None:
                entries[name] = change
            elif name in entries and entries[name][0] != TREE_MODE:
                del entries[name]
        for key, inner in changes.items():
            if not key.startswith(b"/"):
                continue
            name = key[1:]
            current = entries.get(name)
            base = current[1] if current is not None and current[0] == TREE_MODE else None
            new = self._patched(base, inner, write)
            if new is not None:
                entries[name] = (TREE_MODE, new)
            elif base is not None:
                del entries[name]  # a folder left without files is no tree in git
        return write(tree_body(entries)) if entries else None


def _anchor(data: bytes | None) -> tuple[str, int] | None:
    """The (approved commit, count) an anchor file holds."""
    fields = (data or b"").split()
    try:
        return fields[0].decode(), int(fields[1])
    except (IndexError, ValueError):
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _check_layout(path: Path) -> None:
    """Refuse a repository that someone changed so that git would run their code or read
    other objects or history: only init's config and attributes, no hooks, no redirects."""
    def content(name: str) -> bytes | None:
        try:
            return (path / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path / name}: {exc.strerror}") from None

    wrong = [name if found is not None else f"{name} (missing: made by an older gitguard?)"
             for name, text in (("config", CONFIG_TEXT), ("info/attributes", ATTRIBUTES_TEXT))
             if (found := content(name)) != text]
    wrong += [name for name in ("commondir", "info/grafts", "objects/info/alternates")
              if (path / name).exists()]
    try:
        wrong += [f"hooks/{hook}" for hook in sorted(os.listdir(path / "hooks"))
                  if not hook.endswith(".sample")]
    except FileNotFoundError:
        pass
    except OSError:
        wrong.append("hooks")
    if wrong:
        raise StoreError(f"refusing to use {path}: {', '.join(wrong)} "
                         f"{'is' if len(wrong) == 1 else 'are'} not what 'gitguard init' "
                         "wrote (someone changed the repository: inspect it, remove what "
                         "init does not write, then run 'gitguard init')")


def _holds(git: Git, cache: ScanCache) -> bool:
    """Whether the cache's paths, kinds, modes, owners and blobs are exactly its snapshot's
    tree: the tree id they make, computed here, is the commit's, and their metadata lines
    are its metadata file's. Only the stat columns stay unchecked; they decide what is read
    again, never what a snapshot holds."""
    if cache.commit is None or cache.meta_oid is None or not cache.entries:
        return False
    entries = cache.entries
    # all names encoded in one call: their bytes, in the same order
    raws = "\0".join(entries).encode("utf-8", "surrogateescape").split(b"\0")
    pairs = sorted(zip(raws, entries.values(), strict=True))
    codes = meta.KIND_CODES
    rows = {raw: (s[MODE], s[UID], s[GID], codes[s[KIND]]) for raw, s in pairs}
    # the metadata file's lines, its header aside (an older version's header reads the same)
    stored = verified_blob(git, cache.meta_oid)
    if stored.partition(b"\n")[2] != meta.encode_rows(rows).partition(b"\n")[2]:
        return False
    blobs: list[tuple[bytes, str | bytes, bytes]] = [
        (b"120000" if s[KIND] == _LINK else b"100755" if s[MODE] & 0o100 else b"100644",
         s[OID], raw if b".g" not in raw and b".G" not in raw
         else meta.stored_raw(raw, s[KIND] == _LINK))
        for raw, s in pairs
        if s[OID] and (s[KIND] == _FILE or s[KIND] == _LINK)]  # folders, special files and
    # files above the size limit have no blob
    blobs.append((b"100644", cache.meta_oid, meta.META_PATH.encode()))
    blobs.sort(key=lambda row: row[2])  # in place, and nearly sorted: fast
    made, root = tree_id(blobs), commit_tree(git, cache.commit)
    # a snapshot with the CMS database holds its folder beside what the cache describes
    return made == root or made == files_tree_id(git, root)
