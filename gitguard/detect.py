"""Decide which changes are critical: defacement, gambling spam, webshells, cloaking, risky paths.

Content rules look for evidence that is new: each rule collects its matches in the approved
content and in the snapshot, and only what the snapshot added counts, so an approved file that
already holds a phrase (WordPress core mentions `eval` and `base64_decode`) does not trip again
on an unrelated edit. Path rules (a new script, a changed `.htaccess`, the home page) need no
content. Work per file is bounded: text rules skip binary content, only the first few MiB plus
the tail of a big file are read, and each rule runs only when the words it needs occur.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from gitguard.model import Change, Kind, Reason

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
                reasons += _content_reasons(path, new.data, before, appeared)
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


def _detail(raw: bytes | str) -> str:
    """Evidence as one short line."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = " ".join(text.split())
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


def _path_reasons(path: str, change: Change, appeared: bool) -> list[Reason]:
    """Reasons that follow from the path and the kind of change alone."""
    name = posixpath.basename(path)
    low = name.lower()
    out: list[Reason] = []
    if low in _CONFIG_NAMES:
        out.append(Reason("server_config", name))
    if "/" not in path and low in _HOME_PAGES and change is not Change.MODE:
        out.append(Reason("home_page", name))
    if not appeared:
        return out
    ext = _ext(name)
    if ext in _SCRIPT_EXTS:
        dirs = {part.lower() for part in path.split("/")[:-1]}
        code = "new_script_upload" if dirs & _UPLOAD_DIRS else "new_script"
        out.append(Reason(code, "." + name.rpartition(".")[2]))
    parts = low.split(".")
    if any(part in _HANDLER_EXTS for part in parts[1:-1]) or (
        len(parts) == 3 and ext in _SCRIPT_EXTS and parts[1] in _IMAGE_LIKE_EXTS
    ):
        out.append(Reason("double_extension", name))
    if _is_sitemap(name):
        out.append(Reason("sitemap_new", name))
    if _VERIFY_FILE.fullmatch(low):
        out.append(Reason("search_verification", name))
    return out


# --- symlinks ------------------------------------------------------------------------------

_SYSTEM_DIRS = (
    "/etc", "/root", "/proc", "/sys", "/dev", "/boot", "/home", "/var/lib", "/var/log",
    "/var/spool", "/var/mail", "/usr/local/etc", "/run",
)  # fmt: skip
_SECRET_NAMES = _names(
    "wp-config.php configuration.php config.php settings.php local.xml env.php database.php "
    "config.inc.php .env .htpasswd passwd shadow id_rsa id_ed25519 id_ecdsa authorized_keys "
    ".bash_history .my.cnf my.cnf .pgpass credentials"
)


def _symlink_reasons(path: str, target: str) -> list[Reason]:
    """A link is critical when it leaves the docroot or points at system or secret files."""
    absolute = target.startswith("/")
    outside = absolute or _climbs_out(path, target)
    resolved = posixpath.normpath(target)
    system = absolute and any(
        resolved == top or resolved.startswith(top + "/") for top in _SYSTEM_DIRS
    )
    # A link named like a page that points at a secret serves the secret as text; one named
    # *.php would run it instead.
    secret = posixpath.basename(resolved).lower() in _SECRET_NAMES and not path.lower().endswith(
        ".php"
    )
    if system or secret or target.startswith("~"):
        return [Reason("symlink_sensitive", target)]
    if outside:
        return [Reason("symlink_outside", target)]
    return []


def _climbs_out(path: str, target: str) -> bool:
    """Whether a relative target, read from the link's directory, goes above the docroot."""
    depth = path.count("/")
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


# --- content: the document and the diff of evidence ----------------------------------------


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
_TAG = re.compile(rb"<[a-z!/?][^<>]{0,4096}>")
# Tags that style letters within a line: removed without a trace, so "H<b>a</b>cked" reads
# "Hacked"; every other tag ends a line of text.
_INLINE_TAG = re.compile(
    rb"</?(?:a|b|i|u|s|em|strong|span|font|small|big|sub|sup|strike|tt|mark|blink)\b[^<>]{0,4096}>"
)
_ENTITY = re.compile(rb"&#(x[0-9a-f]{1,6}|[0-9]{1,7});")
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
        self.lower = data.lower()

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

    @functools.cached_property
    def terms(self) -> list[_Term]:
        """The gambling terms of the whole content."""
        return _gambling_terms(self.lower, _gambling_families(self.words, self.lower))


_Collector = Callable[[_Doc], list[_Hit]]


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


def _content_reasons(path: str, data: bytes, before: bytes | None, appeared: bool) -> list[Reason]:
    """Reasons found in a file's content that its approved content did not give."""
    new = _Doc(path, data)
    old = _Doc(path, before) if before is not None else None
    out: list[Reason] = []
    for collect in _collectors(new):
        out += _fresh(collect, new, old)
    if _is_sitemap(new.name) and not new.binary:
        out += _sitemap_reasons(new, old)
    if appeared and new.php and new.has(_UPLOAD_GATE):
        match = _UPLOAD_HANDLER.search(new.lower)
        if match:
            out.append(Reason("upload_handler", _detail(match.group())))
    return out


def _collectors(doc: _Doc) -> list[_Collector]:
    """The content rules that apply to this kind of file."""
    rules: list[_Collector] = []
    if doc.php:
        rules += [_php_code, _disguised_include, _webshell_markers, _php_obfuscation]
        rules += [_php_cloaking, _remote_fetch]
    if doc.binary:
        return rules
    rules.append(_foreign_code)
    if doc.markup or doc.ext in _NOTE_EXTS:
        rules.append(_defacement)
    if not _is_sitemap(doc.name):
        rules.append(_gambling)
    if doc.markup:
        rules += [_doorway, _hidden_links, _external_scripts, _redirects, _verification_meta]
        rules.append(_js_obfuscation)
    if doc.name in _CONFIG_NAMES:
        rules.append(_server_config)
    return rules


# --- defacement ----------------------------------------------------------------------------

# Read on the leet-normalised visible text, so "H4ck3d <b>By</b>" reads "hacked by".
_DEFACE_STRONG = re.compile(
    rb"hacked\s*by|defaced\s*by|hacked\s*oleh|pwned\s*by"
    rb"|diretas\s*oleh|di\s*-?\s*(?:hack|hacked|deface|defaced|retas)\s*(?:oleh|by)"
    rb"|security\s*is\s*(?:just\s*|only\s*)?(?:an?\s*)?illusion"
    rb"|greetz|greets\s*to"
)
# Leetspeak spellings are markers on their own; read on the plain visible text.
_DEFACE_LEET = re.compile(rb"h[4@]ck[3e]d|hack3d|d[3e]f[4@]c[3e]d|0wn[3e]d")
# Phrases ordinary prose uses too; they count only where defacers put them (title, headings,
# marquee), or in a note of a few lines (hacked.txt).
_DEFACE_WEAK = re.compile(rb"owned\s*by|was\s*here|touched\s*by|hacked|owned")
_DEFACE_NOTE = re.compile(rb"owned[ \t]*by|was[ \t]*here|touched[ \t]*by")
_DEFACE_CONTEXT = re.compile(
    rb"<(title|h[1-6]|marquee|center|font|blink)\b[^<>]*>(.{0,400}?)</\1\s*>", re.DOTALL
)
_LEET_DIGITS = {
    ord("a"): b"4",
    ord("e"): b"3",
    ord("i"): b"1",
    ord("o"): b"0",
    ord("s"): b"5",
    ord("t"): b"7",
}


