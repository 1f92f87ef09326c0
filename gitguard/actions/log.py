"""`gitguard log`: the site's history: snapshots, approvals with their signers, runs."""

from __future__ import annotations

from typing import Any

from gitguard.config import Config, Site
from gitguard.store.repo import APPROVED, SNAPSHOTS, SiteRepo
from gitguard.trust import check_commit


def _commits(repo: SiteRepo, ref: str) -> list[dict[str, str]]:
    tip = repo.git.rev(ref)
    if tip is None:
        return []
    return [{"commit": c.commit, "date": c.date.isoformat(), "subject": c.subject}
            for c in repo.history.commits(tip)]


def history(config: Config, site: Site) -> dict[str, Any]:
    """Everything an auditor asks first, as one JSON-ready object."""
    repo = SiteRepo.open(config.repo_path(site))
    approvals = []
    for row in _commits(repo, APPROVED):
        verdict = check_commit(config, repo, row["commit"])
        approvals.append({**row, "verified": verdict.ok, "reason": verdict.reason,
                          "signer": verdict.signer.name if verdict.signer else None,
                          "role": verdict.signer.role if verdict.signer else None})
    runs = [{"action": r.action, "started": r.started.isoformat(), "status": r.status,
             "summary": r.summary} for r in repo.journal_records()]
    anchor = repo.approved_anchor()
    return {"site": site.name, "snapshots": _commits(repo, SNAPSHOTS), "approvals": approvals,
            "recorded": {"approved": anchor[0], "approvals": anchor[1]} if anchor else None,
            "runs": runs}


def render(data: dict[str, Any]) -> str:
    """The history as text for a terminal."""
    lines = [f"site {data['site']}", "", "snapshots:"]
    lines += [f"  {s['commit'][:12]}  {s['date']}  {s['subject']}" for s in data["snapshots"]]
    lines += ["", "approvals:"]
    for a in data["approvals"]:
        who = f"{a['signer']} ({a['role']})" if a["verified"] else f"NOT VERIFIED: {a['reason']}"
        lines.append(f"  {a['commit'][:12]}  {a['date']}  {who}  {a['subject']}")
    if data["recorded"]:
        lines.append(f"  (the journal records approval {data['recorded']['approvals']}, "
                     f"{data['recorded']['approved'][:12]}, as the newest seen)")
    lines += ["", "runs:"]
    lines += [f"  {r['started']}  {r['action']:8} {r['status']:8} {r['summary']}"
              for r in data["runs"]]
    return "\n".join(lines)
