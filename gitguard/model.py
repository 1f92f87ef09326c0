"""Domain objects shared by the pieces: frozen dataclasses, no behaviour beyond formatting."""

from __future__ import annotations

import stat
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

# Paths are relative to the docroot, '/'-separated, without a leading './'. They are str
# decoded from the server's bytes with UTF-8 and 'surrogateescape', so any byte string
# round-trips exactly; `path_bytes` gives the bytes back.
ENCODING = "utf-8"
ERRORS = "surrogateescape"


def path_bytes(path: str) -> bytes:
    """The raw bytes of a path as the server spells it."""
    return path.encode(ENCODING, ERRORS)


def path_str(raw: bytes) -> str:
    """A server path's bytes as gitguard's str form."""
    return raw.decode(ENCODING, ERRORS)


def printable(path: str) -> str:
    """A path made safe for one line of human output (control bytes and bad UTF-8 escaped,
    and the characters that hide or reorder text: bidi overrides, zero-width, C1)."""
    if path.isprintable():  # none of those (Python counts them all unprintable): as it is
        return path
    out = []
    for ch in path:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code > 0x7F and (code <= 0x9F or unicodedata.category(ch) in ("Cf", "Zl", "Zp")):
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


class Kind(StrEnum):
    """What a path is on the server."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    SPECIAL = "special"  # a FIFO, socket or device: git cannot hold it, the metadata can


KIND_BY_VALUE = {kind.value: kind for kind in Kind}  # a dict lookup; Kind(value) is slow


class Entry(NamedTuple):
    """One path of a site as a scan sees it (never following symlinks).

    Immutable like the other domain objects, but a NamedTuple: a scan builds one per path,
    30,000 a run, and a frozen dataclass's __init__ would double the cost of the listing.
    """

    path: str
    kind: Kind
    mode: int  # permission bits, 0o7777 at most
    uid: int
    gid: int
    size: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0  # 0 where the transport cannot see it (SFTP)
    target: str | None = None  # symlink target, as stored

    @property
    def git_mode(self) -> str:
        """The mode git records for this entry's blob."""
        if self.kind is Kind.SYMLINK:
            return "120000"
        return "100755" if self.mode & stat.S_IXUSR else "100644"


class Severity(StrEnum):
    """How bad a finding is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Change(StrEnum):
    """What happened to a path between the approved tree and a snapshot."""

    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    MODE = "mode"
    TYPE = "type"


class Status(StrEnum):
    """A site's overall state, as monitoring systems read it."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reason:
    """Why a finding has its severity: a code from the report text table, and a detail."""

    code: str
    detail: str = ""


@dataclass(frozen=True)
class Finding:
    """One changed path and how bad the change is."""

    path: str
    change: Change
    severity: Severity
    reasons: tuple[Reason, ...] = ()
    old_blob: str | None = None  # git object ids, None where absent
    new_blob: str | None = None
    old_mode: str | None = None  # e.g. "0644 33:33"
    new_mode: str | None = None
    diff: str | None = None  # unified diff for text files, truncated
    size: int | None = None  # new size, for binaries
    table: str | None = None  # a CMS database row: its table, key and title (gitguard.database)
    key: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Signer:
    """An approver whose key verified a commit."""

    person: str  # the key under [people]
    name: str
    role: str
    fingerprint: str


@dataclass(frozen=True)
class Baseline:
    """The verified approved commit an audit compares against."""

    commit: str
    signer: Signer
    date: datetime
    message: str


@dataclass(frozen=True)
class Snapshot:
    """A backup commit."""

    commit: str
    date: datetime
    message: str


@dataclass(frozen=True)
class Picture:
    """A picture kept with a report: its file name beside the report, and the PNG."""

    name: str
    png: bytes = field(repr=False)


@dataclass(frozen=True)
class LookShot:
    """One page in one view of the live look, as the reports show it."""

    url: str
    view: str
    ratio: float | None  # share of the pixels that changed since the approval's look
    approved: Picture | None
    current: Picture | None
    diff: Picture | None


@dataclass(frozen=True)
class AuditResult:
    """The state and damage of one site: what the audit and state report show."""

    site: str
    status: Status
    snapshot: Snapshot | None
    baseline: Baseline | None
    findings: tuple[Finding, ...] = ()
    problems: tuple[Reason, ...] = ()  # site-wide: no baseline, approved tip fails to verify
    live: tuple[Reason, ...] = ()  # what the live look at the URLs found
    shots: tuple[LookShot, ...] = ()  # the live look's pictures, where kept


@dataclass(frozen=True)
class RestoredPath:
    """One path a restore wrote or removed."""

    path: str
    action: str  # "write" | "remove" | "mode" | "link"
    before: str | None  # blob id before (evidence), None if absent
    after: str | None  # blob id after, None if removed


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did and whether verification proved it."""

    site: str
    approved: str
    evidence: str | None  # snapshot commit taken before anything was touched
    incident: AuditResult
    paths: tuple[RestoredPath, ...]
    verified: bool
    still_different: tuple[str, ...]
    started: datetime
    finished: datetime
    look_before: tuple[LookShot, ...] = ()  # the live look's pictures before the restore
    look_after: tuple[LookShot, ...] = ()  # and after it
    look_problems: tuple[Reason, ...] = ()  # what the look after it still found


@dataclass(frozen=True)
class RunRecord:
    """One entry of the journal: every run, also the ones that found nothing."""

    action: str  # mirror | audit | check | approve | restore | verify | report | send
    site: str
    started: datetime
    finished: datetime
    status: str  # ok | warning | critical | unknown | error
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
