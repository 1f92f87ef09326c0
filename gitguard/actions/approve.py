"""`gitguard approve`: sign a snapshot (or some of its paths) as the new approved state."""

from __future__ import annotations

from pathlib import Path

from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.database.gittree import database_of
from gitguard.errors import TrustError, UsageError
from gitguard.model import Change, Kind
from gitguard.policy import PathSet, Policy
from gitguard.store.objects import move_ref
from gitguard.store.repo import APPROVED, APPROVED_SEEN, SNAPSHOTS, SiteRepo
from gitguard.store.tree import EMPTY, TreeState, changed_paths, commit_state, read_state
from gitguard.trust import (
    approver_for,
    check_baseline,
    check_commit,
    signing_args,
    signing_key_from_agent,
    signing_key_from_file,
)

LISTED = 50


def approve(config: Config, site: Site, message: str, key: Path | None = None,
            snapshot: str | None = None, paths: list[str] | None = None) -> str:
    """Sign the chosen state onto refs/heads/approved; return the new commit."""
    repo = SiteRepo.open(config.repo_path(site))
    signing = signing_key_from_file(key) if key else signing_key_from_agent(config)
    person = approver_for(config, signing)
    with repo.lock():
        started = now()
        snap = repo.git.rev(snapshot or SNAPSHOTS)
        if snap is None:
            raise UsageError(f"no snapshot {snapshot or 'yet'} in {site.name}: "
                             "run 'gitguard mirror' first" if snapshot is None else
                             f"{snapshot!r} is not a commit of site {site.name}")
        tip = repo.git.rev(SNAPSHOTS)
        if tip is None or not repo.descends(snap, tip):
            raise UsageError(f"{snapshot} is not a snapshot of site {site.name}")
        parent = repo.git.rev(APPROVED)
        if parent is not None:
            check = check_baseline(config, repo)
            if not check.trusted:
                raise TrustError("the current approved tip cannot be trusted ("
                                 + "; ".join(p.code for p in check.problems)
                                 + "): investigate with 'gitguard log' before approving")
        before = read_state(repo.git, parent)
        chosen = read_state(repo.git, snap)
        state = _merge(before, chosen, PathSet(tuple(paths))) if paths else chosen
        changes = list(changed_paths(before, state, Policy(PathSet(()), PathSet(()))))
        # The CMS database comes with the whole snapshot; a --path approval keeps the
        # approved one.
        database = database_of(repo.git, parent if paths else snap)
        if parent is not None and not changes and database == database_of(repo.git, parent):
            raise UsageError("nothing to approve: that state is already approved")
        body = _message(message, person.name, person.role, snap, changes, paths)
        env = {"GIT_AUTHOR_NAME": person.name, "GIT_COMMITTER_NAME": person.name,
               "GIT_AUTHOR_EMAIL": person.email or f"{person.key}@gitguard",
               "GIT_COMMITTER_EMAIL": person.email or f"{person.key}@gitguard"}
        new = commit_state(repo, state, [parent] if parent else [], body,
                           sign_with=signing_args(config, repo, signing), env=env,
                           database=database)
        verdict = check_commit(config, repo, new)
        if not verdict.ok or verdict.signer is None or verdict.signer.person != person.key:
            raise TrustError(f"the new approval does not verify ({verdict.reason}); "
                             "approved was not moved")
        move_ref(repo.git, APPROVED, new, parent, f"gitguard approve by {person.name}")
        repo.git.run(["update-ref", "-m", "gitguard approve", APPROVED_SEEN, new])
        repo.record("approve", site.name, started, "ok",
                    f"approved {new[:12]} by {person.name} ({person.role}): {message}",
                    {"commit": new, "signer": person.name, "role": person.role,
                     "snapshot": snap, "paths": paths or [], "changes": len(changes)})
        if site.urls:  # the approval's look, signed by the same approver
            from gitguard.actions.look import baseline_at_approval

            baseline_at_approval(config, site, repo, new,
                                 signing_args(config, repo, signing), env, person.name)
        return new


def _merge(before: TreeState, chosen: TreeState, wanted: PathSet) -> TreeState:
    """The previous approved state with only the wanted paths taken from the snapshot."""
    files = {p: v for p, v in before.files.items() if not wanted.match(p, False)}
    files.update({p: v for p, v in chosen.files.items() if wanted.match(p, False)})
    metas = {p: v for p, v in before.meta.items() if not wanted.match(p, v.kind is Kind.DIR)}
    metas.update({p: v for p, v in chosen.meta.items() if wanted.match(p, v.kind is Kind.DIR)})
    # A new file's folders come along, so the tree stays consistent.
    for path in list(files):
        parts = path.split("/")
        for n in range(1, len(parts)):
            folder = "/".join(parts[:n])
            if folder not in metas and folder in chosen.meta:
                metas[folder] = chosen.meta[folder]
    return TreeState(files, metas) if files or metas else EMPTY


def _message(text: str, name: str, role: str, snapshot: str, changes: list[tuple[str, Change]],
             paths: list[str] | None) -> str:
    lines = [text.strip() or "approved", "", f"Approved-by: {name} ({role})",
             f"Snapshot: {snapshot}"]
    if paths:
        lines.append("Paths: " + " ".join(paths))
    counts = {c: sum(1 for _, ch in changes if ch is c) for c in Change}
    lines.append("Changes: " + ", ".join(f"{n} {c.value}" for c, n in counts.items() if n))
    lines.append("")
    lines += [f"  {change.value:8} {path!r}" if not path.isprintable() else
              f"  {change.value:8} {path}" for path, change in changes[:LISTED]]
    if len(changes) > LISTED:
        lines.append(f"  ... and {len(changes) - LISTED} more")
    return "\n".join(lines) + "\n"