def _leet_spellings(words: str) -> frozenset[bytes]:
    """Each word in every spelling with leet digits for some of its letters (h4ck3d)."""
    out: set[bytes] = set()
    for word in words.encode().split():
        spellings = [b""]
        for char in word:
            choices = [bytes([char])] + ([_LEET_DIGITS[char]] if char in _LEET_DIGITS else [])
            spellings = [done + choice for done in spellings for choice in choices]
        out.update(spellings)
    return frozenset(out)


_DEFACE_GATE = _leet_spellings(
    "hacked hack defaced deface pwned diretas dihack dihacked dideface didefaced retas "
    "illusion greetz greets"
)
_DEFACE_WEAK_GATE = _leet_spellings("owned here touched hacked")
_SMALL_PAGE = 256 << 10
_SHORT_NOTE = 1024


def _defacement(doc: _Doc) -> list[_Hit]:
    """Defacement phrases, English and Indonesian, also in leetspeak or split by tags."""
    loose = doc.ext in _PAGE_EXTS and len(doc.lower) <= _SMALL_PAGE
    hits: list[_Hit] = []
    if loose or doc.has(_DEFACE_GATE):
        for match in _DEFACE_STRONG.finditer(doc.leet):
            if _free(doc.leet, match.start(), _LETTERS):
                hits.append(_phrase_hit(doc.visible, match.start()))
        for match in _DEFACE_LEET.finditer(doc.visible):
            if _free(doc.visible, match.start(), _WORD_CHARS):
                hits.append(_phrase_hit(doc.visible, match.start()))
    if hits or not (loose or doc.has(_DEFACE_WEAK_GATE)):
        return hits
    spans = [(_TAG.sub(b"", m.group(2)), _DEFACE_WEAK) for m in _DEFACE_CONTEXT.finditer(doc.lower)]
    if doc.ext in _PAGE_EXTS and len(doc.lower) <= _SHORT_NOTE and not spans:
        spans = [(doc.visible.strip().split(b"\n", 1)[0], _DEFACE_NOTE)]
    for span, pattern in spans:
        leet = span.translate(_LEET)
        for weak in pattern.finditer(leet):
            if _free(leet, weak.start(), _LETTERS):
                hits.append(_phrase_hit(span, weak.start()))
                break
    return hits


def _phrase_hit(text: bytes, start: int) -> _Hit:
    """The phrase at `start` with the rest of its line (the attacker's signature)."""
    return _hit("defacement_text", text[start : start + 60].split(b"\n", 1)[0])


# --- online gambling -----------------------------------------------------------------------

_S = rb"(?:[\s\-_+./]|%20|&nbsp;|<[^<>]{0,60}>)*"  # between words: spaces, slugs, tags


class _Term(NamedTuple):
    term: str
    strong: bool


class _Family(NamedTuple):
    """Gambling terms that start with one word, tried only where that word occurs."""

    keys: frozenset[bytes]  # the word, and the joined spellings spam domains use
    regex: re.Pattern[bytes]
    strong: bool  # False: a news item against gambling uses the term too


def _family(keys: str, pattern: bytes, strong: bool = True) -> _Family:
    """A family from its keys and its pattern (`~` stands for the space between words)."""
    # Each pattern starts with a literal word, so the regex engine skips ahead to it.
    return _Family(_tokens(keys), re.compile(pattern.replace(b"~", _S)), strong)


_GAMBLING_FAMILIES = (
    _family(
        "slot slot88 slot777 slotgacor slotzeus slotmaxwin slotdeposit slotpulsa",
        rb"slot~(?:gacor|88|777|maxwin|deposit|pulsa|qris|thailand|kamboja|terpercaya|zeus"
        rb"|olympus|mahjong|pragmatic)",
    ),
    _family("pola polagacor", rb"pola~gacor"),
    _family("link linkgacor", rb"link~gacor"),
    _family("situs situsgacor", rb"situs~gacor"),
    _family("akun akungacor", rb"akun~gacor"),
    _family("gacor", rb"gacor~(?:hari~ini|malam~ini)"),
    _family("maxwin", rb"maxwin(?![a-z])"),
    _family("sbobet sbobet88", rb"sbobet(?![a-z])"),
    _family("pragmatic pragmaticplay", rb"pragmatic~play"),
    _family("pg pgsoft", rb"pg~soft"),
    _family("joker joker123 joker388", rb"joker~?(?:123|388|gaming)"),
    _family("mahjong mahjongways", rb"mahjong~ways"),
    _family("gates gatesofolympus", rb"gates~of~olympus"),
    _family("starlight starlightprincess", rb"starlight~princess"),
    _family("sweet sweetbonanza", rb"sweet~bonanza"),
    _family("kakek kakekzeus", rb"kakek~zeus"),
    _family("zeus zeusslot", rb"zeus~slot"),
    _family("scatter scatterhitam", rb"scatter~hitam"),
    _family("rtp rtplive rtpslot", rb"rtp~(?:live|slot|gacor|tertinggi)"),
    _family("bocoran", rb"bocoran~(?:rtp|slot|admin|gacor)"),
    _family(
        "bandar bandarq bandartogel bandarslot bandarjudi bandarbola",
        rb"bandar(?:q|~(?:slot|bola|casino|kasino|poker|ceme|qq|toto|sbobet))",
    ),
    _family("bandar bandartogel bandarjudi", rb"bandar~(?:togel|judi)", strong=False),
    _family(
        "agen agenslot agentogel agenjudi",
        rb"agen~(?:togel|slot|judi|bola|casino|kasino|sbobet|poker|toto)",
        strong=False,
    ),
    _family(
        "situs situsslot situstogel situstoto",
        rb"situs~(?:slot|togel|toto|casino|kasino|poker|bandar)",
        strong=False,
    ),
    _family("toto totomacau toto4d", rb"toto~(?:macau|4d|online|sgp|hk|sdy|togel)"),
    _family("togel togel4d togelonline", rb"togel~(?:macau|4d|online|sgp|hk|sdy|terpercaya)"),
    _family("hk hkpools", rb"hk~pools"),
    _family("sgp sgppools", rb"sgp~pools"),
    _family("sdy sydney sdypools", rb"(?:sdy|sydney)~pools"),
    _family("keluaran", rb"keluaran~(?:hk|sgp|sdy|sydney|macau)"),
    _family("paito", rb"paito~(?:warna|hk|sgp|sdy)"),
    _family("live livecasino", rb"live~casino"),
    _family("casino casinoonline", rb"casino~online", strong=False),
    _family("idn idnpoker idnslot", rb"idn~(?:poker|slot)"),
    _family("domino dominoqq", rb"domino~?qq"),
    _family("bonus", rb"bonus~new~member"),
    _family("deposit", rb"deposit~(?:pulsa|dana|qris|ovo|gopay)~tanpa~potongan"),
    _family("anti antirungkad", rb"anti~rungkad"),
    _family(
        "judi judionline judislot judibola",
        rb"judi~(?:online|slot|bola|togel|kartu|casino|kasino|daring)",
        strong=False,
    ),
    _family("judol", rb"judol(?![a-z])", strong=False),
    _family("togel", rb"togel(?![a-z])", strong=False),
    _family("slot slotonline", rb"slot~online", strong=False),
    _family("situs situsjudi", rb"situs~judi", strong=False),
    _family("sabung", rb"sabung~ayam", strong=False),
    _family("poker pokeronline", rb"poker~online", strong=False),
)
# Inside any word (slotgacor88.xyz, situstogel4d): try every family that names them.
_GAMBLING_JOINED = {
    joined: tuple(i for i, f in enumerate(_GAMBLING_FAMILIES) if joined in f.regex.pattern)
    for joined in (b"gacor", b"togel", b"slot")
}


