"""Looks in git: the baseline taken at approval under refs/gitguard/looks/<approved commit>.

A baseline is a commit signed by the approver who approved (or re-looked) the state: its
tree holds look.json (what each view received), pages/<key>.html and shots/<key>.png; its
message names the approved commit. Auditors find it with plain git:

    git log refs/gitguard/looks/<approved>      git show <that>:look.json

Re-taking a baseline adds a commit on top, so an earlier one stays in history.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from gitguard.errors import StoreError
from gitguard.look.model import Capture, Certificate, Look, SitemapEntry
from gitguard.store.objects import BlobReader, commit, ls_tree, move_ref, write_tree
from gitguard.store.repo import SiteRepo

LOOKS = "refs/gitguard/looks"
LOOK_FILE = "look.json"
VERSION = 1
MAX_FILES = 2000  # a baseline of more pictures and pages than this was not written by gitguard


def ref_for(approved: str) -> str:
    """The ref of the baseline of an approved commit."""
    return f"{LOOKS}/{approved}"


def to_files(look: Look) -> dict[str, bytes]:
    """A look as the files of a tree: look.json, pages and pictures."""
    files: dict[str, bytes] = {}
    captures = []
    for cap in look.captures:
        captures.append({"url": cap.url, "view": cap.view, "final_url": cap.final_url,
                         "redirects": list(cap.redirects), "status": cap.status,
                         "title": cap.title, "text": cap.text, "links": list(cap.links),
                         "origins": list(cap.origins), "error": cap.error})
        if cap.html:
            files[f"pages/{cap.key}.html"] = cap.html
        if cap.screenshot:
            files[f"shots/{cap.key}.png"] = cap.screenshot
    files[LOOK_FILE] = json.dumps({
        "version": VERSION, "taken": look.taken.isoformat(), "captures": captures,
        "certificates": [{"host": c.host, "valid": c.valid, "days_left": c.days_left,
                          "problem": c.problem} for c in look.certificates],
        "sitemap": [[e.url, e.title] for e in look.sitemap], "robots": list(look.robots),
        "extra_pages": list(look.extra_pages)}, indent=1, ensure_ascii=False).encode()
    return files


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of strings")
    return tuple(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def from_files(files: dict[str, bytes]) -> Look:
    """The look a tree holds; ValueError when it is not one gitguard wrote."""
    data = json.loads(files[LOOK_FILE])
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError("unknown look.json version")
    captures = []
    for raw in data["captures"]:
        status = raw.get("status")
        if status is not None and not isinstance(status, int):
            raise ValueError("bad status")
        error = raw.get("error")
        cap = Capture(url=_str(raw["url"]), view=_str(raw["view"]),
                      final_url=_str(raw["final_url"]), redirects=_strs(raw["redirects"]),
                      status=status, title=_str(raw["title"]), text=_str(raw["text"]),
                      links=_strs(raw["links"]), origins=_strs(raw["origins"]),
                      error=None if error is None else _str(error))
        captures.append(replace(cap, html=files.get(f"pages/{cap.key}.html", b""),
                                screenshot=files.get(f"shots/{cap.key}.png")))
    certificates = tuple(
        Certificate(_str(c["host"]), bool(c["valid"]),
                    c["days_left"] if isinstance(c["days_left"], int) else None,
                    _str(c["problem"])) for c in data["certificates"])
    sitemap = tuple(SitemapEntry(_str(u), _str(t)) for u, t in data["sitemap"])
    return Look(taken=datetime.fromisoformat(_str(data["taken"])), captures=tuple(captures),
                certificates=certificates, sitemap=sitemap, robots=_strs(data["robots"]),
                extra_pages=_strs(data["extra_pages"]))


def save(repo: SiteRepo, approved: str, look: Look, message: str,
         sign_with: list[str], env: dict[str, str] | None = None) -> str:
    """Commit the look as the baseline of `approved` (signed with `sign_with`); its id."""
    entries = []
    for name, data in sorted(to_files(look).items()):
        oid = repo.git.text(["hash-object", "-w", "--stdin"], input=data)
        entries.append(("100644", oid, name))
    tree = write_tree(repo.git, entries, repo.tmp("look-index"))
    ref = ref_for(approved)
    parent = repo.git.rev(ref)
    body = f"{message.strip()}\n\nApproved: {approved}\nTaken: {look.taken.isoformat()}\n"
    new = commit(repo.git, tree, [parent] if parent else [], body, sign_with=sign_with, env=env)
    move_ref(repo.git, ref, new, parent, "gitguard look --baseline")
    return new


def load(repo: SiteRepo, baseline_commit: str) -> Look:
    """The look a baseline commit holds (every blob checked against its id)."""
    rows = list(ls_tree(repo.git, baseline_commit))
    if len(rows) > MAX_FILES:
        raise StoreError(f"baseline look {baseline_commit[:12]} holds {len(rows)} files")
    files: dict[str, bytes] = {}
    with BlobReader(repo.git) as reader:
        for _mode, oid, path in rows:
            files[path] = reader.read(oid)
    try:
        return from_files(files)
    except (KeyError, ValueError, TypeError) as exc:
        raise StoreError(f"baseline look {baseline_commit[:12]} is not readable: "
                         f"{exc}") from None


def approved_in(repo: SiteRepo, baseline_commit: str) -> str | None:
    """The approved commit a baseline's (signed) message names."""
    message = repo.git.text(["log", "-1", "--format=%B", baseline_commit])
    for line in message.splitlines():
        if line.startswith("Approved: "):
            return line.removeprefix("Approved: ").strip()
    return None
