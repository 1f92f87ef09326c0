"""Webshells and backdoors found by patterns: code from the request, markers, obfuscation."""

from __future__ import annotations

import base64
import binascii
import functools
import re
import unicodedata
from typing import NamedTuple

from gitguard.detect.common import (
    _CALL_BLOCKERS,
    _DISGUISE_EXTS_B,
    _WORD_TABLE,
    Regex,
    _commented,
    _Doc,
    _evidence,
    _free,
    _Hit,
    _hit,
    _near,
    _tokens,
)
from gitguard.detect.php import analyse, worth
from gitguard.detect.spam import _CLI_ONLY

# --- PHP: code execution from the request or from decoded strings --------------------------

_REQUEST = Regex(
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
_DECODE = Regex(
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
def _sink_regex(name: bytes, tail: bytes) -> re.Pattern[bytes]:
    """Calls of the function `name`."""
    return re.compile(name + tail)


_REQUEST_CALL = Regex(
    rb"\$_(?:get|post|request|cookie|server)\s*\[[^\]\n]{1,80}\]\s*\(|\$\{\s*[\"']_(?:get|post)"
)
_VAR_CALL = Regex(rb"\$(\w+)\(([^;]{0,300})")
_BACKTICK = Regex(rb"`\s*\{?\$(\w+)\b[^`\n]{0,200}`")
_EXTRACT_REQUEST = Regex(rb"extract\s*\(\s*\$_(?:get|post|request|cookie)")
_VARIABLE = Regex(rb"\$(\w+)")
_LITERAL_ONLY = Regex(rb"\s*(?:(?:\"[^\"]*\"|'[^']*')\s*\.?\s*)+")
_PREG_E = Regex(
    rb"preg_replace\s*\(\s*([\"'])([^a-z0-9\s\\\"'])(?:\\.|(?!\2)[^\\\n]){0,500}?\2[a-z]*e[a-z]*\1"
)
_UPLOAD_HANDLER = Regex(rb"(?:move_uploaded_file\s*\(|copy\s*\(\s*\$_files)[^;]{0,60}")
_UPLOAD_GATE = _tokens("move_uploaded_file _files")


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


# An assignment, to the end of its line or statement.
_ASSIGNMENT = Regex(rb"\$(\w+)\s*\.?=(?![=>])\s*([^;\n]{0,300})")


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

    def calls(pattern: Regex | _Sink) -> list[re.Match[bytes]]:
        if isinstance(pattern, _Sink):
            # One regex per name present: a regex that starts with a literal skips ahead to it,
            # one that starts with an alternation tries every byte.
            found = [
                m
                for name in sorted(doc.words & pattern.names)
                for m in _sink_regex(name, pattern.tail).finditer(text)
            ]
            found.sort(key=lambda m: m.start())
        else:
            found = list(pattern.finditer(text))
        return [
            m
            for m in found
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
# One regex per keyword, each starting with its literal (which the regex engine skips to).
_INCLUDE_LITERALS = tuple(
    (_tokens(f"{word} {word}_once"), Regex(
        word.encode() + rb"(?:_once)?\s*\(?\s*([\"'])((?:\\.|(?!\1)[^\\\n]){1,300})\1"))
    for word in ("include", "require")
)  # fmt: skip
_ESCAPE = Regex(rb"\\x([0-9a-f]{2})|\\([0-7]{1,3})")
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
    found = [m for words, rx in _INCLUDE_LITERALS if doc.has(words) for m in rx.finditer(text)]
    for m in sorted(found, key=lambda m: m.start()):
        if not _free(text, m.start(), _CALL_BLOCKERS) or _commented(text, m.start()):
            continue
        target = _unescape(m.group(2))
        if b"." in target and target.rpartition(b".")[2] in _DISGUISE_EXTS_B:
            hits.append(_hit("include_disguised", target))
    return hits


# Other server languages' classic one-liners (China Chopper and friends), each tried only
# when its first word occurs.
_FOREIGN_EXEC = (
    (b"eval", "code_from_request", Regex(rb"eval\s*\(\s*request\s*[.(\[][^)\n]{0,60}")),
    (
        b"execute",
        "code_from_request",
        Regex(rb"execute\s*\(?\s*request\s*[(\[.][^)\n]{0,60}"),
    ),
    (
        b"getruntime",
        "shell_from_request",
        Regex(rb"runtime\s*\.\s*getruntime\s*\(\s*\)\s*\.\s*exec\s*\(\s*request\s*\.[^)\n]{0,60}"),
    ),
    (
        b"executeglobal",
        "code_from_request",
        Regex(rb"executeglobal\s*\(?\s*request\s*[(\[.][^)\n]{0,60}"),
    ),
)


_JSP_REQUEST = Regex(rb"request\s*\.\s*(?:getparameter|getheader|getinputstream|getreader)\s*\(")
_ASPX_REQUEST = Regex(
    rb"request\s*(?:[(\[]|\.\s*(?:form|querystring|item|params|headers|binaryread|inputstream"
    rb"|totalbytes))"
)
# Larger JSP and ASP(X) shells: a command or class loader fed by the request nearby (either
# order, see `_near`). Each is tried only when both its words occur.
_RUNTIME_EXEC = Regex(rb"getruntime\s*\(\s*\)\s*\.\s*exec\s*\(")
_PROCESS_BUILDER = Regex(rb"new\s+processbuilder\s*\(")
_DEFINE_CLASS = Regex(rb"defineclass\s*\(")
_JSP_NEAR = (
    (_tokens("getruntime getparameter"), "shell_from_request", _JSP_REQUEST, _RUNTIME_EXEC),
    (_tokens("processbuilder request"), "shell_from_request", _JSP_REQUEST, _PROCESS_BUILDER),
    (_tokens("defineclass request"), "code_from_request", _JSP_REQUEST, _DEFINE_CLASS),
)
_WSCRIPT = Regex(rb"wscript\.shell")
_WSCRIPT_RUN = Regex(rb"\.\s*(?:exec|run)\s*\(?\s*(?:\w+\s*&\s*)?request")
_PROCESS_START = Regex(rb"process\s*\.\s*start\s*\(|processstartinfo")
_ASSEMBLY_LOAD = Regex(rb"assembly\s*\.\s*load\s*\(")
_TEXT_FILE = Regex(rb"createtextfile\s*\(")
_WRITTEN_REQUEST = Regex(
    rb"(?:\.\s*write(?:line)?\b|createtextfile\s*\()[^\n]{0,100}?request\s*[.(\[]"
)
_ASP_NEAR = (
    (_tokens("createobject request"), "shell_from_request", _WSCRIPT, _WSCRIPT_RUN),
    (_tokens("start request"), "shell_from_request", _ASPX_REQUEST, _PROCESS_START),
    (_tokens("load request"), "code_from_request", _ASPX_REQUEST, _ASSEMBLY_LOAD),
    (_tokens("createtextfile request"), "file_dropper", _TEXT_FILE, _WRITTEN_REQUEST),
)
_ASP_EXECUTE_WORDS = _tokens("execute executeglobal eval")
_FOREIGN_REACH = 2000  # a JSP or ASP page is read whole: the request and the sink are far apart
_ASP_EXTS = frozenset({"asp", "asa", "cer", "aspx", "ashx", "asmx"})
# VBScript's Execute/Eval of anything but a literal, in a page that reads the request: code
# decoded or put together at run time (Chr() loops, XOR with a key, a session variable).
_ASP_EXECUTE = Regex(
    rb"(?<![\w.])(?:executeglobal|execute|eval)\b[ \t]*+\(?+[ \t]*+(?![\"' \t)\n])"
)


def _foreign_code(doc: _Doc) -> list[_Hit]:
    """ASP, ASP.NET and JSP webshells: one-liners, and commands or classes from the request."""
    if b"request" not in doc.words:
        return []
    hits = [
        _hit(code, m.group())
        for word, code, pattern in _FOREIGN_EXEC
        if word in doc.words
        for m in pattern.finditer(doc.lower)
    ]
    if doc.ext in _ASP_EXTS and not hits and doc.has(_ASP_EXECUTE_WORDS):
        found_run = _ASP_EXECUTE.search(doc.lower)
        if found_run is not None:
            hits.append(_hit("code_from_request", _evidence(doc.lower[found_run.start() :])))
    for words, code, first, second in (*_JSP_NEAR, *_ASP_NEAR):
        if words <= doc.words and not hits:
            found = next(_near(doc.lower, first, second, _FOREIGN_REACH), None)
            if found is not None:
                start, end, _ = found
                hits.append(_hit(code, _evidence(doc.lower[start:end])))
    return hits


# --- PHP: webshell signatures and obfuscation ----------------------------------------------

# Names webshells print or keep in their code: single words, and phrases (read only when all
# their words occur).
_MARKER_WORDS = _tokens(
    "filesman indoxploit b374k c99shell c99sh c99_sh c99madshell r57shell wso_version "
    "alfacgiapi alfa_data alfateam minishell sh3ll idbte4m con7ext tinyfilemanager phpspy 4ngel "
    "b374k_config wso_ex filesman_ajax phpremoteview remview phpshell_version phpshell spygrup "
    "kingdefacer"
)
_MARKER_PHRASES = tuple(
    (_tokens(phrase), Regex(phrase.replace(" ", r"\s*").encode()))
    for phrase in (
        "mini shell", "wso shell", "r57 shell", "alfa team", "alfa shell", "bypass shell",
        "shell bypass", "0byte shell", "gecko shell", "marijuana shell", "haxor shell",
        "priv8 shell", "priv8 uploader", "tiny file manager", "web shell by orb",
        "security angel team", "php shell by", "safe mode bypass", "obfuscated by yak pro",
        "reverse engineering of this file is strictly prohibited", "backdoor php",
        "php backdoor", "safe mode shell", "safe mode breaker", "gfs web", "w3d shell",
        "winx shell", "mysql web interface", "antichat socks",
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


_LONG_BASE64 = Regex(rb"[\"'][a-z0-9+/]{1000,}={0,2}[\"']")
# Charset tables in real code run to a few dozen escapes; encoded payloads to hundreds.
# Each run read once, from a literal backslash (a regex that starts with a repeat tries every byte).
_ESCAPED_RUN = Regex(rb"\\(?:x[0-9a-f]{2}(?:\\x[0-9a-f]{2})*|[0-7]{3}(?:\\[0-7]{3})*)")
_ESCAPED_RUN_MIN = 100 * 4
# The FOPO / "OOO0O0" encoder: a name table decoded from percent escapes, then eval.
_NAME_TABLE = Regex(rb"\$[o0_]{6,}\s*=\s*urldecode\s*\(\s*[\"'](?:%[0-9a-f]{2}){8,}")
_CHR_CALL = rb"chr\s*\(\s*\d+\s*\)\s*\.\s*"
_CHR_CHAIN = Regex(_CHR_CALL + rb"(?:" + _CHR_CALL + rb"){9,}")  # a literal first: fast


@functools.lru_cache(maxsize=16)
def _decode_chain(name: bytes) -> re.Pattern[bytes]:
    """A decoder applied to another decoder's result, starting with `name` (a literal: fast)."""
    return re.compile(name + rb"\s*\(\s*(?:" + _DECODERS + rb")\s*\(")


_LONG_WORD = 60  # a 1000-character base64 literal all but surely holds a word this long
_SYMBOL_SOUP_LINE = 300  # non-alphanumeric code (`$_=''^'...'`) on long lines
_SYMBOL_SOUP_RATIO = 0.7
# Letters of any script count as letters: translations in Cyrillic, Chinese, Arabic or Telugu
# are text, not symbols (every byte of their UTF-8 is above 0x7f).
_ALNUM_SPACE = b"abcdefghijklmnopqrstuvwxyz0123456789 \t\r" + bytes(range(0x80, 0x100))
_SOUP_VARIABLES = 10  # symbol-only PHP is made of variables ($_, $__ ...); a long regex is not


# What a long base64 literal in real code holds: an image, a font, an archive.
_FILE_MAGIC = (
    b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"wOFF", b"wOF2", b"\x00\x01\x00\x00", b"OTTO",
    b"PK\x03\x04", b"%PDF", b"<svg", b"<?xml", b"RIFF", b"\x00\x00\x01\x00",
)  # fmt: skip


def _embedded_file(doc: _Doc, start: int) -> bool:
    """Whether the base64 literal at `start` encodes a file (an image, a font), not code."""
    head = doc.data[start + 1 : start + 1 + 64]
    try:
        decoded = base64.b64decode(head[: len(head) // 4 * 4])
    except (binascii.Error, ValueError):
        return False
    return decoded.startswith(_FILE_MAGIC)


def _escaped_prose(escaped: bytes) -> bool:
    """Whether a run of escapes spells text in some script (a translation), not a payload."""
    try:
        text = _unescape(escaped).decode("utf-8")
    except UnicodeDecodeError:
        return False
    letters = sum(unicodedata.category(ch)[0] in "LMNPZ" for ch in text)
    foreign = sum(ord(ch) > 0x7F for ch in text)  # escaped because it is not ASCII
    return letters >= 0.9 * len(text) and foreign >= 0.5 * len(text)


def _php_obfuscation(doc: _Doc) -> list[_Hit]:
    """Long base64 or escaped literals, chr() chains, nested decoders, symbol-only code."""
    text = doc.lower
    found: list[re.Match[bytes]] = []
    if max(map(len, doc.words), default=0) >= _LONG_WORD:
        found += (m for m in _LONG_BASE64.finditer(text) if not _embedded_file(doc, m.start()))
    if b"\\" in text:
        found += (
            m
            for m in _ESCAPED_RUN.finditer(text)
            if len(m.group()) >= _ESCAPED_RUN_MIN and not _escaped_prose(m.group())
        )
    if b"chr" in doc.words:
        found += _CHR_CHAIN.finditer(text)
    if b"urldecode" in doc.words:
        found += _NAME_TABLE.finditer(text)
    if doc.has(_DECODER_NAMES):
        names = doc.words & _DECODER_NAMES
        chains = [m for name in names for m in _decode_chain(name).finditer(text)]
        found += sorted(
            (m for m in chains if _free(text, m.start(), _CALL_BLOCKERS)), key=lambda m: m.start()
        )
    hits = [_hit("obfuscated_code", m.group()[:40]) for m in found]
    if not doc.binary:
        for line in [line for line in text.split(b"\n") if len(line) >= _SYMBOL_SOUP_LINE]:
            symbols = len(line.translate(None, _ALNUM_SPACE))
            soup = symbols >= _SYMBOL_SOUP_RATIO * len(line.strip())
            if soup and line.count(b"$") >= _SOUP_VARIABLES:
                hits.append(_hit("obfuscated_code", line.strip()[:40]))
    return hits


# --- PHP: image polyglots ------------------------------------------------------------------

_IMAGE_MAGIC = (b"gif87a", b"gif89a", b"\x89png", b"\xff\xd8\xff", b"bm", b"riff")
_PHP_OPEN = Regex(rb"<\?(?:php|=)")


def _polyglot(doc: _Doc) -> list[_Hit]:
    """PHP behind an image header (GIF89a;<?php ...): made to pass an upload's type check."""
    if not doc.lower.startswith(_IMAGE_MAGIC):
        return []
    found = _PHP_OPEN.search(doc.lower)
    if found is None:
        return []
    return [
        _hit(
            "image_polyglot", doc.data[:6] + b" ... " + doc.data[found.start() : found.start() + 40]
        )
    ]


# --- PHP: the tokenizer-level view (php.py) ------------------------------------------------

DEEP_CODES = (
    "code_from_request", "code_from_decoded", "shell_from_request", "preg_replace_eval",
    "hidden_call", "callback_exec", "include_request", "file_dropper", "reverse_shell",
    "mailer", "file_manager", "flooder",
)  # fmt: skip


def _deep_worth(doc: _Doc) -> bool:
    """Whether the PHP view can find anything in what it reads (`doc.code`): the prefilter."""
    if _CLI_ONLY.search(doc.lower) is not None:
        return False  # a script that refuses to run on the web
    if not worth(doc.words, doc.lower):
        return False  # nothing in the whole file: nothing in any part of it
    if doc.code is doc.data or len(doc.code) * 2 > len(doc.data):
        return True  # most of the file changed: its words are the part's, near enough
    code = doc.code.lower()
    return worth(frozenset(code.translate(_WORD_TABLE).split()), code)


def _php_deep(doc: _Doc) -> list[_Hit]:
    """What the tokenizer-level reading of the PHP finds (see `gitguard.detect.php`)."""
    return [_hit(found.code, found.evidence) for found in analyse(doc.code, outside=doc.outside)]
