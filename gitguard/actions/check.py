"""`gitguard check`: the scheduled job: mirror, then audit, under one lock; alert at once
when it finds something critical."""

from __future__ import annotations

import hashlib
import logging

from gitguard.actions.audit import audit_locked
from gitguard.actions.mirror import mirror_locked
from gitguard.actions.report import keep_and_send, state_of
from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.errors import StoreError
from gitguard.model import AuditResult, Severity, Status
from gitguard.store.repo import SiteRepo

log = logging.getLogger(__name__)


def check(config: Config, site: Site, keep_report: bool = False) -> AuditResult:
    """Back the site up, audit the new snapshot, and alert on a new critical state."""
    repo = SiteRepo.open(config.repo_path(site))
    with repo.lock():
        mirror_locked(repo, site)
        result = audit_locked(config, site, repo, action="check", live=True,
                              keep_report=keep_report)
        alert(config, repo, result)
        push_offsite(repo, site)
        return result


def push_offsite(repo: SiteRepo, site: Site) -> None:
    """Copy the history to each configured remote: branches and gitguard's refs, never
    forced, so an off-site copy refuses a rewritten history instead of taking it."""
    for url in site.remotes:
        started = now()
        try:
            repo.git.run(["push", "--quiet", url, "refs/heads/*:refs/heads/*",
                          "refs/gitguard/*:refs/gitguard/*"])
            ok, summary = True, f"history copied to {url}"
        except StoreError as exc:
            ok, summary = False, f"copying the history to {url} failed: {exc}"
            log.warning("%s: %s", site.name, summary)
        repo.record("push", site.name, started, "ok" if ok else "error", summary, {"url": url})


def notify_configured(config: Config) -> bool:
    """Whether any delivery channel is set up."""
    return bool(config.notify.smtp_host or config.notify.apprise)


def alert(config: Config, repo: SiteRepo, result: AuditResult) -> None:
    """Send the damage report to the kasubbag and staff when the critical state is new.

    The same incident found again every 15 minutes is not sent again: the alert is keyed by
    the critical findings and problems, so a new webshell next to an old one is sent.
    """
    if result.status is not Status.CRITICAL or not config.notify.on_critical \
            or not notify_configured(config):
        return
    key = hashlib.sha256("\n".join(sorted(
        [f"{f.path}\0{f.change}\0{f.new_blob}" for f in result.findings
         if f.severity is Severity.CRITICAL] + [p.code for p in result.problems]
    )).encode("utf-8", "surrogateescape")).hexdigest()
    marker = repo.private / "last-alert"
    if marker.exists() and marker.read_text().strip() == key:
        log.info("%s: critical state already reported", result.site)
        return
    if not keep_and_send(config, repo, state_of(config, result), send=True,
                         kind_for_routing="critical"):
        marker.write_text(key + "\n")
