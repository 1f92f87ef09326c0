"""Which paths are excluded and which new files need no approval (glob patterns)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitguard.config import Site


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


class PathSet:
    """A set of glob patterns compiled into one regular expression."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        self._regex = (re.compile("(?:" + "|".join(glob_to_regex(p) for p in patterns) + r")\Z",
                                  re.DOTALL) if patterns else None)

    def __bool__(self) -> bool:
        return self._regex is not None

    def match(self, path: str) -> bool:
        """Whether the path, or a folder above it, matches one of the patterns."""
        if self._regex is None:
            return False
        if self._regex.match(path):
            return True
        # 'wp-content/cache' excludes what lies below it too.
        parts = path.split("/")
        return any(self._regex.match("/".join(parts[:n])) for n in range(1, len(parts)))


@dataclass(frozen=True)
class Policy:
    """A site's exclude and allow_new rules."""

    exclude: PathSet
    allow_new: PathSet

    @classmethod
    def for_site(cls, site: Site) -> Policy:
        """The policy configured for a site."""
        return cls(PathSet(site.exclude), PathSet(site.allow_new))

    def excluded(self, path: str) -> bool:
        """Never backed up, audited or restored."""
        return self.exclude.match(path)

    def allowed_new(self, path: str) -> bool:
        """A new file here needs no approval."""
        return self.allow_new.match(path)
