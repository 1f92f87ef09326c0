"""`gitguard verify`: a fresh scan, compared with the approved tree."""

from __future__ import annotations

from gitguard.actions.audit import assess, with_live_look
from gitguard.actions.mirror import mirror_locked
from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.errors import CriticalError, UsageError
from gitguard.model import AuditResult, Severity, printable
from gitguard.store.repo import SiteRepo
from gitguard.trust import check_baseline


def verify(config: Config, site: Site) -> AuditResult:
    """Rescan the server and compare it with the trusted approved tip."""
    repo = SiteRepo.open(config.repo_path(site))
    with repo.lock():
        started = now()
        check = check_baseline(config, repo)
        if [p.code for p in check.problems] == ["no_baseline"]:
            raise UsageError("nothing is approved yet, so nothing to verify against: sign a "
                             "snapshot with 'gitguard approve' first")
        if not check.trusted or check.baseline is None:
            reasons = "; ".join(f"{p.code} {p.detail}".strip() for p in check.problems)
            raise CriticalError(f"cannot verify: the approved state cannot be trusted "
                                f"({reasons})")
        # Deep: a stat cache without ctime (SFTP) would vouch for a same-size edit whose
        # mtime was put back; content known to the repository is hashed, not fetched.
        tip = mirror_locked(repo, site, deep=True, expect_known=True).tip
        assert tip is not None
        result = with_live_look(assess(config, site, repo, tip, check.baseline), site.urls)
        differ = differing(result)
        repo.record("verify", site.name, started, "ok" if not differ else "critical",
                    "the site equals the approved tree" if not differ
                    else f"{len(differ)} path(s) differ from the approved tree",
                    {"verified": not differ, "snapshot": tip,
                     "approved": check.baseline.commit, "differ": differ[:100]})
        return result


def differing(result: AuditResult) -> list[str]:
    """The paths where the server is not what was approved (allowed new files aside),
    made printable: one line each on stdout, and valid UTF-8 in the JSON journal."""
    return [printable(f.path) for f in result.findings if f.severity is not Severity.INFO]