def _families_by_key() -> dict[bytes, list[int]]:
    """For each key word, the families it opens."""
    index: dict[bytes, list[int]] = {}
    for number, family in enumerate(_GAMBLING_FAMILIES):
        for key in family.keys:
            index.setdefault(key, []).append(number)
    return index


_FAMILIES_BY_KEY = _families_by_key()


def _gambling_families(words: frozenset[bytes], text: bytes) -> list[_Family]:
    """The families worth trying on a text with these words."""
    chosen = {i for key in words & _FAMILIES_BY_KEY.keys() for i in _FAMILIES_BY_KEY[key]}
    for joined, families in _GAMBLING_JOINED.items():
        if joined in text:
            chosen.update(families)
    return [_GAMBLING_FAMILIES[i] for i in sorted(chosen)]


# Words of a report against gambling, rare on a spam page.
_ANTI_GAMBLING = re.compile(
    rb"berantas|memberantas|pemberantasan|satgas|bahaya|imbau|himbau|mengimbau|menghimbau"
    rb"|jauhi|sosialisasi|penindakan|tersangka|polres|polda|kecanduan|perangi|memerangi"
    rb"|larangan|pencegahan|mencegah"
)
_SEP_RUN = re.compile(rb"(?:[\s\-_+./]|%20|&nbsp;|<[^<>]{0,60}>)+")
_TITLE = re.compile(rb"<title\b[^<>]*>([^<]{0,300})")


def _gambling_terms(text: bytes, families: list[_Family] | None = None) -> list[_Term]:
    """Gambling terms in `text`; topic words are dropped in a report against gambling."""
    found = sorted(
        (m.start(), not family.strong, -len(m.group()), m.group())
        for family in (_GAMBLING_FAMILIES if families is None else families)
        for m in family.regex.finditer(text)
        if _free(text, m.start(), _LETTERS)
    )
    terms = []
    covered = 0  # where the last term taken ends: "togel online" is one term, not two
    for start, topic, negative_length, match in found:
        if start >= covered:
            covered = start - negative_length
            term = _SEP_RUN.sub(b" ", match).strip().decode("utf-8", "replace")
            terms.append(_Term(term, not topic))
    if terms and not any(t.strong for t in terms) and _ANTI_GAMBLING.search(text):
        return []
    return terms


def _gambling(doc: _Doc) -> list[_Hit]:
    """Each online-gambling term, counted, so that only added ones are new."""
    return [_hit("gambling_spam", term.term) for term in doc.terms]


_DOORWAY_MIN_TERMS = 5
_DOORWAY_PER_100_WORDS = 3


def _doorway(doc: _Doc) -> list[_Hit]:
    """A page made mostly of gambling keywords, or titled with them."""
    terms = doc.terms
    if len(terms) < 3:
        return []
    title = _TITLE.search(doc.lower)
    titled = title is not None and bool(_gambling_terms(title.group(1)))
    words = len(doc.visible.split())
    dense = len(terms) >= _DOORWAY_MIN_TERMS and len(terms) * 100 >= _DOORWAY_PER_100_WORDS * words
    if not (dense or titled):
        return []
    top = [term for term, _ in Counter(t.term for t in terms).most_common(3)]
    return [_Hit("doorway", Reason("doorway_page", _detail(", ".join(top))))]


# --- hidden links --------------------------------------------------------------------------

# A CSS value, found from its colon (a literal the regex engine skips to); the property
# before the colon is read afterwards.
_CSS_VALUE = re.compile(
    rb":\s*(none|hidden|-?\d*\.?\d+)(px|pt|em|rem|%)?\s*(?:!important\s*)?(?=[;'\"\\}]|$)"
)
_CSS_PROPERTY = re.compile(rb"([a-z-]+)\s*$")
_OFFSETS = _tokens("left top right text-indent margin-left margin-top")
_SIZES = _tokens("height width max-height max-width")
_OFF_SCREEN = (*_OFFSETS, b"font-size")


def _hides(prop: bytes, value: bytes, unit: bytes | None) -> bool:
    """Whether `prop: value` hides an element from visitors (or pushes it off screen)."""
    if prop == b"display":
        return value == b"none"
    if prop == b"visibility":
        return value == b"hidden"
    if value in (b"none", b"hidden"):
        return False
    number = float(value)
    if prop == b"font-size":
        return number == 0 or (number <= 1 and unit == b"px")
    if prop in _OFFSETS:
        return number <= -500 and unit in (None, b"px")
    if prop == b"opacity":
        return number == 0
    return prop in _SIZES and number <= 1 and unit in (None, b"px")


def _hiding_declarations(text: bytes, start: int = 0, end: int | None = None) -> list[int]:
    """Offsets of the CSS declarations in `text` that hide what they style."""
    found = []
    for value in _CSS_VALUE.finditer(text, start, len(text) if end is None else end):
        prop = _CSS_PROPERTY.search(text, max(0, value.start() - 24), value.start())
        if prop and _hides(prop.group(1), value.group(1), value.group(2)):
            found.append(prop.start())
    return found


_HIDE_GATE = _tokens("display visibility font left top right indent opacity height width")
_IN_STYLE = re.compile(rb"\bstyle\s*=\s*\\?[\"']?[^\"'<>]*$")
_OPEN_TAG = re.compile(rb"<([a-z][a-z0-9]*)\b")
_STYLE_BLOCK = re.compile(rb"<style\b[^<>]*>(.{0,20000}?)</style", re.DOTALL)
_HIDDEN_SELECTOR = re.compile(rb"([.#])([a-z][\w-]{1,40})\s*\{([^{}]{0,400})\}")
_LINK = re.compile(
    rb"<a\b[^<>]*?\bhref\s*=\s*\\?[\"']?\s*((?:https?:)?//[a-z0-9][a-z0-9.-]*\.[a-z]{2,}"
    rb"[^\"'\\\s<>]*)"
)
_HIDDEN_WINDOW = 50000


def _hidden_links(doc: _Doc) -> list[_Hit]:
    """Links to other hosts inside elements styled so that visitors do not see them."""
    if b"href" not in doc.words or not doc.has(_HIDE_GATE):
        return []
    text = doc.lower
    if not _LINK.search(text):
        return []
    hits = []
    for start, name in _hidden_elements(text):
        end = _element_end(text, start, name)
        hits += [_hit("hidden_links", link.group(1)) for link in _LINK.finditer(text, start, end)]
    return hits


