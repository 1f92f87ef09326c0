"""The database's part of a mirror: its folder for the snapshot commit, and a commit of its
own when only the database changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gitguard.config import Site
from gitguard.database.dump import DumpOutcome, dump
from gitguard.database.errors import DatabaseError
from gitguard.database.gittree import database_of, with_database
from gitguard.remote.base import Remote
from gitguard.store.objects import commit, commit_tree, move_ref
from gitguard.store.repo import SNAPSHOTS, SiteRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseBackup:
    """The folder the snapshot gets, and how reading the database went."""

    tree: str | None  # None: the site has no database (nor had one)
    outcome: DumpOutcome | None  # None when it was not read
    error: DatabaseError | None = None

    def describe(self) -> str:
        """One line for stdout and the journal."""
        if self.error is not None:
            return f"database NOT backed up: {self.error}"
        assert self.outcome is not None
        out = self.outcome
        what = (f"{len(out.changed)} table(s) changed ({', '.join(out.changed[:5])}"
                f"{', ...' if len(out.changed) > 5 else ''})" if out.changed else "unchanged")
        return f"database: {out.tables} tables, {what}, {out.rows_read} rows read"

    def journal(self) -> dict[str, object]:
        """The journal's details of the database's part."""
        if self.outcome is None:
            return {"backed_up": False, "error": str(self.error)}
        return {"backed_up": True, "tree": self.outcome.tree, "tables": self.outcome.tables,
                "changed": list(self.outcome.changed), "rows_read": self.outcome.rows_read,
                "skipped": list(self.outcome.skipped)}


def backup(repo: SiteRepo, site: Site, remote: Remote | None,
           deep: bool = False) -> DatabaseBackup | None:
    """Read the site's database (every row when `deep`); when it cannot be read, the newest
    snapshot's folder is kept (the error is raised after the files are committed)."""
    if site.database is None:
        return None
    try:
        outcome = dump(repo, site, remote, deep)
    except DatabaseError as exc:
        log.debug("%s: %s", site.name, exc)  # raised once the files are committed
        return DatabaseBackup(database_of(repo.git, repo.git.rev(SNAPSHOTS)), None, exc)
    return DatabaseBackup(outcome.tree, outcome)


def commit_database(repo: SiteRepo, tip: str, tree: str | None, amend: bool,
                    listing_key: str) -> str | None:
    """Put the database folder into the newest snapshot: `tip` itself is replaced when this
    run made it (`amend`: one snapshot commit for files and database), else a snapshot that
    changes only the database is added on top of it. None when the folder is already there.
    The scan cache and the listing move along to the new commit (its files are `tip`'s)."""
    root = commit_tree(repo.git, tip)
    new_root = with_database(repo.git, root, tree)  # one cat-file: only when it may differ
    if new_root == root:
        return None
    if amend:
        body = repo.git.run(["cat-file", "commit", tip]).partition(b"\n\n")[2].decode(
            "utf-8", "replace")
        parents = repo.git.text(["rev-list", "--parents", "-n", "1", tip]).split()[1:]
        message = body.replace("\n\n", ", database changed\n\n", 1)
    else:
        parents, message = [tip], "snapshot: database changed\n"
    new = commit(repo.git, new_root, parents, message)
    seen = repo.listing_seen(tip, listing_key)
    move_ref(repo.git, SNAPSHOTS, new, tip, "gitguard mirror")
    repo.move_cache(tip, new)
    if seen is not None:
        repo.remember_listing(new, listing_key, seen[0], seen[1])
    return new
