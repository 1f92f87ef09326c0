"""What every transport offers, and the checks they share."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gitguard.errors import ScanError
from gitguard.model import Entry, printable
from gitguard.policy import PathSet

if TYPE_CHECKING:
    from gitguard.plan import Step
    from gitguard.store.objects import RepoBlobs

CHUNK = 1 << 20


@dataclass
class Content:
    """A file's bytes as read from the server: exactly `size` bytes in chunks."""

    path: str
    size: int
    chunks: Iterable[bytes]


@dataclass(frozen=True)
class Scan:
    """What a scan saw: every path, or (`removed` not None) only the paths whose listing
    record differs from the one it was compared with, new ones included."""

    entries: list[Entry]
    removed: tuple[str, ...] | None = None  # gone since the earlier listing (a delta)
    listing: bytes | None = None  # the raw listing, to compare the next scan with

    @property
    def unchanged(self) -> bool:
        """A delta with nothing in it: the same tree, stat for stat."""
        return self.removed is not None and not self.removed and not self.entries


class Remote(Protocol):
    """A site's docroot, wherever it lives."""

    description: str

    @property
    def sees_ctime(self) -> bool:
        """Whether a scan shows ctime (SFTP does not)."""

    def start_scan(self) -> None:
        """Start listing the tree for the next scan to collect, where the transport can list
        while gitguard works on (a restore checks the approval meanwhile)."""

    def scan(self, exclude: PathSet, since: bytes | None = None) -> Scan:
        """Every path below the docroot (lstat, never following links), minus exclusions;
        where the transport has a raw listing, only what differs from `since` (a listing
        an earlier scan returned, with the same exclusions)."""

    def read(self, paths: Sequence[str]) -> Iterator[Content]:
        """The contents of these regular files, in any order; ScanError names the failures
        after everything readable was yielded."""

    def look(self, paths: Sequence[str], exclude: PathSet) -> list[Entry] | None:
        """These paths and every folder above them, as a scan would list them now (the ones
        that exist); None when only a full scan can tell (the transport cannot look at
        single paths, or a folder on the way is no longer a folder)."""

    def hashes(self, paths: Sequence[str]) -> dict[str, str]:
        """Git blob ids computed where the files are, when that is cheaper than reading them
        (empty when the transport cannot)."""

    def apply(self, steps: Sequence[Step], blobs: RepoBlobs) -> list[Failure]:
        """Carry out a restore plan, each file atomically, never through a symlink; return
        the steps that failed (the others are done)."""

    def close(self) -> None:
        """Release the connection."""


@dataclass(frozen=True)
class Failure:
    """A restore step the server refused."""

    path: str
    why: str


def temp_name() -> str:
    """A temporary file name for an atomic replace in the same folder."""
    return f".gitguard-{secrets.token_hex(6)}.tmp"


def skipped(path: str, exclude: PathSet, is_dir: bool) -> bool:
    """Paths a scan leaves out: the excluded ones. Everything else is listed, `.git` folders
    and gitguard's reserved names too (the store keeps them under escaped names)."""
    return exclude.match(path, is_dir)


class FailureList:
    """Files that could not be read, named together at the end of a read."""

    def __init__(self) -> None:
        self.failures: list[tuple[str, str]] = []

    def add(self, path: str, why: str) -> None:
        self.failures.append((path, why))

    def raise_if_any(self) -> None:
        if not self.failures:
            return
        shown = "; ".join(f"{printable(p)}: {why}" for p, why in self.failures[:10])
        more = f" (and {len(self.failures) - 10} more)" if len(self.failures) > 10 else ""
        raise ScanError(f"{len(self.failures)} file(s) could not be read, nothing was "
                        f"committed: {shown}{more}")


class UnsafePath(Exception):
    """A folder on the way to a path is a symlink or not a folder: never go through it."""


def why(exc: BaseException) -> str:
    """The short reason of an OS or safety error, for a restore's failure list."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)