def _hidden_elements(text: bytes) -> list[tuple[int, bytes]]:
    """(offset, tag name) of each element hidden by an inline style or a page style rule."""
    found = []
    for decl in _hiding_declarations(text):
        lt = text.rfind(b"<", max(0, decl - 2000), decl)
        tag = _OPEN_TAG.match(text, lt) if lt >= 0 else None
        if tag is None or tag.group(1) in (b"style", b"script", b"input", b"img", b"meta"):
            continue
        if not _IN_STYLE.search(text, lt, decl):
            continue
        gt = text.find(b">", decl)
        if text.startswith(tuple(_SIZES), decl) and b"overflow" not in text[lt:gt]:
            continue
        found.append((lt, tag.group(1)))
    for block in _STYLE_BLOCK.finditer(text):
        for sel in _HIDDEN_SELECTOR.finditer(block.group(1)):
            body = sel.group(3)
            # Menus and drawers that scripts open are hidden by class too; an element pushed
            # off screen or written in zero-size type is not a menu.
            if not any(body.startswith(_OFF_SCREEN, d) for d in _hiding_declarations(body)):
                continue
            attr = rb"class\s*=\s*[\"'][^\"']*" if sel.group(1) == b"." else rb"id\s*=\s*[\"']"
            name = re.escape(sel.group(2))
            element = re.compile(
                rb"<([a-z][a-z0-9]*)\b[^<>]*\b" + attr + rb"(?<![\w-])" + name + rb"(?![\w-])"
            )
            found += [(m.start(), m.group(1)) for m in element.finditer(text)]
    return found


def _element_end(text: bytes, start: int, name: bytes) -> int:
    """Where the element opened at `start` closes (nesting counted, bounded)."""
    limit = min(len(text), start + _HIDDEN_WINDOW)
    depth = 0
    for tag in re.finditer(rb"<(/?)" + re.escape(name) + rb"\b", text[start:limit]):
        depth += -1 if tag.group(1) else 1
        if depth <= 0:
            return start + tag.end()
    return limit


# --- external scripts, frames and redirects ------------------------------------------------

_URL = rb"((?:https?:)?//[a-z0-9][a-z0-9.-]*\.[a-z]{2,}(?::\d+)?(?:[/?#][^\"'\\\s<>]*)?)"
_SRC_TAG = re.compile(rb"<(?:script|iframe|frame|embed)\b[^<>]*?\bsrc\s*=\s*\\?[\"']?\s*" + _URL)
_SRC_GATE = _tokens("script iframe frame embed")
_DYNAMIC_SRC = re.compile(
    rb"\.src\s*=\s*[\"']" + _URL + rb"|setattribute\s*\(\s*[\"']src[\"']\s*,\s*[\"']" + _URL
)
_GETSCRIPT = re.compile(rb"getscript\s*\(\s*[\"']" + _URL)
_DOC_WRITE = re.compile(rb"document\s*\.\s*write(?:ln)?\s*\(")
_CONCAT = re.compile(rb"[\"']\s*\+\s*[\"']")
_HOST = re.compile(rb"(?:[a-z][a-z0-9+.-]*:)?//([^/:?#\s\"'\\]+)")
_META_REFRESH = re.compile(
    rb"<meta\b[^<>]*http-equiv\s*=\s*\\?[\"']?refresh[^<>]*?url\s*=\s*\\?[\"']?" + _URL
)
_JS_REDIRECT = re.compile(
    rb"location(?:(?:\s*\.\s*href)?\s*=\s*|\s*\.\s*(?:replace|assign)\s*\(\s*)[\"']" + _URL
)
_PHP_REDIRECT = re.compile(rb"header\s*\(\s*[\"']location\s*:\s*" + _URL)


def _host_hit(code: str, url: bytes) -> _Hit:
    """Evidence keyed by host: a URL on a host the old content already names is not new."""
    match = _HOST.match(url)
    host = match.group(1).rstrip(b".") if match else url
    return _Hit((code, host), Reason(code, _detail(url)), host)


def _external_scripts(doc: _Doc) -> list[_Hit]:
    """Scripts and frames loaded from another host: tags, document.write, createElement."""
    text = doc.lower
    urls: list[bytes] = []
    if doc.has(_SRC_GATE):
        urls += [m.group(1) for m in _SRC_TAG.finditer(text)]
    if b"createelement" in doc.words:
        urls += [m.group(1) or m.group(2) for m in _DYNAMIC_SRC.finditer(text)]
    if b"getscript" in doc.words:
        urls += [m.group(1) for m in _GETSCRIPT.finditer(text)]
    if b"document" in doc.words:
        for write in _DOC_WRITE.finditer(text):
            argument = _CONCAT.sub(b"", text[write.end() : write.end() + 1000])
            urls += [m.group(1) for m in _SRC_TAG.finditer(argument)]
    return [_host_hit("external_script", url) for url in urls]


def _redirects(doc: _Doc) -> list[_Hit]:
    """Visitors sent to another host: meta refresh, location assignments, PHP headers."""
    text = doc.lower
    urls: list[bytes] = []
    if b"refresh" in doc.words:
        urls += [m.group(1) for m in _META_REFRESH.finditer(text)]
    if b"location" in doc.words:
        urls += [
            m.group(1)
            for m in _JS_REDIRECT.finditer(text)
            if _free(text, m.start(), _WORD_CHARS | {ord("$")})
        ]
        if doc.php:
            urls += [m.group(1) for m in _PHP_REDIRECT.finditer(text)]
    return [_host_hit("redirect_injected", url) for url in urls]


_VERIFY_META = re.compile(
    rb"<meta\b[^<>]*\b(google-site-verification|msvalidate\.01|yandex-verification"
    rb"|baidu-site-verification)\b[^<>]*>"
)
_CONTENT_ATTR = re.compile(rb"content\s*=\s*\\?[\"']([^\"'\\]{1,120})")


def _verification_meta(doc: _Doc) -> list[_Hit]:
    """Search-engine ownership claims: spammers verify a site to push their sitemaps."""
    if b"verification" not in doc.words and b"msvalidate" not in doc.words:
        return []
    hits = []
    for meta in _VERIFY_META.finditer(doc.lower):
        content = _CONTENT_ATTR.search(meta.group())
        hits.append(
            _hit("search_verification", meta.group(1) + b"=" + (content[1] if content else b""))
        )
    return hits


# --- PHP: code execution from the request or from decoded strings --------------------------

_REQUEST = re.compile(
    rb"\$_(?:get|post|request|cookie|files)\b|\$_server\s*\[\s*[\"']http_"
    rb"|\$globals\s*\[\s*[\"']_(?:get|post|request|cookie)|php://input"
    rb"|getallheaders\s*\(|apache_request_headers\s*\(|\$http_raw_post_data"
)
_REQUEST_GATE = _tokens(
    "_get _post _request _cookie _files _server globals getallheaders "
    "apache_request_headers http_raw_post_data"
)
_REQUEST_VARS = _tokens("_get _post _request _cookie")
_DECODERS = (
    rb"base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|hex2bin|convert_uudecode|strrev"
)
_DECODE = re.compile(
    rb"(?:" + _DECODERS + rb"|file_get_contents|curl_exec|stream_get_contents|chr)\s*\("
)
_DECODER_NAMES = _tokens(
    "base64_decode gzinflate gzuncompress gzdecode str_rot13 hex2bin convert_uudecode strrev"
)
_DECODE_GATE = _tokens(
    "base64_decode gzinflate gzuncompress gzdecode str_rot13 hex2bin convert_uudecode strrev "
    "file_get_contents curl_exec stream_get_contents chr"
)


