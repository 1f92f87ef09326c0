"""`gitguard mirror`: scan a site and commit a backup snapshot when anything changed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.database.errors import DatabaseNotBackedUp
from gitguard.errors import GitguardError
from gitguard.model import Kind, printable
from gitguard.policy import PathSet, Policy
from gitguard.progress import progress
from gitguard.remote import open_remote
from gitguard.remote.base import Remote, Scan
from gitguard.store.objects import existing
from gitguard.store.repo import SNAPSHOTS, ScanCache, SiteRepo
from gitguard.store.snapshot import (
    SnapshotOutcome,
    commit_snapshot,
    files_to_read,
    nothing_changed,
    too_big,
)

if TYPE_CHECKING:
    from gitguard.database.snapshot import DatabaseBackup

log = logging.getLogger(__name__)


def mirror(config: Config, site: Site, deep: bool = False) -> SnapshotOutcome:
    """Take the lock, mirror the site, journal the run."""
    repo = SiteRepo.open(config.repo_path(site))
    with repo.lock():
        return mirror_locked(repo, site, deep)


def mirror_locked(repo: SiteRepo, site: Site, deep: bool = False, action: str = "mirror",
                  remote: Remote | None = None, expect_known: bool = False,
                  deep_without_ctime: bool = False,
                  only: Sequence[str] | None = None) -> SnapshotOutcome:
    """Mirror a site whose lock the caller holds; every run is journaled, failures too.

    With `remote`, that connection is used (and left open). With `expect_known` (the rescan
    after a restore), files are first hashed on the server, and content the repository
    already holds is not transferred again. With `deep_without_ctime`, the run is deep when
    the scan finds that the transport cannot see ctime (SFTP), where a stat cache would miss
    a same-size edit whose mtime was put back. With `only`, the server is looked at on those
    paths alone (where the transport can) and the rest of the newest snapshot kept: the
    check after a restore, of the paths it wrote.
    """
    started = now()
    own = remote is None
    try:
        remote = remote or open_remote(site)
        try:
            database = _database(repo, site, remote, deep)
            outcome, deep = _take(repo, site, remote, deep, expect_known, deep_without_ctime,
                                  only)
            outcome = _with_database(repo, site, outcome, database)
        finally:
            if own:
                remote.close()
    except GitguardError as exc:
        repo.record(action, site.name, started, "error", str(exc))
        raise
    line = describe(outcome) + (f"; {database.describe()}" if database else "")
    repo.record(action, site.name, started, "ok" if not database or not database.error
                else "error", line, {
        "snapshot": outcome.commit, "tip": outcome.tip, "added": outcome.added,
        "modified": outcome.modified, "deleted": outcome.deleted,
        "meta_changed": outcome.meta_changed, "files": outcome.files, "read": outcome.read,
        "bytes_read": outcome.bytes_read, "deep": deep,
        **({"database": database.journal()} if database else {})})
    if database and database.error:
        raise DatabaseNotBackedUp(f"the file backup was committed ({describe(outcome)}), but "
                                  f"the database was not backed up: {database.error}")
    return outcome


def _database(repo: SiteRepo, site: Site, remote: Remote,
              deep: bool) -> DatabaseBackup | None:
    """The site's CMS database read for this snapshot (None when it has none); `deep`
    reads every row, whatever the checksums say."""
    if site.database is None:
        return None
    from gitguard.database.snapshot import backup  # the client only where a site has one

    return backup(repo, site, remote, deep)


def _with_database(repo: SiteRepo, site: Site, outcome: SnapshotOutcome,
                   database: DatabaseBackup | None) -> SnapshotOutcome:
    """The outcome once the database folder is in the newest snapshot: in the commit this
    run made, or a commit of its own when only the database changed."""
    if database is None or outcome.tip is None:
        return outcome
    if outcome.commit is None and (database.outcome is None
                                   or database.tree == database.outcome.previous):
        return outcome  # the newest snapshot holds this very folder already
    from gitguard.database.snapshot import commit_database

    key = "\0".join((str(site.source), Policy.for_site(site).exclude.key))
    new = commit_database(repo, outcome.tip, database.tree, outcome.commit is not None, key)
    return outcome if new is None else replace(outcome, commit=new, tip=new)


def _take(repo: SiteRepo, site: Site, remote: Remote, deep: bool, expect_known: bool,
          deep_without_ctime: bool, only: Sequence[str] | None) -> tuple[SnapshotOutcome, bool]:
    """Scan (or look at `only`), read what changed, commit; the outcome, and whether the
    run turned out deep."""
    exclude = Policy.for_site(site).exclude
    key = "\0".join((str(site.source), exclude.key))
    tip = repo.git.rev(SNAPSHOTS)
    # After a restore, the paths it wrote are read whatever their stat says: without ctime
    # (SFTP), a file written back in the second of the attack, at the same size, would
    # look untouched.
    fresh = frozenset(only or ())
    cache = None
    if only is not None:
        looked = _look(repo, remote, tip, key, only, exclude)
        if looked is not None:
            cache, delta = looked
            outcome = _snapshot(repo, site, remote, cache, delta, deep=False,
                                expect_known=expect_known, fresh=fresh)
            repo.forget_listing()  # no listing holds this snapshot
            return outcome, False
    seen = None if deep else repo.listing_seen(tip, key)
    scan = remote.scan(exclude, seen[0] if seen else None)
    deep = deep or (deep_without_ctime and not remote.sees_ctime)
    if scan.unchanged:
        assert seen is not None
        return _unchanged(tip, seen[1]), deep  # the very listing of the last snapshot
    if cache is None and scan.removed is not None and seen is not None and tip is not None:
        # a delta reads the snapshot at its own paths only: a cost that grows with the change
        cache = repo.partial_cache(tip, [*(e.path for e in scan.entries), *scan.removed],
                                   seen[1])
    cache = cache or repo.load_cache(tip)
    if scan.removed is not None and cache.commit != tip:
        scan = remote.scan(exclude)  # a delta needs the cache of the snapshot it is a delta to
    # a big site's listing is put aside while the snapshot is taken, not held
    listing = None if scan.listing is None else repo.spool_listing(scan.listing)
    scan = replace(scan, listing=None)
    try:
        if scan.removed is None and not deep and not fresh \
                and nothing_changed(cache, scan.entries):
            outcome = _unchanged(cache.commit, sum(1 for e in scan.entries
                                                   if e.kind is not Kind.DIR))
        else:
            outcome = _snapshot(repo, site, remote, cache, scan, deep, expect_known, fresh)
        del scan, cache  # a big site's entries and old cache
        if outcome.tip is not None:
            repo.remember_listing(outcome.tip, key, listing if outcome.complete else None,
                                  outcome.files)
    finally:
        if listing is not None:
            listing.unlink(missing_ok=True)  # not remembered: the run failed or was partial
    return outcome, deep


def _look(repo: SiteRepo, remote: Remote, tip: str | None, key: str, paths: Sequence[str],
          exclude: PathSet) -> tuple[ScanCache, Scan] | None:
    """These paths as the server holds them now, as a delta to the newest snapshot, with
    the cache rows it is a delta to; None when the transport cannot look at single paths
    (then: a full scan)."""
    if tip is None:
        return None
    files = repo.listing_files(tip, key)
    # the snapshot at these paths alone, read from git: a cost that grows with the paths
    cache = None if files is None else repo.partial_cache(tip, paths, files)
    if cache is None:
        cache = repo.load_cache(tip)
        if cache.commit != tip:
            return None
    entries = remote.look(paths, exclude)
    if entries is None:
        return None
    kinds = {e.path: e.kind for e in entries}
    removed = {p for p in paths if p not in kinds}
    # Below a path that is gone, or no longer a folder, nothing the snapshot had is left.
    cut = tuple(p + "/" for p in paths if kinds.get(p) is not Kind.DIR)
    if cut and cache.partial and any(cache.entries.get(p[:-1], ("",))[0] == Kind.DIR.value
                                     for p in cut):
        cache = repo.load_cache(tip)  # what that folder held: the whole cache knows
        if cache.commit != tip:
            return None
    if cut:
        removed.update(c for c in cache.entries if c.startswith(cut))
    return cache, Scan(entries, removed=tuple(removed))


def _unchanged(tip: str | None, files: int) -> SnapshotOutcome:
    return SnapshotOutcome(commit=None, tip=tip, added=0, modified=0, deleted=0,
                           meta_changed=0, files=files, read=0, bytes_read=0)


def _snapshot(repo: SiteRepo, site: Site, remote: Remote, cache: ScanCache, scan: Scan,
              deep: bool, expect_known: bool,
              fresh: frozenset[str] = frozenset()) -> SnapshotOutcome:
    """Read what changed (or what the server cannot vouch for, and the `fresh` paths
    whatever their stat) and commit a snapshot."""
    limit = site.max_file_size
    paths = files_to_read(cache, scan.entries, deep, fresh, limit)
    big = too_big(scan.entries, limit)
    if big:
        log.warning("%s: %d file(s) above max_file_size (%d bytes) listed but not backed up: "
                    "%s", site.name, len(big), limit, ", ".join(printable(p) for p in big[:10]))
    known: dict[str, str] = {}
    if expect_known and paths:
        hashed = remote.hashes(paths)
        present = existing(repo.git, hashed.values())
        known = {p: oid for p, oid in hashed.items() if oid in present}
        paths = [p for p in paths if p not in known]
    log.info("%s: %d paths listed as %s, %d to read", site.name, len(scan.entries),
             "new or changed" if scan.removed is not None else "present", len(paths))
    with progress(f"{site.name}: backing up", len(paths)) as bar:
        return commit_snapshot(repo, cache, scan.entries, remote.read(paths), str(site.source),
                               bar, known, scan.removed, limit)


def describe(outcome: SnapshotOutcome) -> str:
    """One line for stdout and the journal."""
    if outcome.commit is None:
        return f"unchanged (snapshot {(outcome.tip or '')[:12]}, {outcome.files} files)"
    extra = f", {outcome.meta_changed} mode or owner changes" if outcome.meta_changed else ""
    return (f"snapshot {outcome.commit[:12]}: {outcome.added} added, {outcome.modified} "
            f"modified, {outcome.deleted} deleted{extra} ({outcome.files} files, "
            f"{outcome.read} read, {outcome.bytes_read / 1e6:.1f} MB)")
