"""`gitguard mirror`: scan a site and commit a backup snapshot when anything changed."""

from __future__ import annotations

import logging

from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.errors import GitguardError
from gitguard.policy import Policy
from gitguard.progress import progress
from gitguard.remote import open_remote
from gitguard.store.repo import SiteRepo
from gitguard.store.snapshot import SnapshotOutcome, commit_snapshot, files_to_read

log = logging.getLogger(__name__)


def mirror(config: Config, site: Site, deep: bool = False) -> SnapshotOutcome:
    """Take the lock, mirror the site, journal the run."""
    repo = SiteRepo.open(config.repo_path(site))
    with repo.lock():
        return mirror_locked(repo, site, deep)


def mirror_locked(repo: SiteRepo, site: Site, deep: bool = False,
                  action: str = "mirror") -> SnapshotOutcome:
    """Mirror a site whose lock the caller holds; every run is journaled, failures too."""
    started = now()
    try:
        remote = open_remote(site)
        try:
            entries = remote.scan(Policy.for_site(site).exclude)
            paths = files_to_read(repo, entries, deep)
            log.info("%s: %d paths listed, %d to read", site.name, len(entries), len(paths))
            with progress(f"{site.name}: backing up", len(paths)) as bar:
                outcome = commit_snapshot(repo, entries, remote.read(paths),
                                          str(site.source), bar)
        finally:
            remote.close()
    except GitguardError as exc:
        repo.record(action, site.name, started, "error", str(exc))
        raise
    summary = describe(outcome)
    repo.record(action, site.name, started, "ok", summary, {
        "snapshot": outcome.commit, "tip": outcome.tip, "added": outcome.added,
        "modified": outcome.modified, "deleted": outcome.deleted,
        "meta_changed": outcome.meta_changed, "files": outcome.files, "read": outcome.read,
        "bytes_read": outcome.bytes_read, "deep": deep})
    return outcome


def describe(outcome: SnapshotOutcome) -> str:
    """One line for stdout and the journal."""
    if outcome.commit is None:
        return f"unchanged (snapshot {(outcome.tip or '')[:12]}, {outcome.files} files)"
    extra = f", {outcome.meta_changed} mode or owner changes" if outcome.meta_changed else ""
    return (f"snapshot {outcome.commit[:12]}: {outcome.added} added, {outcome.modified} "
            f"modified, {outcome.deleted} deleted{extra} ({outcome.files} files, "
            f"{outcome.read} read, {outcome.bytes_read / 1e6:.1f} MB)")