class _Sink(NamedTuple):
    """Calls of some functions, with the argument text that decides whether they are bad."""

    names: frozenset[bytes]
    tail: bytes  # after the name; group 1 is the argument that matters


_ARGUMENTS = rb"\s*\(([^;]{0,300})"
_EVAL_SINK = _Sink(_tokens("eval assert create_function"), _ARGUMENTS)
_SHELL_SINK = _Sink(
    _tokens("system exec passthru shell_exec popen proc_open pcntl_exec"), _ARGUMENTS
)
_CALLBACK_FIRST = _Sink(
    _tokens(
        "call_user_func call_user_func_array array_map register_shutdown_function "
        "register_tick_function ob_start forward_static_call forward_static_call_array "
        "iterator_apply"
    ),
    rb"\s*\(\s*@?\s*([^,;)]{1,200})",
)
_CALLBACK_SECOND = _Sink(
    _tokens(
        "array_filter array_walk array_walk_recursive usort uasort uksort array_reduce "
        "preg_replace_callback"
    ),
    rb"\s*\([^,;]{1,300},\s*@?\s*([^,;)]{1,200})",
)


@functools.lru_cache(maxsize=256)
def _sink_regex(names: tuple[bytes, ...], tail: bytes) -> re.Pattern[bytes]:
    """Calls of the given functions (built from the names present, usually one)."""
    return re.compile(rb"(?:" + b"|".join(names) + rb")" + tail)


_REQUEST_CALL = re.compile(
    rb"\$_(?:get|post|request|cookie|server)\s*\[[^\]\n]{1,80}\]\s*\(|\$\{\s*[\"']_(?:get|post)"
)
_VAR_CALL = re.compile(rb"\$(\w+)\(([^;]{0,300})")
_BACKTICK = re.compile(rb"`\s*\{?\$(\w+)\b[^`\n]{0,200}`")
_EXTRACT_REQUEST = re.compile(rb"extract\s*\(\s*\$_(?:get|post|request|cookie)")
_VARIABLE = re.compile(rb"\$(\w+)")
_LITERAL_ONLY = re.compile(rb"\s*(?:(?:\"[^\"]*\"|'[^']*')\s*\.?\s*)+")
_PREG_E = re.compile(
    rb"preg_replace\s*\(\s*([\"'])([^a-z0-9\s\\\"'])(?:\\.|(?!\2)[^\\\n]){0,500}?\2[a-z]*e[a-z]*\1"
)
_UPLOAD_HANDLER = re.compile(rb"(?:move_uploaded_file\s*\(|copy\s*\(\s*\$_files)[^;]{0,60}")
_UPLOAD_GATE = _tokens("move_uploaded_file _files")


def _evidence(code: bytes) -> bytes:
    """The first line of a matched call: evidence that stays the same when its file is edited."""
    return code[:_DETAIL_MAX].split(b"\n", 1)[0]


def _depth(text: bytes, pos: int) -> int:
    """How many brackets are open at `pos` (inside an array index)."""
    return text.count(b"[", 0, pos) - text.count(b"]", 0, pos)


def _requested(expr: bytes) -> bool:
    """Whether request data is the value of `expr`, not merely an index into something."""
    return any(_depth(expr, m.start()) <= 0 for m in _REQUEST.finditer(expr))


def _top_vars(expr: bytes) -> list[bytes]:
    """Variables whose value `expr` uses (not those only used as an index)."""
    return [
        m.group(1)
        for m in _VARIABLE.finditer(expr)
        if _depth(expr, m.start()) <= 0 and not m.group(1).startswith(b"_")
    ]


def _commented(text: bytes, pos: int) -> bool:
    """Whether `pos` sits on a comment line (commented-out code does not run)."""
    prefix = text[text.rfind(b"\n", 0, pos) + 1 : pos].lstrip()
    return (
        prefix.startswith((b"//", b"#", b"*", b"/*"))
        and b"*/" not in prefix
        and b"?>" not in prefix
    )


# An assignment, to the end of its line or statement.
_ASSIGNMENT = re.compile(rb"\$(\w+)\s*\.?=(?![=>])\s*([^;\n]{0,300})")


class _Taint:
    """Where the variables of one PHP file get their values from (two assignments deep)."""

    def __init__(self, text: bytes) -> None:
        self.text = text
        self.everything_requested = bool(_EXTRACT_REQUEST.search(text))
        self.cache: dict[tuple[bytes, int], set[str]] = {}

    @functools.cached_property
    def assignments(self) -> dict[bytes, list[bytes]]:
        """Each variable's assigned expressions, in one pass over the file."""
        found: dict[bytes, list[bytes]] = {}
        for var, rhs in _ASSIGNMENT.findall(self.text):
            found.setdefault(var, []).append(rhs)
        return found

    def of(self, var: bytes, depth: int = 2) -> set[str]:
        """Sources of `var`: 'request', 'decoded', 'literal' (string literals only)."""
        if self.everything_requested:
            return {"request"}
        key = (var, depth)
        if key not in self.cache:
            self.cache[key] = set()  # cuts cycles ($a = $b; $b = $a)
            sources: set[str] = set()
            for rhs in self.assignments.get(var, ()):
                sources |= self.expr(rhs, depth - 1) if depth > 1 else self.direct(rhs)
                if _LITERAL_ONLY.fullmatch(rhs):
                    sources.add("literal")
            self.cache[key] = sources
        return self.cache[key]

    @staticmethod
    def direct(expr: bytes) -> set[str]:
        """Sources an expression names itself (request data, a decoder call)."""
        sources = set()
        if _requested(expr):
            sources.add("request")
        if _DECODE.search(expr):
            sources.add("decoded")
        return sources

    def expr(self, expr: bytes, depth: int = 2) -> set[str]:
        """Sources of an expression: itself and the variables it uses."""
        sources = self.direct(expr)
        for var in _top_vars(expr):
            sources |= self.of(var, depth) - {"literal"}
        return sources


def _php_code(doc: _Doc) -> list[_Hit]:
    """Code run from the request or from decoded strings; shell commands from the request."""
    requested = doc.has(_REQUEST_GATE) or b"php://input" in doc.lower
    decoded = doc.has(_DECODE_GATE)
    if not (requested or decoded or b"preg_replace" in doc.words):
        return []
    text = doc.lower
    taint = _Taint(text)
    hits: list[_Hit] = []

    def calls(pattern: re.Pattern[bytes] | _Sink) -> list[re.Match[bytes]]:
        if isinstance(pattern, _Sink):
            present = tuple(sorted(doc.words & pattern.names))
            if not present:
                return []
            pattern = _sink_regex(present, pattern.tail)
        return [
            m
            for m in pattern.finditer(text)
            if _free(text, m.start(), _CALL_BLOCKERS) and not _commented(text, m.start())
        ]

    def hit(code: str, match: re.Match[bytes]) -> None:
        hits.append(_hit(code, _evidence(match.group())))

    if requested or decoded:
        for m in calls(_EVAL_SINK):
            sources = taint.expr(m.group(1))
            if "request" in sources:
                hit("code_from_request", m)
            elif "decoded" in sources:
                hit("code_from_decoded", m)
    if requested:
        for m in calls(_SHELL_SINK):
            if "request" in taint.expr(m.group(1)):
                hit("shell_from_request", m)
        if b"`" in text:
            for m in _BACKTICK.finditer(text):
                var = m.group(1)
                requested_var = var in _REQUEST_VARS or "request" in taint.of(var)
                if requested_var and not _commented(text, m.start()):
                    hit("shell_from_request", m)
        for m in calls(_CALLBACK_FIRST) + calls(_CALLBACK_SECOND):
            if "request" in taint.expr(m.group(1)):
                hit("code_from_request", m)
        for m in calls(_REQUEST_CALL):
            hit("code_from_request", m)
    if requested or decoded:
        for m in calls(_VAR_CALL):
            sources = taint.of(m.group(1))
            # A function name spelled in pieces or decoded, called with request data, is the
            # classic one-line webshell ($f = "sys"."tem"; $f($_GET["c"])).
            hidden_name = "literal" in sources or "decoded" in sources
            if "request" in sources or (hidden_name and _requested(m.group(2))):
                hit("code_from_request", m)
            elif "decoded" in sources:
                hit("code_from_decoded", m)
    if b"preg_replace" in doc.words:
        for m in calls(_PREG_E):
            hit("preg_replace_eval", m)
    return hits


