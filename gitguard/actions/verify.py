"""`gitguard verify`: a fresh scan, compared with the approved tree."""

from __future__ import annotations

from gitguard.actions.audit import assess, with_live_look
from gitguard.actions.mirror import mirror_locked
from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.model import AuditResult, Reason, Severity, printable
from gitguard.store.repo import SiteRepo
from gitguard.trust import trusted_baseline


def verify(config: Config, site: Site) -> AuditResult:
    """Rescan the server and compare it with the trusted approved tip."""
    repo = SiteRepo.open(config.repo_path(site))
    with repo.lock():
        started = now()
        target = trusted_baseline(config, repo, "verify")
        # Deep where the transport cannot see ctime (SFTP): a stat cache would vouch for a
        # same-size edit whose mtime was put back; content the repository holds is hashed
        # on the server, not fetched.
        tip = mirror_locked(repo, site, deep_without_ctime=True, expect_known=True).tip
        assert tip is not None
        result = with_live_look(config, site, repo, assess(config, site, repo, tip, target),
                                started)
        differ = differing(result)
        unclean = look_blocking(result)
        ok = not differ and not unclean
        repo.record("verify", site.name, started, "ok" if ok else "critical",
                    ("the site equals the approved tree" if not differ
                     else f"{len(differ)} path(s) differ from the approved tree")
                    + (f"; the live look is not clean ({len(unclean)} finding(s))"
                       if unclean else ""),
                    {"verified": ok, "snapshot": tip,
                     "approved": target.commit, "differ": differ[:100],
                     "look": [r.code for r in unclean]})
        return result


def look_blocking(result: AuditResult) -> list[Reason]:
    """What the live look shows that keeps the site from counting as back to normal."""
    from gitguard.actions.look import blocking

    return blocking(result.live)


def differing(result: AuditResult) -> list[str]:
    """The paths where the server is not what was approved (allowed new files aside),
    made printable: one line each on stdout, and valid UTF-8 in the JSON journal."""
    return [printable(f.path) for f in result.findings if f.severity is not Severity.INFO]
