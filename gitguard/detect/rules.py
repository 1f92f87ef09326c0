"""The registry of content rules and the entry point: which change is critical, and why."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

from gitguard.detect.common import (
    _CONFIG_NAMES,
    _MAX_PER_CODE,
    _NOTE_EXTS,
    Regex,
    Side,
    _Collector,
    _detail,
    _Doc,
    _is_sitemap,
)
from gitguard.detect.paths import _path_reasons, _symlink_reasons
from gitguard.detect.server_config import _server_config
from gitguard.detect.spam import (
    _defacement,
    _doorway,
    _external_scripts,
    _gambling,
    _hidden_links,
    _js_obfuscation,
    _php_cloaking,
    _redirects,
    _remote_fetch,
    _sitemap_reasons,
    _verification_meta,
)
from gitguard.detect.webshells import (
    _UPLOAD_GATE,
    _UPLOAD_HANDLER,
    DEEP_CODES,
    _deep_worth,
    _disguised_include,
    _foreign_code,
    _php_code,
    _php_deep,
    _php_obfuscation,
    _polyglot,
    _webshell_markers,
)
from gitguard.model import Change, Kind, Reason


def critical_reasons(path: str, change: Change, old: Side | None, new: Side | None) -> list[Reason]:
    """Why this change is critical; an empty list means it is only a warning."""
    appeared = (
        new is not None
        and new.kind is Kind.FILE
        and change is not Change.DELETED
        and (old is None or old.kind is not Kind.FILE)
    )
    reasons = _path_reasons(path, change, appeared)
    if new is not None and change is not Change.DELETED:
        if new.kind is Kind.SYMLINK and new.target is not None:
            unchanged = old is not None and old.kind is Kind.SYMLINK and old.target == new.target
            if not unchanged:
                reasons += _symlink_reasons(path, new.target)
        elif new.kind is Kind.FILE and new.data is not None and change is not Change.MODE:
            before = old.data if old is not None and old.kind is Kind.FILE else None
            if before != new.data:
                reasons += _content_reasons(path, new.data, before, appeared, bool(reasons))
    return _tidy(reasons)


def _tidy(reasons: Iterable[Reason]) -> list[Reason]:
    """Reasons without repeats, at most a few per code, in the order found."""
    out: list[Reason] = []
    per_code: Counter[str] = Counter()
    for reason in dict.fromkeys(reasons):
        if per_code[reason.code] < _MAX_PER_CODE:
            per_code[reason.code] += 1
            out.append(reason)
    return out


def _fresh(collect: _Collector, new: _Doc, old: _Doc | None) -> list[Reason]:
    """The collector's evidence in `new` that `old` did not already have."""
    hits = collect(new)
    if not hits:
        return []
    seen = Counter(hit.key for hit in collect(old)) if old is not None else Counter[object]()
    out = []
    for hit in hits:
        if seen[hit.key] > 0:
            seen[hit.key] -= 1
        elif not (old is not None and hit.anchor is not None and hit.anchor in old.lower):
            out.append(hit.reason)
    return out


class Rule(NamedTuple):
    """A content rule: which files it reads, what it collects, the reason codes it gives."""

    collect: _Collector
    applies: Callable[[_Doc], bool]
    codes: tuple[str, ...]
    decides: bool = False  # evidence it finds ends the search: the rules after it are not read


def _php(doc: _Doc) -> bool:
    return doc.php


def _text(doc: _Doc) -> bool:
    return not doc.binary


def _note(doc: _Doc) -> bool:
    return not doc.binary and (doc.markup or doc.ext in _NOTE_EXTS)


def _not_sitemap(doc: _Doc) -> bool:
    return not doc.binary and not _is_sitemap(doc.name)


def _markup(doc: _Doc) -> bool:
    return doc.markup


def _config(doc: _Doc) -> bool:
    return not doc.binary and doc.name in _CONFIG_NAMES


# The registry: every content rule, in the order its evidence is listed. Webshell rules come
# first, cheapest and most telling first, and the first that finds new evidence decides: a
# file that is a webshell is named by its family or its code, and the rest is not read (a
# compromised site changes thousands of files at once). Spam and defacement rules all run,
# since an injected page is described by all of them (gambling terms, hidden links, scripts).
# Rules that need no content (paths, symlinks) and the two that compare whole sides
# (sitemaps, upload handlers) are listed by their codes in OTHER_CODES.
RULES = (
    Rule(_webshell_markers, _php, ("webshell_marker",), decides=True),
    Rule(_polyglot, _php, ("image_polyglot",), decides=True),
    Rule(_foreign_code, _text, ("code_from_request", "shell_from_request", "file_dropper"),
         decides=True),
    Rule(_disguised_include, _php, ("include_disguised",), decides=True),
    Rule(_php_code, _php, ("code_from_request", "code_from_decoded", "shell_from_request",
                           "preg_replace_eval"), decides=True),
    Rule(_php_obfuscation, _php, ("obfuscated_code",), decides=True),
    Rule(_php_cloaking, _php, ("php_cloaking",)),
    Rule(_remote_fetch, _php, ("remote_fetch",)),
    Rule(_defacement, _note, ("defacement_text",)),
    Rule(_gambling, _not_sitemap, ("gambling_spam",)),
    Rule(_doorway, _markup, ("doorway_page",)),
    Rule(_hidden_links, _markup, ("hidden_links",)),
    Rule(_external_scripts, _markup, ("external_script",)),
    Rule(_redirects, _markup, ("redirect_injected",)),
    Rule(_verification_meta, _markup, ("search_verification",)),
    Rule(_js_obfuscation, _markup, ("code_from_decoded", "obfuscated_code")),
    Rule(_server_config, _config, ("config_redirect", "config_cloaking", "config_prepend",
                                   "config_handler")),
)  # fmt: skip
# Read only when the rules above found nothing in a PHP file: it costs more than all of them.
DEEP_RULE = Rule(_php_deep, _php, DEEP_CODES)
OTHER_CODES = (
    "server_config", "home_page", "new_script", "new_script_upload", "double_extension",
    "sitemap_new", "search_verification", "symlink_outside", "symlink_sensitive",
    "sitemap_gambling", "sitemap_rewritten", "upload_handler",
)  # fmt: skip