# include "/path/.favicon_3f1a.ico": PHP kept in a file named like an image, often with the
# path spelled in escapes ("\x2fhome\x2f...").
_INCLUDE_LITERAL = re.compile(
    rb"(?:include|require)(?:_once)?\s*\(?\s*([\"'])((?:\\.|(?!\1)[^\\\n]){1,300})\1"
)
_ESCAPE = re.compile(rb"\\x([0-9a-f]{2})|\\([0-7]{1,3})")
_INCLUDE_GATE = _tokens("include include_once require require_once")


def _unescape(literal: bytes) -> bytes:
    """A PHP string literal's hex and octal escapes decoded."""
    return _ESCAPE.sub(lambda m: bytes([int(m[1], 16) if m[1] else int(m[2], 8) & 0xFF]), literal)


def _disguised_include(doc: _Doc) -> list[_Hit]:
    """Includes of a file whose name says it is not code (an image, a text file)."""
    if not doc.has(_INCLUDE_GATE):
        return []
    text = doc.lower
    hits = []
    for m in _INCLUDE_LITERAL.finditer(text):
        if not _free(text, m.start(), _CALL_BLOCKERS) or _commented(text, m.start()):
            continue
        target = _unescape(m.group(2))
        if b"." in target and target.rpartition(b".")[2] in _DISGUISE_EXTS_B:
            hits.append(_hit("include_disguised", target))
    return hits


# Other server languages' classic one-liners (China Chopper and friends), each tried only
# when its first word occurs.
_FOREIGN_EXEC = (
    (b"eval", "code_from_request", re.compile(rb"eval\s*\(\s*request\s*[.(\[][^)\n]{0,60}")),
    (
        b"execute",
        "code_from_request",
        re.compile(rb"execute\s*\(?\s*request\s*[(\[.][^)\n]{0,60}"),
    ),
    (
        b"getruntime",
        "shell_from_request",
        re.compile(
            rb"runtime\s*\.\s*getruntime\s*\(\s*\)\s*\.\s*exec\s*\(\s*request\s*\.[^)\n]{0,60}"
        ),
    ),
)


def _foreign_code(doc: _Doc) -> list[_Hit]:
    """ASP and JSP webshell one-liners."""
    if b"request" not in doc.words:
        return []
    return [
        _hit(code, m.group())
        for word, code, pattern in _FOREIGN_EXEC
        if word in doc.words
        for m in pattern.finditer(doc.lower)
    ]


# --- PHP: webshell signatures and obfuscation ----------------------------------------------

# Names webshells print or keep in their code: single words, and phrases (read only when all
# their words occur).
_MARKER_WORDS = _tokens(
    "filesman indoxploit b374k c99shell c99sh c99_sh c99madshell r57shell wso_version "
    "alfacgiapi alfa_data alfateam minishell sh3ll idbte4m con7ext tinyfilemanager"
)
_MARKER_PHRASES = tuple(
    (_tokens(phrase), re.compile(phrase.replace(" ", r"\s*").encode()))
    for phrase in (
        "mini shell", "wso shell", "r57 shell", "alfa team", "alfa shell", "bypass shell",
        "shell bypass", "0byte shell", "gecko shell", "marijuana shell", "haxor shell",
        "priv8 shell", "priv8 uploader", "tiny file manager", "web shell by orb",
    )
)  # fmt: skip


def _webshell_markers(doc: _Doc) -> list[_Hit]:
    """Names of known webshells (FilesMan, IndoXploit, b374k, WSO, Mini Shell ...)."""
    hits = [_hit("webshell_marker", word) for word in sorted(doc.words & _MARKER_WORDS)]
    for words, pattern in _MARKER_PHRASES:
        if words <= doc.words:
            found = pattern.search(doc.lower)
            if found:
                hits.append(_hit("webshell_marker", found.group()))
    return hits


_LONG_BASE64 = re.compile(rb"[\"'][a-z0-9+/]{1000,}={0,2}[\"']")
# Charset tables in real code run to a few dozen escapes; encoded payloads to hundreds.
_ESCAPED_RUN = re.compile(rb"\\x[0-9a-f]{2}(?:\\x[0-9a-f]{2}){99,}|\\[0-7]{3}(?:\\[0-7]{3}){99,}")
_CHR_CHAIN = re.compile(rb"(?:chr\s*\(\s*\d+\s*\)\s*\.\s*){10,}")
_DECODE_CHAIN = re.compile(rb"(?:" + _DECODERS + rb")\s*\(\s*(?:" + _DECODERS + rb")\s*\(")
_LONG_WORD = 60  # a 1000-character base64 literal all but surely holds a word this long
_SYMBOL_SOUP_LINE = 300  # non-alphanumeric code (`$_=''^'...'`) on long lines
_SYMBOL_SOUP_RATIO = 0.7
_ALNUM_SPACE = b"abcdefghijklmnopqrstuvwxyz0123456789 \t\r"


def _php_obfuscation(doc: _Doc) -> list[_Hit]:
    """Long base64 or escaped literals, chr() chains, nested decoders, symbol-only code."""
    text = doc.lower
    found: list[re.Match[bytes]] = []
    if max(map(len, doc.words), default=0) >= _LONG_WORD:
        found += _LONG_BASE64.finditer(text)
    if b"\\" in text:
        found += _ESCAPED_RUN.finditer(text)
    if b"chr" in doc.words:
        found += _CHR_CHAIN.finditer(text)
    if doc.has(_DECODER_NAMES):
        found += (m for m in _DECODE_CHAIN.finditer(text) if _free(text, m.start(), _CALL_BLOCKERS))
    hits = [_hit("obfuscated_code", m.group()[:40]) for m in found]
    if not doc.binary:
        for line in text.split(b"\n"):
            if len(line) >= _SYMBOL_SOUP_LINE:
                symbols = len(line.translate(None, _ALNUM_SPACE))
                if symbols >= _SYMBOL_SOUP_RATIO * len(line.strip()):
                    hits.append(_hit("obfuscated_code", line.strip()[:40]))
    return hits


