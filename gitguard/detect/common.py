"""What every rule shares: the prepared document, evidence, and the vocabulary of names."""

from __future__ import annotations

import functools
import posixpath
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from gitguard.model import Kind, Reason


class Regex:
    """A regular expression compiled on its first use: importing detection compiles nothing.

    A run that never needs a rule family (a restore, an audit of images) never pays for its
    patterns. After the first use the compiled pattern's own methods replace the ones below,
    so a search costs no more than on a `re.Pattern`.
    """

    def __init__(self, pattern: bytes, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def compiled(self) -> re.Pattern[bytes]:
        """The compiled pattern; its methods take the place of this object's from now on."""
        compiled = re.compile(self.pattern, self.flags)
        # Instance attributes come before the class's methods: no detour on later calls.
        vars(self).update(
            compiled=lambda: compiled,
            search=compiled.search,
            match=compiled.match,
            fullmatch=compiled.fullmatch,
            finditer=compiled.finditer,
            findall=compiled.findall,
            sub=compiled.sub,
        )
        return compiled

    def search(
        self, text: bytes, pos: int = 0, endpos: int = sys.maxsize
    ) -> re.Match[bytes] | None:
        """`re.Pattern.search`."""
        return self.compiled().search(text, pos, endpos)

    def match(self, text: bytes, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[bytes] | None:
        """`re.Pattern.match`."""
        return self.compiled().match(text, pos, endpos)

    def fullmatch(
        self, text: bytes, pos: int = 0, endpos: int = sys.maxsize
    ) -> re.Match[bytes] | None:
        """`re.Pattern.fullmatch`."""
        return self.compiled().fullmatch(text, pos, endpos)

    def finditer(
        self, text: bytes, pos: int = 0, endpos: int = sys.maxsize
    ) -> Iterator[re.Match[bytes]]:
        """`re.Pattern.finditer`."""
        return self.compiled().finditer(text, pos, endpos)

    def findall(self, text: bytes, pos: int = 0, endpos: int = sys.maxsize) -> list[Any]:
        """`re.Pattern.findall`."""
        return self.compiled().findall(text, pos, endpos)

    def sub(
        self, repl: bytes | Callable[[re.Match[bytes]], bytes], text: bytes, count: int = 0
    ) -> bytes:
        """`re.Pattern.sub`."""
        return self.compiled().sub(repl, text, count)


_SCAN_HEAD = 3 << 20  # bytes read from the start of a big file
_SCAN_TAIL = 1 << 20  # and from its end, where appended injections land
_BINARY_PROBE = 8192
_DETAIL_MAX = 80
_MAX_PER_CODE = 5  # a spam page trips hundreds of times; a few examples are evidence enough


@dataclass(frozen=True)
class Side:
    """One side of a change: what the path was (approved) or is (snapshot)."""

    kind: Kind
    mode: int  # permission bits
    data: bytes | None  # file content (None for dirs/symlinks)
    target: str | None  # symlink target (None otherwise)


_CONTINUATION = bytes(range(0x80, 0xC0))
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _utf8(raw: bytes) -> str:
    """Bytes cut out of a file as text, without the halves of characters at either end."""
    raw = raw.lstrip(_CONTINUATION)
    for back in range(1, min(4, len(raw)) + 1):
        byte = raw[-back]
        if byte < 0x80:
            break
        if byte >= 0xC0:
            if back < (2 if byte < 0xE0 else 3 if byte < 0xF0 else 4):
                raw = raw[:-back]
            break
    return raw.decode("utf-8", "replace")


def _detail(raw: bytes | str) -> str:
    """Evidence as one short line of valid text, cut on a character boundary."""
    text = _utf8(raw) if isinstance(raw, bytes) else raw
    text = _CONTROL.sub("?", " ".join(text.split()))
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def _names(words: str) -> frozenset[str]:
    """A set of names written as one space-separated string."""
    return frozenset(words.split())


def _tokens(words: str) -> frozenset[bytes]:
    """A set of lower-case words as bytes, as `_Doc.words` holds them."""
    return frozenset(words.encode().split())


# --- names and paths -----------------------------------------------------------------------

_SCRIPT_EXTS = _names(
    "php php3 php4 php5 php6 php7 php8 phtml pht phar phps cgi pl py sh "
    "asp aspx ashx asmx jsp jspx shtml shtm"
)
_SCRIPT_EXTS_B = frozenset(ext.encode() for ext in _SCRIPT_EXTS)
_PHP_EXTS = _names("php php3 php4 php5 php6 php7 php8 phtml pht phar inc module")
# What a dropped script pretends to be (image.jpg.php, include "x.ico").
_DISGUISE_EXTS = _names("jpg jpeg jpe png gif bmp ico webp svg pdf txt doc docx xls xlsx zip")
_IMAGE_LIKE_EXTS = _names("jpg jpeg jpe png gif bmp ico webp svg pdf txt")
# What a web server runs by a handler for the extension, wherever it sits in the name
# (Apache runs shell.php.jpg as PHP when .php is mapped with AddHandler).
_HANDLER_EXTS = _SCRIPT_EXTS - _names("sh py pl")  # pl: also Polish (help.pl.txt)
_DISGUISE_EXTS_B = frozenset(ext.encode() for ext in _DISGUISE_EXTS) | {b"log", b"css"}
# Pages, templates and scripts: the files that external scripts and links matter in.
_MARKUP_EXTS = _PHP_EXTS | _names(
    "asp aspx jsp jspx shtml shtm html htm xhtml js mjs tpl twig svg vue hbs"
)
# Where a defacer drops a page; short ones are read even with tags between the letters.
_PAGE_EXTS = _names("html htm shtml xhtml txt")
# Served as text, besides pages and scripts: where a defacer leaves a note.
_NOTE_EXTS = _names("txt md xml") | {""}
_UPLOAD_DIRS = _names(
    "uploads upload userfiles user_files files file images image img imgs assets media "
    "gallery galeri foto fotos photos pictures documents dokumen download downloads unduhan "
    "lampiran berkas attachments attachment tmp temp"
)
_CONFIG_NAMES = _names(".htaccess web.config .user.ini php.ini")
_HOME_PAGES = _names(
    "index.html index.htm index.shtml index.php index.asp index.aspx index.jsp "
    "default.html default.htm default.asp default.aspx home.html home.htm"
)
_VERIFY_FILE = re.compile(
    r"google[0-9a-f]{16}\.html|yandex_[0-9a-f]{16}\.html|bingsiteauth\.xml|baidu_verify_\w+\.html"
)


def _ext(name: str) -> str:
    """The last extension of a file name, lower-case, without the dot ('' if none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def runs_as_script(path: str) -> bool:
    """Whether the web server may run the file or read it as its configuration, by name."""
    name = posixpath.basename(path).lower()
    return name in _CONFIG_NAMES or _ext(name) in _SCRIPT_EXTS | _PHP_EXTS


def _is_sitemap(name: str) -> bool:
    """Whether a file name is a sitemap's (sitemap.xml, post-sitemap2.xml)."""
    low = name.lower()
    return "sitemap" in low and low.endswith(".xml")


# --- content: the document and the diff of evidence ----------------------------------------


class _Term(NamedTuple):
    term: str
    strong: bool


class _Hit(NamedTuple):
    """A piece of evidence: `key` is what is compared with the approved content."""

    key: object
    reason: Reason
    anchor: bytes | None = None  # if this occurs anywhere in the old content, it is not new


def _hit(code: str, evidence: bytes | str) -> _Hit:
    """Evidence that is new when the old content does not hold the same reason."""
    reason = Reason(code, _detail(evidence))
    return _Hit(reason, reason)


_WORD_TABLE = bytes(
    c if c in b"abcdefghijklmnopqrstuvwxyz0123456789_" else 0x20 for c in range(256)
)
_WORD_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_")
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyz")
_CALL_BLOCKERS = _WORD_CHARS | frozenset(b"$>:\\")  # ->exec(), ::exec(), $exec(), curl_exec()
_TAG = Regex(rb"<[a-z!/?][^<>]{0,4096}>")
# Tags that style letters within a line: removed without a trace, so "H<b>a</b>cked" reads
# "Hacked"; every other tag ends a line of text.
_INLINE_TAG = Regex(
    rb"</?(?:a|b|i|u|s|em|strong|span|font|small|big|sub|sup|strike|tt|mark|blink)\b[^<>]{0,4096}>"
)
_ENTITY = Regex(rb"&#(x[0-9a-f]{1,6}|[0-9]{1,7});")
_LEET = bytes.maketrans(b"4@310$57", b"aaeiosst")


def _free(text: bytes, pos: int, blockers: frozenset[int]) -> bool:
    """Whether the byte before `pos` is not one of `blockers` (a word or call boundary)."""
    return pos == 0 or text[pos - 1] not in blockers


def _entity(match: re.Match[bytes]) -> bytes:
    """A numeric HTML entity as the UTF-8 bytes it stands for."""
    code = match.group(1)
    try:
        number = int(code[1:], 16) if code.startswith(b"x") else int(code)
        return chr(number).lower().encode("utf-8")
    except (ValueError, OverflowError):
        return b""


class _Doc:
    """One side's content, prepared once for all rules (lower-cased, bounded)."""

    def __init__(self, path: str, data: bytes) -> None:
        self.name = posixpath.basename(path).lower()
        self.ext = _ext(self.name)
        if len(data) > _SCAN_HEAD + _SCAN_TAIL:
            data = data[:_SCAN_HEAD] + b"\n" + data[-_SCAN_TAIL:]
        self.binary = b"\0" in data[:_BINARY_PROBE]
        self.data = data
        self.lower = data.lower()
        self.gambling: list[_Term] | None = None  # found by the spam rules, once
        self.code = data  # what the PHP view reads: the whole file, or the part that changed
        # Variables the rest of the file names, when `code` is only a part (None: the rest
        # may assign any variable, by extract or $$name).
        self.outside: frozenset[bytes] | None = frozenset()

    @functools.cached_property
    def words(self) -> frozenset[bytes]:
        """Every identifier-like word: rules run only when the words they need occur."""
        return frozenset(self.lower.translate(_WORD_TABLE).split())

    def has(self, words: frozenset[bytes]) -> bool:
        """Whether any of `words` occurs."""
        return not self.words.isdisjoint(words)

    @functools.cached_property
    def php(self) -> bool:
        """Whether PHP could run from this content (also a PHP payload inside an image)."""
        if self.binary:
            return b"<?php" in self.lower
        return self.ext in _PHP_EXTS or b"<?php" in self.lower or b"<?=" in self.lower

    @functools.cached_property
    def markup(self) -> bool:
        """Whether this is a page, template or script a browser receives."""
        return not self.binary and (self.ext in _MARKUP_EXTS or self.php)

    @functools.cached_property
    def visible(self) -> bytes:
        """The text with tags removed and entities decoded: what a reader sees."""
        text = _TAG.sub(b"\n", _INLINE_TAG.sub(b"", self.lower)).replace(b"&nbsp;", b" ")
        return _ENTITY.sub(_entity, text) if b"&#" in text else text

    @functools.cached_property
    def leet(self) -> bytes:
        """`visible` with leetspeak digits read as letters (h4ck3d -> hacked)."""
        return self.visible.translate(_LEET)


_Collector = Callable[[_Doc], list[_Hit]]

_NEAR = 300  # bytes between two things that make a rule together: a statement or two
_NEAR_MATCH = 200  # longer than anything the second pattern of such a pair matches


def _near(
    text: bytes, first: Regex, second: Regex, reach: int = _NEAR
) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, what `second` matched) of each `second` within `reach` bytes of `first`.

    Either order counts. Searched from each match of `first` (a literal or a rare word, which
    the regex engine skips ahead to), never as one pattern tried at every byte of the file.
    """
    for found in first.finditer(text):
        at, end = found.start(), found.end()
        window = second.finditer(text, max(0, at - reach - _NEAR_MATCH), at + 1)
        before = [m for m in window if at - reach <= m.end() <= at]
        if before:
            yield before[0].start(), end, before[0].group()
        after = second.search(text, end, end + reach + _NEAR_MATCH)
        if after is not None and after.start() <= end + reach:
            yield at, after.end(), after.group()


def _evidence(code: bytes) -> bytes:
    """The first line of a matched call: evidence that stays the same when its file is edited."""
    return code[:_DETAIL_MAX].split(b"\n", 1)[0]


_INDENT = Regex(rb"\s*")


def _commented(text: bytes, pos: int) -> bool:
    """Whether `pos` sits on a comment line (commented-out code does not run)."""
    # Read in place, not copied: a one-line file of a megabyte has thousands of matches.
    line = _INDENT.match(text, text.rfind(b"\n", 0, pos) + 1, pos)
    start = line.end() if line else pos
    return (
        text.startswith((b"//", b"#", b"*", b"/*"), start, pos)
        and text.find(b"*/", start, pos) < 0
        and text.find(b"?>", start, pos) < 0
    )


_HOST = Regex(rb"(?:[a-z][a-z0-9+.-]*:)?//([^/:?#\s\"'\\]+)")


def _host_hit(code: str, url: bytes) -> _Hit:
    """Evidence keyed by host: a URL on a host the old content already names is not new."""
    match = _HOST.match(url)
    host = match.group(1).rstrip(b".") if match else url
    return _Hit((code, host), Reason(code, _detail(url)), host)
