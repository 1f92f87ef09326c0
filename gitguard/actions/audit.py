"""`gitguard audit`: the newest snapshot against the signed approved tree."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.errors import StoreError
from gitguard.findings import findings
from gitguard.model import (
    ENCODING,
    SEVERITY_RANK,
    AuditResult,
    Baseline,
    Change,
    Severity,
    Snapshot,
    Status,
    path_bytes,
    printable,
)
from gitguard.policy import Policy
from gitguard.report.markdown import state_report
from gitguard.report.texts import describe
from gitguard.store.objects import BlobReader
from gitguard.store.repo import SNAPSHOTS, SiteRepo
from gitguard.store.tree import differing_states
from gitguard.trust import CRITICAL_PROBLEMS, BaselineCheck, check_baseline


def audit(config: Config, site: Site, keep_report: bool = False) -> AuditResult:
    """Take the lock, audit the site, journal the run (with its report when asked)."""
    repo = SiteRepo.open(config.repo_path(site))
    with repo.lock():
        return audit_locked(config, site, repo, keep_report=keep_report)


def snapshot_info(repo: SiteRepo, commit: str) -> Snapshot:
    """The Snapshot record of a backup commit."""
    info = repo.commit_info(commit)
    return Snapshot(commit=commit, date=info.date, message=info.message.strip())


def assess(config: Config, site: Site, repo: SiteRepo, snapshot: str,
           target: Baseline | None = None) -> AuditResult:
    """Compare a snapshot with the trusted baseline (or a verified target): findings,
    problems and the status."""
    check = BaselineCheck(target, ()) if target else check_baseline(config, repo)
    found = []
    if check.baseline is not None:
        with BlobReader(repo.git) as reader:
            found = findings(*differing_states(repo, check.baseline.commit, snapshot),
                             Policy.for_site(site), reader)
        if site.database is not None:
            from gitguard.database.grade import database_findings

            new = {f.path for f in found if f.change is Change.ADDED}
            found += database_findings(repo.git, check.baseline.commit, snapshot, new)
    worst = max((SEVERITY_RANK[f.severity] for f in found), default=0)
    if any(p.code in CRITICAL_PROBLEMS for p in check.problems) or worst == 2:
        status = Status.CRITICAL
    elif check.problems or worst == 1:
        status = Status.WARNING
    else:
        status = Status.OK
    return AuditResult(site=site.name, status=status, snapshot=snapshot_info(repo, snapshot),
                       baseline=check.baseline, findings=tuple(found),
                       problems=check.problems)


def with_live_look(config: Config, site: Site, repo: SiteRepo, result: AuditResult,
                   started: datetime | None = None) -> AuditResult:
    """Look at the live site now (where URLs are set) and join what it shows to the audit."""
    if not site.urls:
        return result
    from gitguard.actions.look import joined, look_locked  # Playwright only with URLs

    return joined(result, look_locked(config, site, repo, result.baseline, started))


def audit_locked(config: Config, site: Site, repo: SiteRepo, action: str = "audit",
                 live: bool = False, keep_report: bool = False) -> AuditResult:
    """Audit a site whose lock the caller holds (with the live look when asked and URLs
    are set); journal the result, and the damage report when it is not OK."""
    started = now()
    snapshot = repo.git.rev(SNAPSHOTS)
    if snapshot is None:
        raise StoreError(f"site {site.name} has no snapshot yet: run 'gitguard mirror' first")
    result = assess(config, site, repo, snapshot)
    if live:
        result = with_live_look(config, site, repo, result, started)
    elif site.urls:  # the latest look stands until the next one
        from gitguard.actions.look import joined, latest

        result = joined(result, latest(repo))
    files = {}
    if result.status is not Status.OK or keep_report:
        files[f"state-{site.name}-{started:%Y%m%dT%H%M%SZ}.md"] = \
            state_report(result, config, started).encode("utf-8")
    repo.record(action, site.name, started, result.status.value, summary(result), {
        "status": result.status.value, "snapshot": snapshot,
        "approved": result.baseline.commit if result.baseline else None,
        **{sev.value: sum(1 for f in result.findings if f.severity is sev) for sev in Severity},
        "problems": [p.code for p in result.problems],
        "live": [p.code for p in result.live], "found": named_findings(result)}, files)
    return result


FOUND = 5  # findings named in the journal record: what the activity report's incidents name


def named_findings(result: AuditResult) -> list[list[str]]:
    """The worst findings and problems as [path, severity, reason code, detail], for the
    activity report to name in its own language; the full list is in the state report."""
    named = [["", Severity.CRITICAL.value if p.code in CRITICAL_PROBLEMS
              else Severity.WARNING.value, p.code, p.detail] for p in result.problems
             if p.code != "no_baseline"]
    worst = sorted((f for f in result.findings if f.severity is not Severity.INFO),
                   key=lambda f: (-SEVERITY_RANK[f.severity], f.path))
    named += [[printable(f.path), f.severity.value, f.reasons[0].code if f.reasons else "",
               f.reasons[0].detail if f.reasons else ""] for f in worst[:FOUND]]
    return named[:FOUND]


def summary(result: AuditResult) -> str:
    """One line: the status and the counts."""
    counts = ", ".join(f"{sum(1 for f in result.findings if f.severity is sev)} {sev.value}"
                       for sev in (Severity.CRITICAL, Severity.WARNING, Severity.INFO))
    base = (f"approved {result.baseline.commit[:12]} by {result.baseline.signer.name}"
            if result.baseline else "no trusted baseline")
    snap = result.snapshot.commit[:12] if result.snapshot else "none"
    return f"{result.status.value.upper()}: {counts}; snapshot {snap}; {base}"


def render_text(result: AuditResult, limit: int = 40) -> str:
    """The short human summary for stdout."""
    lines = [f"{result.site}: {summary(result)}"]
    lines += [f"  problem: {describe(p, 'en')}" for p in result.problems]
    lines += [f"  live: {describe(p, 'en')}" for p in result.live]
    shown = [f for f in result.findings if f.severity is not Severity.INFO]
    shown.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.path))
    for finding in shown[:limit]:
        why = "; ".join(describe(r, "en") for r in finding.reasons)
        lines.append(f"  {finding.severity.value:8} {finding.change.value:8} "
                     f"{printable(finding.path)}  {why}")
    if len(shown) > limit:
        lines.append(f"  ... and {len(shown) - limit} more (see --json or -o FILE)")
    return "\n".join(lines)


def json_path(path: str) -> dict[str, str]:
    """A path for JSON: its text, exact when it is valid UTF-8; otherwise each invalid byte
    as the text \\xNN, and the exact bytes in base64 beside it."""
    try:
        path.encode(ENCODING)
        return {"path": path}
    except UnicodeEncodeError:
        raw = path_bytes(path)
    return {"path": raw.decode(ENCODING, "backslashreplace"),
            "path_bytes_b64": base64.b64encode(raw).decode("ascii")}


def as_json(result: AuditResult) -> dict[str, Any]:
    """DESIGN.md's audit object (paths as json_path gives them)."""
    from gitguard.look.compare import severity as look_severity  # the look's own grades

    base = result.baseline
    return {
        "site": result.site,
        "status": result.status.value,
        "snapshot": result.snapshot.commit if result.snapshot else None,
        "approved": base.commit if base else None,
        "baseline": {"commit": base.commit, "signer": base.signer.name,
                     "role": base.signer.role, "fingerprint": base.signer.fingerprint,
                     "date": base.date.isoformat()} if base else None,
        "problems": [{"code": p.code, "reason": describe(p, "en")} for p in result.problems],
        "live": [{"code": p.code, "severity": look_severity(p.code).value,
                  "reason": describe(p, "en")} for p in result.live],
        "findings": [{**json_path(f.path), "change": f.change.value,
                      "severity": f.severity.value,
                      "reasons": [describe(r, "en") for r in f.reasons],
                      "codes": [r.code for r in f.reasons],
                      "old_blob": f.old_blob, "new_blob": f.new_blob,
                      "old_mode": f.old_mode, "new_mode": f.new_mode,
                      **({"table": f.table, "key": f.key, "title": f.title}
                         if f.table is not None else {})}
                     for f in result.findings],
    }