# Each tried only when its first word occurs.
_JS_OBFUSCATION = (
    (
        b"eval",
        re.compile(
            rb"eval\s*\(\s*(?:(?:atob|unescape|decodeuricomponent|string\s*\.\s*fromcharcode)\s*\("
            rb"|function\s*\(\s*p\s*,\s*a\s*,\s*c\s*,\s*k\s*,\s*e\s*,)"
        ),
    ),
    (b"fromcharcode", re.compile(rb"fromcharcode\s*\(\s*(?:\d+\s*,\s*){30,}")),
    (b"unescape", re.compile(rb"unescape\s*\(\s*[\"'](?:%[0-9a-f]{2}){30,}")),
)
_HEX_NAMES = re.compile(rb"_0x[0-9a-f]{4,6}")
_HEX_NAMES_MIN = 20  # distinct names, as javascript-obfuscator writes them


def _js_obfuscation(doc: _Doc) -> list[_Hit]:
    """Packed or encoded JavaScript: how injected redirect and spam scripts hide."""
    text = doc.lower
    hits = []
    for word, pattern in _JS_OBFUSCATION:
        if word not in doc.words:
            continue
        for m in pattern.finditer(text):
            if _free(text, m.start(), _WORD_CHARS | {ord("$"), ord(".")}):
                code = "code_from_decoded" if word == b"eval" else "obfuscated_code"
                hits.append(_hit(code, _evidence(m.group())))
    if b"_0x" in text:
        names = set(_HEX_NAMES.findall(text))
        if len(names) >= _HEX_NAMES_MIN:
            hits.append(_Hit("hex-names", Reason("obfuscated_code", _detail(min(names)))))
    return hits


# --- PHP: cloaking and remote content ------------------------------------------------------

# Search engines' crawlers by name: a check for one of them is what cloaking looks like.
_SEARCH_BOTS = (
    rb"googlebot|bingbot|msnbot|yandex|baiduspider|slurp|duckduckbot|google-inspectiontool"
    rb"|adsbot|mediapartners|petalbot"
)
# Any crawler: statistics and cache plugins skip these, so only a check that then serves
# something counts.
_ANY_BOT = rb"crawler|crawl|spider|(?<![a-z])bots?(?![a-z])"
_SEARCH_ENGINE = rb"google|bing|yahoo|yandex|baidu|duckduckgo"
_SERVES = re.compile(
    rb"echo|print|include|require|readfile|file_get_contents|curl_exec|header\s*\(|eval\s*\("
)
_SERVES_WINDOW = 400


def _near(a: bytes, b: bytes) -> re.Pattern[bytes]:
    """`a` and `b` within a few hundred bytes of each other, in either order."""
    return re.compile(
        rb"(?:" + a + rb").{0,300}?(?:" + b + rb")|(?:" + b + rb").{0,300}?(?:" + a + rb")",
        re.DOTALL,
    )


# (header, pattern near it, whether it must also serve something)
_CLOAK_CHECKS = (
    (b"http_user_agent", re.compile(_SEARCH_BOTS), _near(b"http_user_agent", _SEARCH_BOTS), False),
    (b"http_user_agent", re.compile(_ANY_BOT), _near(b"http_user_agent", _ANY_BOT), True),
    (b"http_referer", re.compile(_SEARCH_ENGINE), _near(b"http_referer", _SEARCH_ENGINE), True),
)


def _php_cloaking(doc: _Doc) -> list[_Hit]:
    """Code that tells crawlers (or visitors arriving from a search engine) apart."""
    text = doc.lower
    hits = []
    for header, token, pattern, must_serve in _CLOAK_CHECKS:
        if header not in doc.words:
            continue
        for match in pattern.finditer(text):
            if _commented(text, match.start()):
                continue
            if must_serve and not _SERVES.search(text, match.start(), match.end() + _SERVES_WINDOW):
                continue
            found = token.search(match.group())
            evidence = header + b" ~ " + (found.group() if found else b"")
            hits.append(_Hit(header, Reason("php_cloaking", _detail(evidence.upper()))))
            break
    return hits


_FETCH_NAMES = (
    b"file_get_contents", b"fopen", b"readfile", b"file", b"fsockopen", b"pfsockopen",
    b"curl_init", b"include", b"include_once", b"require", b"require_once", b"copy",
    b"simplexml_load_file", b"get_meta_tags", b"curlopt_url,",
)  # fmt: skip
_FETCH_GATE = frozenset(name.rstrip(b",") for name in _FETCH_NAMES)
_URL_LITERAL = re.compile(rb"://[^\"'\s]+")
_QUOTED_SCHEME = (b'"http', b"'http", b'"https', b"'https", b'"ftp', b"'ftp")
_FETCH_VAR = re.compile(
    rb"(?:" + b"|".join(_FETCH_NAMES).replace(b",", rb"\s*,") + rb")\s*\(?\s*\$(\w+)"
)
_URL_ASSIGNED = re.compile(rb"\$(\w+)\s*=\s*[\"']((?:https?|ftp)://[^\"'\s]+)")


def _fetched(text: bytes, pos: int) -> bool:
    """Whether the quoted URL at `pos` is the argument of a function that fetches it."""
    head = text[max(0, pos - 48) : pos].rstrip().rstrip(b"(").rstrip()
    return head.endswith(_FETCH_NAMES) and any(
        head.endswith(name) and _free(head, len(head) - len(name), _CALL_BLOCKERS)
        for name in _FETCH_NAMES
    )


def _remote_fetch(doc: _Doc) -> list[_Hit]:
    """Content pulled from a literal remote URL (spam feeds, remote includes)."""
    if not doc.has(_FETCH_GATE) or b"://" not in doc.lower:
        return []
    text = doc.lower
    calls = []
    for m in _URL_LITERAL.finditer(text):
        if text.endswith(_QUOTED_SCHEME, max(0, m.start() - 6), m.start()):
            quote = max(text.rfind(b"'", 0, m.start()), text.rfind(b'"', 0, m.start()))
            if _fetched(text, quote):
                calls.append((quote, text[quote + 1 : m.end()]))
    url_vars = dict(_URL_ASSIGNED.findall(text))
    if url_vars:
        calls += [
            (m.start(), url_vars[m.group(1)])
            for m in _FETCH_VAR.finditer(text)
            if m.group(1) in url_vars and _free(text, m.start(), _CALL_BLOCKERS)
        ]
    return [_host_hit("remote_fetch", url) for pos, url in calls if not _commented(text, pos)]


# --- server configuration ------------------------------------------------------------------

