"""Which paths are excluded and which new files need no approval (glob patterns).

A pattern matches a file's (or link's) own path. It matches a folder, and with it everything
below, only when it is written as a folder: `cache/`, `wp-content/cache/**`, or a path of two
or more parts whose last part has no wildcard (`wp-content/cache`). So `*.log` or `/debug.log`
never hides a folder named `debug.log`, and allow_new never covers a file because of a folder
above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitguard.config import Site

_WILDCARD = re.compile(r"[*?\[]")


def glob_to_regex(pattern: str) -> str:
    """Translate a glob to a regex: '*' and '?' stay within one folder, '**' spans folders.

    A pattern without '/' matches the name in any folder ('*.log'); one with '/' is anchored
    at the docroot ('wp-content/cache/**').
    """
    body = pattern.strip("/") if "/" in pattern.rstrip("/") else pattern.rstrip("/")
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if body[i:] == "/**":
            out.append("(?:/.*)?")  # 'cache/**' is the folder and everything in it
            i += 3
        elif body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = body.find("]", i + 2)
            if end == -1:
                out.append(re.escape(ch))
                i += 1
            else:
                cls = body[i + 1:end].replace("\\", "\\\\")
                out.append("[^" + cls[1:] + "]" if cls.startswith("!") else "[" + cls + "]")
                i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    anchored = "/" in pattern.rstrip("/")
    prefix = "" if anchored else "(?:.*/)?"
    return prefix + "".join(out)


def compile_glob(pattern: str) -> tuple[str | None, str | None]:
    """The regexes a pattern gives for files and links, and for folders (None: it matches
    none); ValueError when the pattern is not a valid glob."""
    body = pattern.rstrip("/")
    if not body.strip("/"):
        raise ValueError(f"{pattern!r} is not a path pattern")
    regex = glob_to_regex(pattern)
    try:
        re.compile(regex)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid glob: {exc.msg}") from None
    files: str | None = regex
    folders: str | None = None
    if body.endswith("/**"):
        below = "(?:/.*)?"  # what 'dir/**' adds to 'dir'
        folders = regex.removesuffix(below)
    elif pattern.endswith("/"):
        files, folders = None, regex
    elif "/" in body.strip("/") and not _WILDCARD.search(body.rsplit("/", 1)[-1]):
        folders = regex
    return files, folders


def _join(regexes: list[str | None]) -> re.Pattern[str] | None:
    wanted = [r for r in regexes if r is not None]
    return re.compile("(?:" + "|".join(wanted) + r")\Z", re.DOTALL) if wanted else None


class PathSet:
    """A set of glob patterns compiled into one regular expression per kind of path."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        compiled = [compile_glob(p) for p in patterns]
        self._files = _join([files for files, _ in compiled])
        self._folders = _join([folders for _, folders in compiled])

    def __bool__(self) -> bool:
        return bool(self.patterns)

    @property
    def key(self) -> str:
        """What a listing filtered by this set depends on: the patterns and their meaning."""
        # v2: name patterns stopped matching folders; a listing kept from v1 must not count
        return "\0".join(("v2", *self.patterns))

    def match(self, path: str, is_dir: bool) -> bool:
        """Whether the path matches: a folder by a folder pattern, anything else by a
        pattern for its own path, and anything below a matching folder."""
        own = self._folders if is_dir else self._files
        if own is not None and own.match(path):
            return True
        if self._folders is None or "/" not in path:
            return False
        parts = path.split("/")
        return any(self._folders.match("/".join(parts[:n])) for n in range(1, len(parts)))

    def names(self, path: str) -> bool:
        """Whether a file's own path matches, never because of a folder above it."""
        return self._files is not None and self._files.match(path) is not None


@dataclass(frozen=True)
class Policy:
    """A site's exclude and allow_new rules."""

    exclude: PathSet
    allow_new: PathSet

    @classmethod
    def for_site(cls, site: Site) -> Policy:
        """The policy configured for a site."""
        return cls(PathSet(site.exclude), PathSet(site.allow_new))

    def excluded(self, path: str, is_dir: bool) -> bool:
        """Never backed up, audited or restored."""
        return self.exclude.match(path, is_dir)

    def allowed_new(self, path: str) -> bool:
        """A new file at this path needs no approval."""
        return self.allow_new.names(path)
