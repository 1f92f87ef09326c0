"""The restore plan: what to write, create, remove and chmod so the server equals a tree."""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from gitguard.model import Change, Finding, Kind, Severity
from gitguard.policy import PathSet, Policy
from gitguard.store.tree import TreeState, changed_paths


class Action(StrEnum):
    """One kind of step on the server."""

    REMOVE = "remove"  # a file, link, FIFO, socket, device, or a folder with all in it
    MKDIR = "mkdir"
    WRITE = "write"  # a regular file: temporary name in the same folder, then rename
    LINK = "link"  # a symlink: temporary name, then rename
    CHMOD = "chmod"  # mode (and owner where the account may) of an existing path


@dataclass(frozen=True)
class Step:
    """One operation of a restore."""

    action: Action
    path: str
    mode: int = 0
    uid: int = -1
    gid: int = -1
    oid: str | None = None  # the approved blob (content or link target)
    before: str | None = None  # the evidence blob, for the repair report


@dataclass(frozen=True)
class RowStep:
    """One row of the CMS database a restore puts back (its approved values) or deletes
    (a flagged new row): values in column order, binary ones marked."""

    action: str  # "put" | "delete"
    table: str
    key: str
    title: str | None
    columns: tuple[str, ...]  # "put": every column; "delete": the key columns
    values: tuple[bytes | None, ...]
    binary: tuple[bool, ...]


@dataclass(frozen=True)
class RestorePlan:
    """Every step, in the order that keeps each one safe: folders the attacker locked
    opened again, removals deepest first, then folders shallowest first, then files and
    links, then modes deepest first."""

    steps: tuple[Step, ...]
    # New files too big to back up: never removed (no copy of them would be left), so the
    # restore's check still finds them different.
    left: tuple[str, ...] = ()
    rows: tuple[RowStep, ...] = ()  # the CMS database's flagged rows (gitguard.database)

    @cached_property
    def paths(self) -> list[str]:
        """The paths the plan touches, once each (a restore asks four times)."""
        return sorted({s.path for s in self.steps})

    @cached_property
    def checked(self) -> list[str]:
        """The paths a restore looks at again afterwards: those it touched and those it left."""
        return sorted({*self.paths, *self.left})


_OWNER_WX = stat.S_IWUSR | stat.S_IXUSR


def _depth(path: str) -> int:
    return path.count("/")


def make_plan(target: TreeState, current: TreeState, policy: Policy,
              graded: Iterable[Finding], only: PathSet | None = None) -> RestorePlan:
    """The steps that make `current` (the evidence snapshot) equal `target` on every path
    audit flags; allowed new files, new files too big to back up, the folders that hold
    them, and excluded paths stay."""
    allowed = {f.path for f in graded if f.severity is Severity.INFO}
    left = {p for p, m in current.meta.items()
            if m.kind is Kind.FILE and p not in current.files and target.kind(p) is None
            and p not in allowed and not policy.excluded(p, False)
            and (not only or only.match(p, False))}
    kept = allowed | left
    kept_dirs = {"/".join(p.split("/")[:n]) for p in kept for n in range(1, p.count("/") + 1)}
    opens: list[Step] = []
    removes: list[Step] = []
    mkdirs: list[Step] = []
    writes: list[Step] = []
    chmods: list[Step] = []
    for path, change in changed_paths(target, current, policy, folders=True):
        if path in kept or (only and not only.match(
                path, Kind.DIR in (target.kind(path), current.kind(path)))):
            continue
        old = current.files.get(path)
        before = old[1] if old else None
        want = target.meta.get(path)
        want_kind = target.kind(path)
        if change in (Change.ADDED, Change.TYPE) and path not in kept_dirs:
            removes.append(Step(Action.REMOVE, path, before=before))
        if change is Change.ADDED:
            continue
        assert want_kind is not None
        mode, uid, gid = (want.mode, want.uid, want.gid) if want else (0o644, -1, -1)
        entry = target.files.get(path)
        if change is Change.MODE:
            # A folder chmod 555'd to resist cleanup gets its mode back before anything is
            # written or removed in it; a folder approved read-only is closed at the end.
            unlocks = want_kind is Kind.DIR and mode & _OWNER_WX == _OWNER_WX
            (opens if unlocks else chmods).append(Step(Action.CHMOD, path, mode, uid, gid))
        elif want_kind is Kind.DIR:
            if change in (Change.DELETED, Change.TYPE):
                mkdirs.append(Step(Action.MKDIR, path, mode, uid, gid))
                chmods.append(Step(Action.CHMOD, path, mode, uid, gid))
        elif entry is not None:
            action = Action.LINK if want_kind is Kind.SYMLINK else Action.WRITE
            writes.append(Step(action, path, mode, uid, gid, oid=entry[1], before=before))
    # A folder the plan removes takes everything below it along.
    gone = {s.path for s in removes}
    removes = [s for s in removes if not _below_any(s.path, gone)]
    removes.sort(key=lambda s: -_depth(s.path))
    mkdirs.sort(key=lambda s: _depth(s.path))
    chmods.sort(key=lambda s: -_depth(s.path))
    return RestorePlan(tuple(opens + removes + mkdirs + writes + chmods), tuple(sorted(left)))


def _below_any(path: str, folders: set[str]) -> bool:
    parts = path.split("/")
    return any("/".join(parts[:n]) in folders for n in range(1, len(parts)))