def reason_codes() -> frozenset[str]:
    """Every reason code detection can give."""
    codes = {code for rule in (*RULES, DEEP_RULE) for code in rule.codes}
    return frozenset(codes | set(OTHER_CODES))


def _content_reasons(
    path: str, data: bytes, before: bytes | None, appeared: bool, critical: bool = False
) -> list[Reason]:
    """Reasons found in a file's content that its approved content did not give."""
    new = _Doc(path, data)
    old = _Doc(path, before) if before is not None else None
    out: list[Reason] = []
    if _is_sitemap(new.name) and not new.binary:
        out += _sitemap_reasons(new, old)
    if appeared and new.php and new.has(_UPLOAD_GATE):
        match = _UPLOAD_HANDLER.search(new.lower)
        if match:
            out.append(Reason("upload_handler", _detail(match.group())))
    for rule in RULES:
        if rule.applies(new):
            found = _fresh(rule.collect, new, old)
            out += found
            if found and rule.decides:
                return out
    # The PHP view, the costliest rule, runs only when nothing has made the change critical
    # yet (`critical`: the path alone did), and on a modified file only over what changed.
    if not (out or critical) and DEEP_RULE.applies(new):
        if old is not None:
            _changed_parts(new, old)
        if _deep_worth(new):
            out += _fresh(DEEP_RULE.collect, new, old)
    return out


_OPEN_TAG = Regex(rb"<\?(?:php|=)?", re.IGNORECASE)


def _changed_parts(new: _Doc, old: _Doc) -> None:
    """Point both sides' PHP view at the lines where they differ (an injection, an edit)."""
    a, b = new.data, old.data
    size = min(len(a), len(b))
    low, high = 0, size
    while low < high:  # the longest common prefix, compared in big slices
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    start = a.rfind(b"\n", 0, low) + 1
    tail_low, tail_high = 0, size - start
    while tail_low < tail_high:
        middle = (tail_low + tail_high + 1) // 2
        if a[len(a) - middle :] == b[len(b) - middle :]:
            tail_low = middle
        else:
            tail_high = middle - 1
    end_new = a.find(b"\n", len(a) - tail_low)
    end_old = b.find(b"\n", len(b) - tail_low)
    # Inside PHP where the change starts: read the part as PHP code, not as inline HTML.
    opened = [m.end() for m in _OPEN_TAG.finditer(a, max(0, start - (1 << 20)), start)]
    in_php = bool(opened) and a.rfind(b"?>", 0, start) < opened[-1]
    lead = b"<?php " if in_php else b""
    stop_new = len(a) if end_new < 0 else end_new
    stop_old = len(b) if end_old < 0 else end_old
    new.code, old.code = lead + a[start:stop_new], lead + b[start:stop_old]
    # Unassigned variables are read as register_globals input only in a PHP block of its own
    # (appended, injected) or when the change is all but the whole file: a change inside
    # code reads what the code around it assigned, or what an including file did.
    # A change that starts by closing the PHP around it (`?>`, then a block of its own) is
    # not inside that code.
    in_code = in_php and not a[start:stop_new].lstrip().startswith(b"?>")
    new.outside = _variables(a[:start] + b"\n" + a[stop_new:], in_code)
    old.outside = _variables(b[:start] + b"\n" + b[stop_old:], in_code)


_SMALL_REST = 256  # bytes left unchanged around a change that replaced the whole file
_VARIABLE = Regex(rb"\$([A-Za-z_\x80-\xff][\w\x80-\xff]*)")
# What lets code assign variables it does not name.
_ANY_VARIABLE = Regex(
    rb"\$\s*[${]|\$globals\b|\b(?:extract|parse_str|mb_parse_str|import_request_variables)\b"
)


def _variables(rest: bytes, in_code: bool) -> frozenset[bytes] | None:
    """The variables the rest of a file names (lower-case), or None when it may assign any."""
    rest = rest.lower()
    if (in_code and len(rest.strip()) > _SMALL_REST) or _ANY_VARIABLE.search(rest):
        return None
    return frozenset(_VARIABLE.findall(rest))
