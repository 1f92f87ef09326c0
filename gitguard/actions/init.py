"""`gitguard init`: create the site repositories and check that each source is reachable."""

from __future__ import annotations

from gitguard.config import Config, LocalSource, Site
from gitguard.errors import SourceError
from gitguard.remote import open_remote
from gitguard.remote.ssh import SshRemote
from gitguard.store.repo import SiteRepo
from gitguard.trust import write_allowed_signers


def init(config: Config, site: Site) -> str:
    """Create the repository (idempotent) and prove the source answers; returns a summary."""
    repo = SiteRepo.create(config.repo_path(site))
    write_allowed_signers(config, repo)
    if isinstance(site.source, LocalSource) and not site.source.path.is_dir():
        raise SourceError(f"docroot {site.source.path} is not a directory")
    remote = open_remote(site)
    database = ""
    try:
        how = remote.detect() if isinstance(remote, SshRemote) else "local"
        if site.database is not None:
            from gitguard.database.dump import check_access

            check_access(site, remote)  # logs in, reads nothing
            database = "; database reachable"
    finally:
        remote.close()
    return f"repository {repo.path} ready; source {site.source} reachable ({how}){database}"