_LINE_URL = rb"\\?[\"']?((?:https?:)?//[^\s\"']+)"
_HT_REDIRECT = re.compile(
    rb"^[ \t]*(?:rewriterule[ \t]+\S+[ \t]+"
    + _LINE_URL
    + rb"|redirect(?:match|permanent|temp)?[ \t]+(?:\S+[ \t]+)?\S+[ \t]+"
    + _LINE_URL
    + rb"|errordocument[ \t]+\d+[ \t]+"
    + _LINE_URL
    + rb")",
    re.MULTILINE,
)
_WEBCONFIG_REDIRECT = re.compile(
    rb"<(?:action|httpredirect)\b[^<>]*\b(?:url|destination)\s*=\s*[\"']((?:https?:)?//[^\"']+)"
)
_OWN_HOST = re.compile(
    rb"rewritecond[ \t]+%\{(?:http_host|server_name)\}[ \t]+(\S+)"
    rb"|\{http_host\}[^<>]*pattern\s*=\s*[\"']([^\"']+)"
)
# Each with two groups: the header tested and the (not negated) pattern it must match.
_CLOAK_RULES = (
    re.compile(
        rb"^[ \t]*rewritecond[ \t]+%\{(http_user_agent|http_referer)\}[ \t]+(?!!)(\S+)",
        re.MULTILINE,
    ),
    re.compile(
        rb"^[ \t]*(?:setenvif\w*[ \t]+(user-agent|referer)|(browsermatch)\w*)[ \t]+(?!!)(\S+)",
        re.MULTILINE,
    ),
    re.compile(
        rb"input\s*=\s*[\"']\{(http_user_agent|http_referer)\}[\"'][^<>]*pattern\s*=\s*[\"']"
        rb"(?!!)([^\"']+)"
    ),
)
_ENGINE_IN_PATTERN = re.compile(rb"google|bing|yahoo|slurp|yandex|baidu|duckduck|msnbot")
_PREPEND = re.compile(
    rb"^[ \t]*(?:php_value[ \t]+)?(auto_(?:prepend|append)_file)[ \t]*=?[ \t]*[\"']?([^\s\"']*)",
    re.MULTILINE,
)
_ADD_HANDLER = re.compile(rb"^[ \t]*(?:addtype|addhandler)[ \t]+(\S+)[ \t]+([^\n#]+)", re.MULTILINE)
_SET_HANDLER = re.compile(rb"^[ \t]*sethandler[ \t]+(\S+)", re.MULTILINE)
_PHP_ENGINE_ON = re.compile(rb"^[ \t]*php_flag[ \t]+engine[ \t]+(?:on|1)\b", re.MULTILINE)
_EXEC_HANDLER = re.compile(rb"php|x-httpd|cgi|fcgid|fastcgi|perl|python|server-parsed|asp")
_FILES_BLOCK = re.compile(rb"<files(?:match)?\b([^<>]*)>(.*?)</files", re.DOTALL)
_WEBCONFIG_HANDLER = re.compile(rb"<add\b[^<>]*\bpath\s*=\s*[\"']([^\"']+)[\"'][^<>]*>")
_WEBCONFIG_EXEC = re.compile(
    rb"(?:modules|scriptprocessor)\s*=\s*[\"'][^\"']*(?:fastcgi|php|isapi|cgi)"
)
_NOT_SCRIPT_WORDS = _DISGUISE_EXTS_B | _tokens("html htm js")
_SECOND_LEVEL = _tokens("go co ac or sch desa web my mil net biz ponpes gov com org edu")


def _server_config(doc: _Doc) -> list[_Hit]:
    """Redirects, cloaking, prepended PHP and new executable types in server configuration."""
    text = doc.lower
    hits: list[_Hit] = []
    own = {_registered(host) for m in _OWN_HOST.finditer(text) for host in _hosts_in(m)}
    for m in [*_HT_REDIRECT.finditer(text), *_WEBCONFIG_REDIRECT.finditer(text)]:
        url = next(group for group in m.groups() if group)
        host = _HOST.match(url)
        if host is None or b"%{" in url or b"{http_host}" in url or b"{server_name}" in url:
            continue
        if _registered(host.group(1)) not in own:
            hits.append(_hit("config_redirect", url))
    for rule in _CLOAK_RULES:
        for m in rule.finditer(text):
            *headers, pattern = m.groups()
            if _ENGINE_IN_PATTERN.search(pattern):
                header = next((h for h in headers if h), b"")
                hits.append(_hit("config_cloaking", header + b" " + pattern))
    for m in _PREPEND.finditer(text):
        if m.group(2) not in (b"", b"none"):
            hits.append(_hit("config_prepend", m.group(1) + b" " + m.group(2)))
    for m in _ADD_HANDLER.finditer(text):
        exts = {ext.lstrip(b".") for ext in m.group(2).split()}
        if _EXEC_HANDLER.search(m.group(1)) and exts - _SCRIPT_EXTS_B:
            hits.append(_hit("config_handler", m.group()))
    for m in _SET_HANDLER.finditer(text):
        if _EXEC_HANDLER.search(m.group(1)) and not _scripts_only(text, m.start()):
            hits.append(_hit("config_handler", m.group()))
    hits += [_hit("config_handler", m.group()) for m in _PHP_ENGINE_ON.finditer(text)]
    for m in _WEBCONFIG_HANDLER.finditer(text):
        ext = m.group(1).rpartition(b".")[2].strip(b"*")
        if _WEBCONFIG_EXEC.search(m.group()) and ext not in _SCRIPT_EXTS_B:
            hits.append(_hit("config_handler", m.group(1)))
    return hits


def _hosts_in(match: re.Match[bytes]) -> list[bytes]:
    """Host names in a RewriteCond pattern such as ^(www\\.)?kab\\.go\\.id$."""
    pattern = next((group for group in match.groups() if group), b"")
    cleaned = re.sub(rb"[\\^$!()\[\]?*+|]", b" ", pattern.replace(b"\\.", b"."))
    return [word for word in cleaned.split() if b"." in word.strip(b".")]


def _registered(host: bytes) -> bytes:
    """The registrable part of a host name (kab.go.id for www.kab.go.id)."""
    labels = host.strip(b".").split(b".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return b".".join(labels[-keep:])


def _scripts_only(text: bytes, pos: int) -> bool:
    """Whether a SetHandler at `pos` sits in a <Files> block that selects only script names."""
    for block in _FILES_BLOCK.finditer(text):
        if block.start(2) <= pos < block.end(2):
            words = set(re.findall(rb"[a-z0-9]+", block.group(1)))
            return bool(words & _SCRIPT_EXTS_B) and not words & _NOT_SCRIPT_WORDS
    return False


# --- sitemaps ------------------------------------------------------------------------------

_LOC = re.compile(rb"<loc>\s*(?:<!\[cdata\[)?\s*([^<\s\]]+)")
_REWRITE_MIN = 5  # an old sitemap this small is not judged on how much of it changed
_MASS_ADDED = 100


def _sitemap_reasons(new: _Doc, old: _Doc | None) -> list[Reason]:
    """Gambling URLs in a sitemap, or a sitemap rewritten to list pages that were not there."""
    new_urls = _LOC.findall(new.lower)
    old_urls = _LOC.findall(old.lower) if old is not None else []
    known = set(old_urls)
    added = [url for url in dict.fromkeys(new_urls) if url not in known]
    out = [Reason("sitemap_gambling", _detail(url)) for url in added if _gambling_terms(url)]
    if old is None or not added:
        return out
    old_hosts = {_bare_host(url) for url in old_urls}
    foreign = [url for url in added if old_hosts and _bare_host(url) not in old_hosts]
    replaced = len(known) >= _REWRITE_MIN and len(known - set(new_urls)) * 2 >= len(known)
    flooded = len(added) >= _MASS_ADDED and len(added) > len(known)
    if foreign:
        out.append(Reason("sitemap_rewritten", _detail(foreign[0])))
    elif replaced or flooded:
        out.append(Reason("sitemap_rewritten", _detail(added[0])))
    return out


def _bare_host(url: bytes) -> bytes:
    """A URL's host without a leading www."""
    match = _HOST.match(url)
    return match.group(1).removeprefix(b"www.") if match else b""
