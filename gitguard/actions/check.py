"""`gitguard check`: the scheduled job: mirror, then audit, under one lock."""

from __future__ import annotations

from gitguard.actions.audit import audit_locked
from gitguard.actions.mirror import mirror_locked
from gitguard.config import Config, Site
from gitguard.model import AuditResult
from gitguard.store.repo import SiteRepo


def check(config: Config, site: Site) -> AuditResult:
    """Back the site up, then audit the new snapshot."""
    repo = SiteRepo.open(config.repo_path(site))
    with repo.lock():
        mirror_locked(repo, site)
        return audit_locked(config, site, repo, action="check")
