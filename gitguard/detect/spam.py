"""Defacement, online-gambling spam, hidden links, injected scripts, redirects and cloaking."""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from gitguard.detect.common import (
    _CALL_BLOCKERS,
    _HOST,
    _LEET,
    _LETTERS,
    _PAGE_EXTS,
    _TAG,
    _WORD_CHARS,
    Regex,
    _commented,
    _detail,
    _Doc,
    _evidence,
    _free,
    _Hit,
    _hit,
    _host_hit,
    _near,
    _Term,
    _tokens,
)
from gitguard.model import Reason

# --- defacement ----------------------------------------------------------------------------

# Read on the leet-normalised visible text, so "H4ck3d <b>By</b>" reads "hacked by".
_DEFACE_STRONG = Regex(
    rb"hacked\s*by|defaced\s*by|hacked\s*oleh|pwned\s*by"
    rb"|diretas\s*oleh|di\s*-?\s*(?:hack|hacked|deface|defaced|retas)\s*(?:oleh|by)"
    rb"|security\s*is\s*(?:just\s*|only\s*)?(?:an?\s*)?illusion"
    rb"|greetz|greets\s*to"
)
# Leetspeak spellings are markers on their own; read on the plain visible text.
_DEFACE_LEET = Regex(rb"h[4@]ck[3e]d|hack3d|d[3e]f[4@]c[3e]d|0wn[3e]d")
# Phrases ordinary prose uses too; they count only where defacers put them (title, headings,
# marquee), or in a note of a few lines (hacked.txt).
_DEFACE_WEAK = Regex(rb"owned\s*by|was\s*here|touched\s*by|hacked|owned")
_DEFACE_NOTE = Regex(rb"owned[ \t]*by|was[ \t]*here|touched[ \t]*by")
_DEFACE_CONTEXT = Regex(
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


class _Family(NamedTuple):
    """Gambling terms that start with one word, tried only where that word occurs."""

    keys: frozenset[bytes]  # the word, and the joined spellings spam domains use
    regex: Regex
    strong: bool  # False: a news item against gambling uses the term too


def _family(keys: str, pattern: bytes, strong: bool = True) -> _Family:
    """A family from its keys and its pattern (`~` stands for the space between words)."""
    # Each pattern starts with a literal word, so the regex engine skips ahead to it.
    return _Family(_tokens(keys), Regex(pattern.replace(b"~", _S)), strong)


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
_ANTI_GAMBLING = Regex(
    rb"berantas|memberantas|pemberantasan|satgas|bahaya|imbau|himbau|mengimbau|menghimbau"
    rb"|jauhi|sosialisasi|penindakan|tersangka|polres|polda|kecanduan|perangi|memerangi"
    rb"|larangan|pencegahan|mencegah"
)
_SEP_RUN = Regex(rb"(?:[\s\-_+./]|%20|&nbsp;|<[^<>]{0,60}>)+")
_TITLE = Regex(rb"<title\b[^<>]*>([^<]{0,300})")


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


def _doc_terms(doc: _Doc) -> list[_Term]:
    """The gambling terms of the whole content, found once per document."""
    if doc.gambling is None:
        doc.gambling = _gambling_terms(doc.lower, _gambling_families(doc.words, doc.lower))
    return doc.gambling


def _gambling(doc: _Doc) -> list[_Hit]:
    """Each online-gambling term, counted, so that only added ones are new."""
    return [_hit("gambling_spam", term.term) for term in _doc_terms(doc)]


_DOORWAY_MIN_TERMS = 5
_DOORWAY_PER_100_WORDS = 3


def _doorway(doc: _Doc) -> list[_Hit]:
    """A page made mostly of gambling keywords, or titled with them."""
    terms = _doc_terms(doc)
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
_CSS_VALUE = Regex(
    rb":\s*(none|hidden|-?\d*\.?\d+)(px|pt|em|rem|%)?\s*(?:!important\s*)?(?=[;'\"\\}]|$)"
)
_CSS_PROPERTY = Regex(rb"([a-z-]+)\s*$")
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
_IN_STYLE = Regex(rb"\bstyle\s*=\s*\\?[\"']?[^\"'<>]*$")
_OPEN_TAG = Regex(rb"<([a-z][a-z0-9]*)\b")
_STYLE_BLOCK = Regex(rb"<style\b[^<>]*>(.{0,20000}?)</style", re.DOTALL)
_HIDDEN_SELECTOR = Regex(rb"([.#])([a-z][\w-]{1,40})\s*\{([^{}]{0,400})\}")
_LINK = Regex(
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
_SRC_TAG = Regex(rb"<(?:script|iframe|frame|embed)\b[^<>]*?\bsrc\s*=\s*\\?[\"']?\s*" + _URL)
_SRC_GATE = _tokens("script iframe frame embed")
_DYNAMIC_SRC = Regex(
    rb"\.src\s*=\s*[\"']" + _URL + rb"|setattribute\s*\(\s*[\"']src[\"']\s*,\s*[\"']" + _URL
)
_GETSCRIPT = Regex(rb"getscript\s*\(\s*[\"']" + _URL)
_DOC_WRITE = Regex(rb"document\s*\.\s*write(?:ln)?\s*\(")
_CONCAT = Regex(rb"[\"']\s*\+\s*[\"']")
_META_REFRESH = Regex(
    rb"<meta\b[^<>]*http-equiv\s*=\s*\\?[\"']?refresh[^<>]*?url\s*=\s*\\?[\"']?" + _URL
)
_JS_REDIRECT = Regex(
    rb"location(?:(?:\s*\.\s*href)?\s*=\s*|\s*\.\s*(?:replace|assign)\s*\(\s*)[\"']" + _URL
)
_PHP_REDIRECT = Regex(rb"header\s*\(\s*[\"']location\s*:\s*" + _URL)


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


_VERIFY_META = Regex(
    rb"<meta\b[^<>]*\b(google-site-verification|msvalidate\.01|yandex-verification"
    rb"|baidu-site-verification)\b[^<>]*>"
)
_CONTENT_ATTR = Regex(rb"content\s*=\s*\\?[\"']([^\"'\\]{1,120})")


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


_JS_OBFUSCATION = (
    (
        b"eval",
        Regex(
            rb"eval\s*\(\s*(?:(?:atob|unescape|decodeuricomponent|string\s*\.\s*fromcharcode)\s*\("
            rb"|function\s*\(\s*p\s*,\s*a\s*,\s*c\s*,\s*k\s*,\s*e\s*,)"
        ),
    ),
    (b"fromcharcode", Regex(rb"fromcharcode\s*\(\s*(?:\d+\s*,\s*){30,}")),
    (b"unescape", Regex(rb"unescape\s*\(\s*[\"'](?:%[0-9a-f]{2}){30,}")),
)
_HEX_NAMES = Regex(rb"_0x[0-9a-f]{4,6}")
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
_SERVES = Regex(
    rb"echo|print|include|require|readfile|file_get_contents|curl_exec|header\s*\(|eval\s*\("
)
_SERVES_WINDOW = 400


# (header, a name near it, whether it must also serve something)
_CLOAK_CHECKS = (
    (b"http_user_agent", Regex(_SEARCH_BOTS), False),
    (b"http_user_agent", Regex(_ANY_BOT), True),
    (b"http_referer", Regex(_SEARCH_ENGINE), True),
)
_HEADERS = {header: Regex(header) for header, _, _ in _CLOAK_CHECKS}


def _php_cloaking(doc: _Doc) -> list[_Hit]:
    """Code that tells crawlers (or visitors arriving from a search engine) apart."""
    text = doc.lower
    hits = []
    for header, token, must_serve in _CLOAK_CHECKS:
        if header not in doc.words:
            continue
        for start, end, name in _near(text, _HEADERS[header], token):
            if _commented(text, start):
                continue
            if must_serve and not _SERVES.search(text, start, end + _SERVES_WINDOW):
                continue
            evidence = header + b" ~ " + name
            hits.append(_Hit(header, Reason("php_cloaking", _detail(evidence.upper()))))
            break
    return hits


_FETCH_NAMES = (
    b"file_get_contents", b"fopen", b"readfile", b"file", b"fsockopen", b"pfsockopen",
    b"curl_init", b"include", b"include_once", b"require", b"require_once", b"copy",
    b"simplexml_load_file", b"get_meta_tags", b"curlopt_url,",
)  # fmt: skip
_FETCH_GATE = frozenset(name.rstrip(b",") for name in _FETCH_NAMES)
_URL_LITERAL = Regex(rb"://[^\"'\s]+")
_QUOTED_SCHEME = (b'"http', b"'http", b'"https', b"'https", b'"ftp', b"'ftp")
_FETCH_VAR = Regex(
    rb"(?:" + b"|".join(_FETCH_NAMES).replace(b",", rb"\s*,") + rb")\s*\(?\s*\$(\w+)"
)
_URL_ASSIGNED = Regex(rb"\$(\w+)\s*=\s*[\"']((?:https?|ftp)://[^\"'\s]+)")


def _fetched(text: bytes, pos: int) -> bool:
    """Whether the quoted URL at `pos` is the argument of a function that fetches it."""
    head = text[max(0, pos - 48) : pos].rstrip().rstrip(b"(").rstrip()
    return head.endswith(_FETCH_NAMES) and any(
        head.endswith(name) and _free(head, len(head) - len(name), _CALL_BLOCKERS)
        for name in _FETCH_NAMES
    )


_CLI_ONLY = Regex(rb"php_sapi(?:_name\s*\(\s*\))?\s*!==?\s*[\"']cli[\"']")


def _command_line(doc: _Doc) -> bool:
    """Whether a PHP file is a command-line script (a build or install tool), not a page."""
    return doc.lower.startswith(b"#!") or _CLI_ONLY.search(doc.lower) is not None


def _remote_fetch(doc: _Doc) -> list[_Hit]:
    """Content pulled from a literal remote URL (spam feeds, remote includes)."""
    if not doc.has(_FETCH_GATE) or b"://" not in doc.lower or _command_line(doc):
        return []
    text = doc.lower
    calls = []
    for m in _URL_LITERAL.finditer(text):
        if text.endswith(_QUOTED_SCHEME, max(0, m.start() - 6), m.start()):
            near = max(0, m.start() - 7)  # the quote is at most 6 bytes back: look no further
            quote = max(text.rfind(b"'", near, m.start()), text.rfind(b'"', near, m.start()))
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


# --- sitemaps ------------------------------------------------------------------------------

_LOC = Regex(rb"<loc>\s*(?:<!\[cdata\[)?\s*([^<\s\]]+)")
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
