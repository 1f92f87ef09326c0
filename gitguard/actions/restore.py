"""`gitguard restore`: keep the evidence, put the approved tree back, prove it with a rescan."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from gitguard.actions.audit import assess
from gitguard.actions.check import notify_configured
from gitguard.actions.mirror import mirror_locked
from gitguard.actions.report import keep_and_send, repair_of
from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.errors import ScanError, SourceError, TrustError, UsageError
from gitguard.model import Baseline, Reason, RestoredPath, RestoreResult, printable
from gitguard.plan import Action, RestorePlan, make_plan
from gitguard.policy import PathSet, Policy
from gitguard.remote import open_remote
from gitguard.remote.base import Failure
from gitguard.store.objects import RepoBlobs
from gitguard.store.repo import APPROVED, SiteRepo
from gitguard.store.tree import changed_paths, differing_states
from gitguard.trust import baseline, check_commit, trusted_baseline

if TYPE_CHECKING:
    from gitguard.actions.look import LookResult

Confirm = Callable[[RestorePlan], bool]


def restore_target(config: Config, repo: SiteRepo, rev: str | None) -> Baseline:
    """The verified approved commit to restore: the trusted tip, or REV from its history."""
    current = trusted_baseline(config, repo, "restore")
    if rev is None:
        return current
    commit = repo.git.rev(rev)
    if commit is None or not repo.descends(commit, APPROVED):
        raise UsageError(f"--to {rev}: not a commit of the approved history")
    verdict = check_commit(config, repo, commit)
    if verdict.signer is None:
        raise TrustError(f"--to {rev}: {verdict.reason}; nothing on the server was changed")
    return baseline(config, repo, commit, verdict.signer)


def describe_plan(plan: RestorePlan) -> str:
    """The plan as lines for a terminal (the dry run's output)."""
    if not plan.steps and not plan.left and not plan.rows:
        return "nothing to do: the server already equals the approved tree"
    from gitguard.database.restore import describe_rows

    return "\n".join([*(f"  {s.action.value:6} {printable(s.path)}"
                       + (f" (mode {s.mode:04o})" if s.action is Action.CHMOD else "")
                       for s in plan.steps),
                      *(f"  keep   {printable(p)} (above max_file_size, not backed up: remove "
                        "or approve it by hand)" for p in plan.left),
                      *describe_rows(plan.rows)])


def restore(config: Config, site: Site, rev: str | None = None,
            paths: list[str] | None = None, dry_run: bool = False,
            confirm: Confirm | None = None, files: bool = True,
            database: bool = True) -> tuple[RestoreResult | None, RestorePlan]:
    """Back up the evidence, apply the plan, rescan; journal the repair report.

    `files` / `database` False leave that half alone (--database-only / --files-only).
    Returns (None, plan) for a dry run or a declined confirmation.
    """
    repo = SiteRepo.open(config.repo_path(site))
    with repo.lock():
        started = now()
        remote = open_remote(site)
        try:
            remote.start_scan()  # the server lists while the approval is checked
            target = restore_target(config, repo, rev)
            # Deep where the transport cannot see ctime (SFTP): a stat cache would miss a
            # same-size edit whose mtime was put back, and the plan would leave it there.
            evidence = mirror_locked(repo, site, deep_without_ctime=True, remote=remote,
                                     expect_known=True).tip
            assert evidence is not None
            incident = assess(config, site, repo, evidence, target)
            policy = Policy.for_site(site)
            only = PathSet(tuple(paths)) if paths else None
            # the trees where they differ, as the audit just read them
            plan = make_plan(*differing_states(repo, target.commit, evidence), policy,
                             incident.findings, only)
            if not files:
                plan = replace(plan, steps=(), left=())
            if database and site.database is not None and not paths:
                from gitguard.database.restore import apply_rows, row_plan

                plan = replace(plan, rows=row_plan(repo.git, target.commit, evidence,
                                                   incident.findings))
            if dry_run or (not plan.steps and not plan.rows and not incident.findings):
                return None, plan
            if (plan.steps or plan.rows) and confirm is not None and not confirm(plan):
                return None, plan
            before_look = _look(config, site, repo, target)  # the evidence, as visitors saw it
            with RepoBlobs(repo.git, repo.tmp("restore-index")) as blobs:
                failures = remote.apply(plan.steps, blobs) if plan.steps else []
            rows_failed: SourceError | None = None
            if plan.rows:
                try:
                    apply_rows(site, remote, plan.rows)
                except SourceError as exc:
                    rows_failed = exc
            unseen: ScanError | None = None
            try:
                after = mirror_locked(repo, site, remote=remote, expect_known=True,
                                      only=plan.checked).tip
            except ScanError as exc:
                # The server changed under the rescan: unproven, and the report says so.
                after, unseen = None, exc
        finally:
            remote.close()
        if after is None:
            still = list(plan.checked)
        else:
            # the plan's paths where the approved tree and the rescan still differ
            still = [p for p, _ in changed_paths(*differing_states(repo, target.commit, after),
                                                 policy, folders=True, paths=plan.checked)]
            if plan.rows:
                from gitguard.database.restore import still_different

                still += still_different(repo.git, target.commit, after, plan.rows)
        failed = {f.path for f in failures}
        done = tuple(RestoredPath(
            path=s.path, action=s.action.value, before=s.before,
            after=None if s.action is Action.REMOVE else s.oid)
            for s in plan.steps if s.path not in failed and s.action is not Action.MKDIR) + tuple(
            RestoredPath(path=f"database:{s.table}/{s.key}", action=f"row {s.action}",
                         before=None, after=None)
            for s in plan.rows if rows_failed is None)
        after_look = _look(config, site, repo, target)
        unclean = tuple(_blocking(after_look)) if after_look else ()
        result = RestoreResult(site=site.name, approved=target.commit, evidence=evidence,
                               incident=incident, paths=done,
                               verified=not still and not unclean,
                               still_different=tuple(still), started=started, finished=now(),
                               look_before=before_look.shots if before_look else (),
                               look_after=after_look.shots if after_look else (),
                               look_problems=unclean)
        report = repair_of(config, result)
        repo.record("restore", site.name, started, "ok" if result.verified else "critical",
                    f"restored {len(done)} path(s) to {target.commit[:12]}; "
                    + ("verified: the site equals the approved tree" if result.verified
                       else f"{len(still)} path(s) still differ"),
                    {"evidence": evidence, "approved": target.commit, "after": after,
                     "verified": result.verified, "paths": len(done),
                     "still_different": [printable(p) for p in still[:100]],
                     "failures": [{"path": printable(f.path), "why": f.why}
                                  for f in failures[:100]]},
                    {report.file_name(started): report.markdown.encode("utf-8")})
        if notify_configured(config):
            keep_and_send(config, repo, report, send=True)
        if unseen is not None:
            raise SourceError(f"{site.name}: the rescan after the restore failed, so it is not "
                              f"verified (the repair report is kept; run verify): {unseen}")
        if rows_failed is not None:
            raise SourceError(f"{site.name}: the database rows were not restored: {rows_failed}")
        if failures:
            raise RestoreFailed(result, failures)
        return result, plan


def _look(config: Config, site: Site, repo: SiteRepo, target: Baseline) -> LookResult | None:
    """The live look, every picture kept: a repair report shows before and after."""
    if not site.urls:
        return None
    from gitguard.actions.look import look_locked  # a site without URLs never pays for it

    return look_locked(config, site, repo, target, keep_pictures=True)


def _blocking(look: LookResult) -> list[Reason]:
    """What the live look after the repair shows that keeps it from counting as verified."""
    from gitguard.actions.look import blocking

    return blocking(look.reasons)


class RestoreFailed(SourceError):
    """Some paths could not be written: named, exit 3; the rest of the restore stands."""

    def __init__(self, result: RestoreResult, failures: list[Failure]) -> None:
        shown = "; ".join(f"{printable(f.path)}: {f.why}" for f in failures[:10])
        more = f" (and {len(failures) - 10} more)" if len(failures) > 10 else ""
        super().__init__(f"{len(failures)} path(s) could not be restored: {shown}{more}")
        self.result = result
        self.failures = failures


def ask(plan: RestorePlan) -> bool:
    """Show the plan and ask on the terminal; scripts must say --yes."""
    if not sys.stdin.isatty():
        raise UsageError("restore changes the server: confirm with --yes when not at a terminal")
    print(describe_plan(plan))
    answer = input(f"Apply these {len(plan.steps)} step(s) to the server? [y/N] ")
    return answer.strip().lower() in ("y", "yes", "ya")
