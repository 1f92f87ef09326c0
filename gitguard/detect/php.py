"""A tokenizer-level view of PHP: strings decoded, expressions folded, request data followed.

The pattern rules read PHP as lines of text; webshells defeat that by spelling what matters in
pieces (`"sys"."tem"`, `"\\x62ase64_decode"`, `str_rot13('flfgrz')`, `$a="~+d()"^"!{+{}"`,
`${'_'.'POST'}`). This module reads the code the way PHP does: it splits it into tokens,
evaluates every expression as far as it is constant (strings, escapes, concatenation, `^ | & ~`
on strings, indexing, and the string and decoding functions webshells use), and follows where
request input, decoded data and sockets flow: into code execution, shell commands, includes,
callbacks, file writes and mail. Code that is run from a constant (`eval(gzinflate(...))`) is
decoded and read again, a few levels deep. Everything is bounded: tokens, sizes, depths.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from gitguard.detect.common import Regex

_MAX_TOKENS = 400_000
_MAX_CONST = 1 << 20  # a folded string longer than this is not kept
_MAX_NESTING = 8  # eval of eval of eval ... of a constant, read again this deep
_MAX_DEPTH = 150  # expression nesting the parser follows
_DETAIL_BYTES = 72

# --- tokens ---------------------------------------------------------------------------------

_OPEN = Regex(rb"<\?(?:php(?=\s)|=|(?!xml))", re.IGNORECASE)
# One match per token: the blanks and comments before it are skipped in the same match, and
# possessively, so that a megabyte of blanks costs one pass, not one pass per byte.
_TOKEN = Regex(
    rb"(?>\s++|(?://|\#(?!\[))[^\n?]*+(?:\?(?!>)[^\n?]*+)*+|/\*[^*]*+(?:\*(?!/)[^*]*+)*+(?:\*/|\Z))*+"
    rb"(?:(?P<op1>[;,)\]{}\[])"  # the commonest tokens, which start nothing else: tried first
    rb"|(?P<var>\$[A-Za-z_\x80-\xff][\w\x80-\xff]*+)"
    rb"|(?P<id>\\?[A-Za-z_\x80-\xff][\w\x80-\xff]*+(?:\\[A-Za-z_\x80-\xff][\w\x80-\xff]*+)*+)"
    rb"|(?P<close>\?>)"
    rb"|(?P<sq>'[^'\\]*+(?:\\.[^'\\]*+)*+(?:'|\Z))"
    rb"|(?P<dq>\"[^\"\\]*+(?:\\.[^\"\\]*+)*+(?:\"|\Z))"
    rb"|(?P<bt>`[^`\\]*+(?:\\.[^`\\]*+)*+(?:`|\Z))"
    rb"|(?P<here><<<[ \t]*(?P<quote>[\"']?)(?P<label>[A-Za-z_]\w*)(?P=quote)\r?\n)"
    rb"|(?P<num>0[xX][0-9a-fA-F_]+|0[bB][01_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)"
    rb"|(?P<cast>\(\s*(?:int|integer|bool|boolean|float|double|real|string|array|object|unset"
    rb"|binary)\s*\))"
    rb"|(?P<op>\*\*=|\.\.\.|<=>|===|!==|\?\?=|<<=|>>=|\?->|<<|>>|::|->|=>|\+\+|--|&&|\|\||\?\?"
    rb"|[.+\-*/%&|^<>!=]=|[^\s])|(?P<end>\Z))",
    re.DOTALL,
)
_ESCAPES = Regex(rb"\\(?:([nrtvef\\$\"])|x([0-9a-fA-F]{1,2})|([0-7]{1,3})|u\{([0-9a-fA-F]{1,6})\})")
_SIMPLE_ESCAPES = {
    b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v", b"e": b"\x1b", b"f": b"\f",
    b"\\": b"\\", b"$": b"$", b'"': b'"',
}  # fmt: skip
_HIDING_ESCAPE = Regex(rb"\\(?:x[0-9a-fA-F]|[0-7]|u\{)")
_INTERPOLATED = Regex(rb"\{?\$\{?([A-Za-z_\x80-\xff][\w\x80-\xff]*)(?:\[\s*['\"]?(\w+))?")


class Tok(NamedTuple):
    """One PHP token: kind, value, and where it starts in the file."""

    # Kinds: v variable, i name, s string, e string written with escapes, S string with
    # variables in it, n number, o operator, c cast, x backticks (a shell command).

    kind: str
    value: bytes
    pos: int
    parts: tuple[tuple[bytes, bytes], ...] = ()  # interpolated: (variable, index) pairs


_new = tuple.__new__  # a token without NamedTuple's argument handling: tokens come by the million


def _unescape_dq(raw: bytes) -> bytes:
    """A double-quoted PHP string's escapes resolved."""

    def one(m: re.Match[bytes]) -> bytes:
        if m.group(1):
            return _SIMPLE_ESCAPES[m.group(1)]
        if m.group(2):
            return bytes([int(m.group(2), 16)])
        if m.group(3):
            return bytes([int(m.group(3), 8) & 0xFF])
        try:
            return chr(int(m.group(4), 16)).encode("utf-8", "surrogatepass")
        except (ValueError, OverflowError):
            return b""

    return _ESCAPES.sub(one, raw) if b"\\" in raw else raw


def _string_token(raw: bytes, pos: int, double: bool) -> Tok:
    """A string literal as a token: decoded, and with the variables it interpolates."""
    if b"\\" not in raw and (not double or b"$" not in raw):
        return _new(Tok, ("s", raw, pos, ()))  # most strings: nothing to decode
    if not double:
        return Tok("s", raw.replace(b"\\\\", b"\\").replace(b"\\'", b"'"), pos)
    if b"$" in raw:
        parts = tuple(
            (m.group(1).lower(), (m.group(2) or b"").lower())
            for m in _INTERPOLATED.finditer(raw)
            if m.start() == 0 or raw[m.start() - 1 : m.start()] != b"\\"
        )
        if parts:
            return Tok("S", _unescape_dq(raw), pos, parts)
    # A name spelled in escapes ("\\x73ystem") is hidden the way a concatenation is.
    return Tok("e" if _HIDING_ESCAPE.search(raw) else "s", _unescape_dq(raw), pos)


def _heredoc(data: bytes, m: re.Match[bytes], out: list[Tok]) -> int:
    """Read a heredoc or nowdoc starting at `m` into `out`; where the code goes on."""
    label = m.group("label")
    end = re.compile(rb"\n[ \t]*" + re.escape(label) + rb"\b").search(data, m.end())
    stop = end.start() if end else len(data)
    out.append(_string_token(data[m.end() : stop], m.start("here"), m.group("quote") != b"'"))
    return end.end() if end else len(data)


def tokenize(data: bytes) -> list[Tok]:
    """The PHP tokens of a file (inline HTML skipped, `?>` read as `;`), bounded in number."""
    out: list[Tok] = []
    append = out.append
    pos = 0
    code_at: int | None = None
    while len(out) < _MAX_TOKENS:
        if code_at is None:
            opened = _OPEN.search(data, pos)
            if opened is None:
                break
            if opened.group().endswith(b"="):
                append(Tok("i", b"echo", opened.start()))
            code_at = opened.end()
        resume: int | None = None
        for m in _TOKEN.finditer(data, code_at):
            kind = m.lastgroup or "op"
            start = m.start(kind)
            if kind == "op1" or kind == "op":
                append(_new(Tok, ("o", m[kind], start, ())))
            elif kind == "var":
                append(_new(Tok, ("v", m[kind][1:].lower(), start, ())))
            elif kind == "id":
                name = m[kind]
                if b"\\" in name:
                    name = name.rsplit(b"\\", 1)[-1]
                append(_new(Tok, ("i", name.lower(), start, ())))
            elif kind == "end":
                pos = len(data)
                break
            elif kind == "close":
                append(Tok("o", b";", start))
                pos = m.end()
                break
            elif kind == "sq":
                text = m.group(kind)
                append(_string_token(text[1:-1] if text.endswith(b"'") else text[1:], start, False))
            elif kind == "dq":
                text = m.group(kind)
                append(_string_token(text[1:-1] if text.endswith(b'"') else text[1:], start, True))
            elif kind == "bt":
                shell = _string_token(m.group(kind)[1:-1], start, True)
                append(Tok("x", shell.value, start, shell.parts))
            elif kind == "here":
                resume = _heredoc(data, m, out)
                break
            elif kind == "num":
                append(Tok("n", m.group(kind).replace(b"_", b""), start))
            elif kind == "cast":
                append(Tok("c", m.group(kind)[1:-1].strip().lower(), start))
            if len(out) >= _MAX_TOKENS:
                break
        else:
            break
        code_at = resume
    return out


# --- values ---------------------------------------------------------------------------------

# Where a value comes from. `head` holds the sources of its first byte: who decides what it
# starts with (a function name, an include path, a file name) rather than what it contains.
_REQUEST = "request"
_DECODED = "decoded"  # out of a decoder (base64, gzip, rot13 ...) applied to unknown data
_REMOTE = "remote"  # fetched from another host
_SOCKET = "socket"  # read from a network connection
_UPLOAD = "upload"  # an uploaded file's temporary path
_UNSET = "unset"  # a variable the file never assigns, read outside any function
_FILENAME = "filename"  # the script's own file name (__FILE__): whoever names the file decides
_OUTPUT = "output"  # what the page printed, handed to an ob_start callback: request data echoed
_HANDLE_REQUEST = "handle:request"  # a file opened at a path the request chose
_HANDLE_SCRIPT = "handle:script"  # a file opened at a script's name
_SERVER = "marker:server"  # $_SERVER itself: only some of its entries are request data
_GLOBALS = "marker:globals"  # $GLOBALS itself: an entry is the variable it names
_MARKERS = frozenset({_HANDLE_REQUEST, _HANDLE_SCRIPT, _SERVER, _GLOBALS})
_INPUT = frozenset({_REQUEST, _DECODED, _REMOTE, _SOCKET})


@dataclass(frozen=True)
class Val:
    """What is known about the value of an expression."""

    const: bytes | None = None  # its string value, when constant
    num: int | None = None  # its integer value, when constant
    taint: frozenset[str] = frozenset()
    head: frozenset[str] = frozenset()
    hidden: bool = False  # constant, but spelled so that a text search misses it
    items: tuple[Val, ...] | None = None  # an array literal's values, in order
    keys: tuple[bytes | None, ...] = ()  # and their keys, where constant ('x' => ..., or 0, 1 ...)
    lead: bytes = b""  # how it starts, when that much is constant ('http://' . $path)

    def text(self) -> bytes | None:
        """The value as PHP would use it as a string, when constant."""
        if self.const is not None:
            return self.const
        return str(self.num).encode() if self.num is not None else None


_UNKNOWN = Val()


def _tainted(*sources: str) -> Val:
    """A value from these sources, first byte included."""
    return Val(taint=frozenset(sources), head=frozenset(sources))


def _join(vals: list[Val]) -> Val:
    """A value built from all of `vals` (taints merged; constant only when all agree)."""
    if not vals:
        return _UNKNOWN
    taint = frozenset().union(*(v.taint for v in vals)) - _MARKERS
    head = frozenset().union(*(v.head for v in vals)) - _MARKERS
    return Val(taint=taint, head=head) if taint or head else _UNKNOWN  # mostly the latter


def _const(value: bytes, hidden: bool = True) -> Val:
    """A constant string (dropped when too long to keep)."""
    return Val(const=value, hidden=hidden) if len(value) <= _MAX_CONST else _UNKNOWN


_MAX_PIECES = 4096
# Elements kept of an array built one assignment at a time: a table of callables is short, and
# a translation file's thousands of `$lang['x'] = ...` would otherwise cost a copy each.
_MAX_ELEMENTS = 64


def _pieces(parts: list[bytes]) -> Val:
    """An array of constant strings cut out of one (explode, str_split), bounded."""
    return Val(items=tuple(map(_const, parts))) if len(parts) <= _MAX_PIECES else _UNKNOWN


_SUPERGLOBALS = {
    b"_get": _tainted(_REQUEST),
    b"_post": _tainted(_REQUEST),
    b"_request": _tainted(_REQUEST),
    b"_cookie": _tainted(_REQUEST),
    b"_files": _tainted(_REQUEST, _UPLOAD),
    b"http_get_vars": _tainted(_REQUEST),
    b"http_post_vars": _tainted(_REQUEST),
    b"http_cookie_vars": _tainted(_REQUEST),
    b"http_post_files": _tainted(_REQUEST, _UPLOAD),
    b"http_raw_post_data": _tainted(_REQUEST),
    b"_server": Val(taint=frozenset({_SERVER})),
    b"http_server_vars": Val(taint=frozenset({_SERVER})),
    b"globals": Val(taint=frozenset({_GLOBALS})),
}
_REQUEST_SERVER_KEYS = (b"http_", b"query_string", b"request_uri", b"path_info", b"argv")


# --- folding: the string and decoding functions webshells spell their code with ----------------


def _inflate(data: bytes, wbits: int) -> bytes | None:
    """Decompressed data, bounded; None when it is not compressed data."""
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, _MAX_CONST)
    except zlib.error:
        return None
    return out


def _b64(data: bytes) -> bytes | None:
    """base64_decode's lenient reading: characters outside the alphabet are skipped."""
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
    try:
        return base64.b64decode(cleaned + b"=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


def _uudecode(data: bytes) -> bytes | None:
    """convert_uudecode."""
    out = bytearray()
    try:
        for line in data.split(b"\n"):
            if line and line not in (b"`", b"end"):
                out += binascii.a2b_uu(line)
    except binascii.Error:
        return None
    return bytes(out)


def _hex(data: bytes) -> bytes | None:
    """hex2bin, or pack('H*', ...)."""
    try:
        return bytes.fromhex(data.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None


def _unquote(data: bytes, plus: bool) -> bytes:
    """urldecode (plus=True) or rawurldecode."""
    data = data.replace(b"+", b" ") if plus else data
    return re.sub(rb"%([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), data)


def _rot13(data: bytes) -> bytes:
    """str_rot13."""
    return codecs.encode(data.decode("latin-1"), "rot13").encode("latin-1")


# One-argument decoders: what they make of a constant, and whether they hide what they decode.
_DECODERS: dict[bytes, tuple[Callable[[bytes], bytes | None], bool]] = {
    b"base64_decode": (_b64, True),
    b"gzinflate": (lambda d: _inflate(d, -15), True),
    b"gzuncompress": (lambda d: _inflate(d, 15), True),
    b"gzdecode": (lambda d: _inflate(d, 31), True),
    b"str_rot13": (_rot13, True),
    b"strrev": (lambda d: d[::-1], True),
    b"hex2bin": (_hex, True),
    b"convert_uudecode": (_uudecode, True),
    b"urldecode": (lambda d: _unquote(d, True), False),
    b"rawurldecode": (lambda d: _unquote(d, False), False),
    b"strtolower": (lambda d: d.lower(), False),
    b"strtoupper": (lambda d: d.upper(), False),
    b"ucfirst": (lambda d: d[:1].upper() + d[1:], False),
    b"lcfirst": (lambda d: d[:1].lower() + d[1:], False),
    b"trim": (lambda d: d.strip(b" \t\n\r\0\x0b"), False),
    b"ltrim": (lambda d: d.lstrip(b" \t\n\r\0\x0b"), False),
    b"rtrim": (lambda d: d.rstrip(b" \t\n\r\0\x0b"), False),
    b"chop": (lambda d: d.rstrip(b" \t\n\r\0\x0b"), False),
    b"stripslashes": (lambda d: re.sub(rb"\\(.)", rb"\1", d), False),
    b"html_entity_decode": (lambda d: d, False),
}

# Names whose call is what a webshell exists for; spelled in pieces, they are the evidence.
_CODE_SINKS = frozenset({b"eval", b"assert", b"create_function"})
_SHELL_SINKS = frozenset(
    {b"system", b"exec", b"passthru", b"shell_exec", b"popen", b"proc_open", b"pcntl_exec",
     b"expect_popen"}
)  # fmt: skip
_RUNNERS = _CODE_SINKS | _SHELL_SINKS | {b"call_user_func", b"call_user_func_array"}
_HIDEWORTHY = _RUNNERS | frozenset(_name for _name, (_, hides) in _DECODERS.items() if hides) | {
    b"file_put_contents", b"fwrite", b"fputs", b"move_uploaded_file", b"fsockopen",
    b"preg_replace", b"array_map", b"include", b"require", b"mail", b"curl_exec",
    b"file_get_contents", b"fopen", b"copy", b"unlink", b"chmod", b"getenv", b"extract",
    b"parse_str", b"register_shutdown_function", b"stream_socket_client", b"ini_set",
}  # fmt: skip
# Callback-taking functions and the position of the callback (-1: the last argument).
_CALLBACKS = {
    b"call_user_func": 0, b"call_user_func_array": 0, b"array_map": 0,
    b"register_shutdown_function": 0, b"register_tick_function": 0, b"ob_start": 0,
    b"forward_static_call": 0, b"forward_static_call_array": 0, b"header_register_callback": 0,
    b"set_error_handler": 0, b"set_exception_handler": 0, b"spl_autoload_register": 0,
    b"array_filter": 1, b"array_walk": 1, b"array_walk_recursive": 1, b"usort": 1,
    b"uasort": 1, b"uksort": 1, b"array_reduce": 1, b"preg_replace_callback": 1,
    b"iterator_apply": 1, b"mb_ereg_replace_callback": 1, b"createfunction": 1,
    b"callbackfilteriterator": 1, b"array_udiff": -1, b"array_uintersect": -1,
    b"array_diff_ukey": -1, b"array_intersect_ukey": -1, b"array_intersect_uassoc": -1,
    b"array_udiff_assoc": -1, b"array_diff_uassoc": -1, b"array_uintersect_assoc": -1,
    b"array_udiff_uassoc": -1, b"array_uintersect_uassoc": -1,
}  # fmt: skip
_SANITIZERS = frozenset(
    b"intval floatval boolval abs count sizeof strlen md5 sha1 crc32 hash hash_hmac "
    b"password_hash password_verify htmlspecialchars htmlentities strip_tags esc_html esc_attr "
    b"esc_url esc_sql esc_js esc_textarea absint sanitize_text_field sanitize_key "
    b"sanitize_file_name sanitize_title sanitize_email isset empty is_numeric is_string "
    b"is_array is_file is_dir is_readable is_writable file_exists in_array array_key_exists "
    b"preg_match preg_match_all preg_quote json_encode serialize var_export number_format round "
    b"floor ceil date gmdate strtotime time ctype_digit ctype_alnum ctype_alpha filter_var "
    b"function_exists method_exists class_exists defined is_callable is_object is_int "
    b"is_null is_bool mt_rand rand uniqid microtime addslashes mysqli_real_escape_string "
    b"mysql_real_escape_string urlencode rawurlencode base64_encode bin2hex dechex strpos "
    b"stripos strcmp strcasecmp version_compare max min array_keys".split()
)
_FETCHERS = frozenset(
    {b"file_get_contents", b"file", b"readfile", b"fopen", b"stream_get_contents",
     b"simplexml_load_file", b"get_meta_tags", b"gzfile", b"gzopen"}
)  # fmt: skip
_SOCKETS = frozenset(
    {b"fsockopen", b"pfsockopen", b"stream_socket_client", b"socket_create", b"socket_accept"}
)
_CONNECTS = frozenset({b"fsockopen", b"pfsockopen", b"stream_socket_client"})  # host first
_FILE_OPS = frozenset(
    {b"unlink", b"rmdir", b"rename", b"chmod", b"chown", b"mkdir", b"scandir", b"opendir",
     b"readfile", b"highlight_file", b"show_source", b"touch", b"file_get_contents", b"fopen",
     b"copy", b"move_uploaded_file", b"file_put_contents", b"glob", b"dir", b"filemtime"}
)  # fmt: skip
# Functions whose result starts with what any argument holds (the subject is not first).
_SPLITTERS = frozenset(
    b"explode str_split preg_split array_values array_merge array_reverse array_slice "
    b"array_pop array_shift current reset end next array_filter array_unique sprintf split "
    b"spliti".split()
)
# Functions whose result starts the way their third argument, the subject, does.
_REPLACERS = frozenset(b"str_replace str_ireplace preg_replace ereg_replace eregi_replace".split())
# An interactive shell program: with a socket and a command runner in one file, a reverse shell.
_SHELL_PROGRAM = Regex(rb"/bin/(?:ba|z|da|k)?sh\b|cmd(?:\.exe)?\s*/[ck]|\bsh\s+-i\b", re.I)
_FILE_MANAGER_OPS = 5  # request-chosen paths given to this many file functions: a file manager
_SCRIPT_NAME = Regex(rb"\.(?:php\d?|phtml|pht|phar|inc|shtml|cgi|pl|asp|aspx|jsp)\s*$", re.I)
_WRAPPER = Regex(rb"\s*(?:php://input|data:|https?://|ftps?://|expect://|zip://|phar://)", re.I)
_BINARY_OPS = {
    b"or": 1, b"xor": 2, b"and": 3, b"?": 5, b"??": 6, b"||": 7, b"&&": 8, b"|": 9, b"^": 10,
    b"&": 11, b"==": 12, b"!=": 12, b"===": 12, b"!==": 12, b"<>": 12, b"<=>": 12, b"<": 13,
    b"<=": 13, b">": 13, b">=": 13, b".": 14, b"<<": 15, b">>": 15, b"+": 16, b"-": 16,
    b"*": 17, b"/": 17, b"%": 17, b"instanceof": 18, b"**": 19,
}  # fmt: skip
_ASSIGN_OPS = frozenset(
    {b"=", b".=", b"+=", b"-=", b"*=", b"/=", b"%=", b"^=", b"|=", b"&=", b"??=", b"**=",
     b"<<=", b">>="}
)  # fmt: skip
_SKIP_WORDS = frozenset(
    b"if elseif else while do for switch case default try catch finally echo print break "
    b"continue declare goto global static abstract final public private protected var const "
    b"readonly use namespace endif endwhile endfor endforeach endswitch throw".split()
)
_TYPE_WORDS = frozenset(b"class interface trait enum extends implements".split())
# Where a variable after a comma is written, not read: list() and use(), and the functions that
# fill an argument passed by reference (preg_match's $m, exec's $output).
_WRITES_ARGUMENTS = frozenset(
    b"list use preg_match preg_match_all exec parse_str mb_parse_str similar_text sscanf fscanf "
    b"getmxrr dns_get_mx proc_open stream_select str_replace str_ireplace preg_replace "
    b"preg_replace_callback openssl_sign openssl_seal openssl_open openssl_private_decrypt "
    b"openssl_public_encrypt openssl_private_encrypt openssl_public_decrypt openssl_pkcs12_read "
    b"openssl_x509_export openssl_pkey_export openssl_csr_export flock headers_sent is_callable "
    b"socket_getpeername socket_getsockname socket_recv socket_recvfrom stream_socket_accept "
    b"fsockopen pfsockopen stream_socket_client stream_socket_server curl_multi_exec "
    b"getimagesize settype array_multisort array_push array_unshift array_splice array_walk "
    b"array_walk_recursive bind_result bind_param bindparam bindcolumn mysqli_stmt_bind_result "
    b"mysqli_stmt_bind_param mb_convert_variables getopt pcntl_wait pcntl_waitpid system "
    b"passthru".split()
)
_LISTED_REACH = 64  # tokens looked back for the bracket a listed variable sits in
_NAMED_LATER = b"$"  # the target of `$$name = ...` whose name is not known (no variable is "$")


class _Found(Exception):
    """Raised by the reader at its first finding, to stop reading."""


@dataclass(frozen=True)
class Finding:
    """A reason code and the quoted code that gives it."""

    code: str
    evidence: bytes


class _Reader:
    """One pass of abstract evaluation over a PHP file's tokens."""

    def __init__(
        self, data: bytes, toks: list[Tok], nesting: int, outside: frozenset[bytes] | None
    ) -> None:
        self.data = data
        self.toks = toks
        self.n = len(toks)
        # Operators and names by position, padded so that looking a few ahead needs no check.
        self.ops: list[bytes | None] = [t.value if t.kind in "oi" else None for t in toks]
        self.ops += [None] * 8
        self.nesting = nesting
        self.whole = outside is not None
        self.i = 0
        self.env: dict[bytes, Val] = {}
        self.flooded = False  # extract($_REQUEST) and kin: any unset variable is request data
        self.buffering = False  # reading ob_start's arguments
        self.returns: dict[bytes, Val] = {}  # function -> what it returns
        self.wrappers: dict[tuple[bytes, int], str] = {}  # (function, parameter) -> sink code
        self.params: dict[bytes, list[bytes]] = {}
        self.all_params: set[bytes] = set()
        self.functions: list[tuple[bytes, int]] = []  # open function bodies and their depth
        self.outer: list[dict[bytes, Val]] = []  # the variables outside each open function
        self.depth = 0
        self.found: list[Finding] = []
        self.file_ops: dict[bytes, int] = {}
        self.sockets: list[int] = []  # where connections are opened
        self.shells: list[int] = []  # where commands are run
        # Variables the file never assigns: outside functions, register_globals filled them
        # from the request (old shells are written for it).
        self.assigned = {
            tok.value for at, tok in enumerate(toks)
            if tok.kind == "v" and (self.ops[at + 1] in _ASSIGN_OPS or self.ops[at - 1] in
                                    (b"as", b"=>", b"global", b"static", b"&")
                                    or (self.ops[at - 1] == b"," and self.listed(at)))
        } | (outside or frozenset())  # fmt: skip

    def listed(self, at: int) -> bool:
        """Whether the variable after a comma at `at` is assigned there: `global $a, $b`,
        `list($a, $b)`, `[$a, $b] =`, `use ($a, $b)`, or an argument a function writes to."""
        depth = 0
        for back in range(at - 1, max(0, at - _LISTED_REACH), -1):
            op = self.ops[back]
            if op in (b")", b"]"):
                depth += 1
            elif op in (b"(", b"["):
                if depth == 0:
                    return op == b"[" or self.ops[back - 1] in _WRITES_ARGUMENTS
                depth -= 1
            elif op in (b";", b"{", b"}") and depth == 0:
                return self.ops[back + 1] in (b"global", b"static")
        return True  # too far to tell: assume it is

    # -- driving ---------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        """Read the file; read it again when what was learnt late may change the verdict."""
        try:
            self.walk()
            learnt = (
                self.wrappers
                or self.flooded
                or any(value.taint & _INPUT for value in self.env.values())
            )
            if learnt:
                self.walk()  # a function or variable used before the code that defines it
        except _Found:
            return self.found
        wired = self.sockets and self.shells and _SHELL_PROGRAM.search(self.data) is not None
        if wired and not any(f.code == "reverse_shell" for f in self.found):
            at = self.shells[0]
            line = self.data[at : at + _DETAIL_BYTES].split(b"\n", 1)[0].strip()
            self.found.append(Finding("reverse_shell", line))
        if len(self.file_ops) >= _FILE_MANAGER_OPS:
            names = b", ".join(sorted(self.file_ops))
            self.found.append(Finding("file_manager", names))
        return self.found

    def walk(self) -> None:
        """One pass over every statement."""
        self.i = 0
        self.depth = 0
        self.functions = []
        if self.outer:
            self.env, self.outer = self.outer[0], []
        while self.i < self.n:
            start = self.i
            self.statement()
            if self.i == start:
                self.i += 1

    def peek(self, offset: int = 0) -> Tok | None:
        """The token `offset` places ahead, if any."""
        at = self.i + offset
        return self.toks[at] if at < self.n else None

    def at(self, value: bytes, offset: int = 0) -> bool:
        """Whether the token `offset` ahead is the operator or name `value`."""
        return self.ops[self.i + offset] == value

    def report(self, code: str, pos: int, name: bytes = b"") -> None:
        """Record a finding quoting the code at `pos` (and the name it hid, if any)."""
        line = self.data[pos : pos + _DETAIL_BYTES].split(b"\n", 1)[0].strip()
        if name and name.lower() not in line.lower():
            line += b" [" + name[:40] + b"]"
        self.found.append(Finding(code, line))
        raise _Found  # one finding makes the change critical: the rest is not read

    def skip_group(self) -> None:
        """Skip from an opening bracket to its match."""
        level = 0
        while self.i < len(self.toks):
            tok = self.toks[self.i]
            self.i += 1
            if tok.kind == "o" and tok.value in (b"(", b"[", b"{"):
                level += 1
            elif tok.kind == "o" and tok.value in (b")", b"]", b"}"):
                level -= 1
                if level <= 0:
                    return

    # -- statements ------------------------------------------------------------------------

    def statement(self) -> None:
        """Read one statement, or one token of what is not an expression."""
        tok = self.toks[self.i]
        if tok.kind == "o":
            if tok.value == b"{":
                self.depth += 1
            elif tok.value == b"}":
                if self.functions and self.functions[-1][1] == self.depth:
                    name, _ = self.functions.pop()
                    if name != b"{closure}" and self.outer:
                        self.env = self.outer.pop()
                self.depth -= 1
            if tok.value in (b"{", b"}", b";", b":", b",", b")", b"]"):
                self.i += 1
                return
        if tok.kind == "i":
            word = tok.value
            if word == b"function" and self.peek(1) is not None and self.declare():
                return
            if word in _TYPE_WORDS:
                self.i += 1
                while self.i < self.n and self.peek().kind == "i":  # type: ignore[union-attr]
                    self.i += 1
                return
            if word in _SKIP_WORDS:
                self.i += 1
                return
            if word == b"return":
                self.i += 1
                value = self.expr(0)
                if self.functions and value is not None:
                    name = self.functions[-1][0]
                    self.returns[name] = _join([self.returns.get(name, _UNKNOWN), value])
                return
            if word == b"foreach" and self.at(b"(", 1):
                self.foreach()
                return
        self.expr(0)

    def declare(self) -> bool:
        """A named function: its parameters stand for what callers pass."""
        at = 1 + (1 if self.at(b"&", 1) else 0)
        name_tok = self.peek(at)
        if name_tok is None or name_tok.kind != "i" or not self.at(b"(", at + 1):
            return False
        name = name_tok.value
        self.i += at + 1
        params = self.parameters(name)
        self.params[name] = params
        self.all_params.update(params)
        while self.i < self.n and not self.at(b"{") and not self.at(b";"):
            self.i += 1
        if self.at(b"{"):
            self.functions.append((name, self.depth + 1))
            # A function sees its parameters, not the variables of the code around it.
            self.outer.append(self.env)
            self.env = {}
            self.bind(name, params)
        return True

    def parameters(self, name: bytes) -> list[bytes]:
        """Read `(...)` of a declaration; each parameter becomes a placeholder value."""
        start = self.i
        self.skip_group()
        # Defaults seldom hold variables: every variable in the list is a parameter.
        return [tok.value for tok in self.toks[start : self.i] if tok.kind == "v"]

    def bind(self, name: bytes, params: list[bytes]) -> None:
        """Parameters stand for what callers pass: placeholders a call fills in."""
        for index, param in enumerate(params):
            self.env[param] = _tainted(f"param:{name.decode('latin-1')}:{index}")

    def foreach(self) -> None:
        """foreach ($source as $key => $value): both carry the source's taint."""
        self.i += 2
        source = self.expr(0) or _UNKNOWN
        if self.at(b"as"):
            self.i += 1
            element = Val(taint=source.taint - _MARKERS, head=source.head - _MARKERS)
            if source.items and all(item.const is not None for item in source.items):
                element = Val(items=source.items)  # one of these names, for `$$element`
            while self.i < self.n and not self.at(b")"):
                tok = self.toks[self.i]
                if tok.kind == "v":
                    self.assign(tok.value, element)
                self.i += 1
        if self.at(b")"):
            self.i += 1

    def assign(self, name: bytes, value: Val, append: bool = False) -> None:
        """Give a variable a value (`.=` keeps what it had and adds to it)."""
        if append:
            old = self.env.get(name, _UNKNOWN)
            const = None
            if old.text() is not None and value.text() is not None:
                const = (old.text() or b"") + (value.text() or b"")
            joined = _join([old, value])
            value = Val(const=const, taint=joined.taint, head=old.head, hidden=True)
        elif name in self.env:
            # Read flow-insensitively: a variable keeps what any of its assignments brought.
            old = self.env[name]
            value = Val(
                value.const,
                value.num,
                value.taint | (old.taint - _MARKERS),
                value.head,
                value.hidden,
                value.items,
                value.keys,
            )
        self.env[name] = value

    def assign_to(self, target: bytes, value: Val, append: bool) -> None:
        """Assign to a variable, or to an element (`$a['x'] = ...`: kept by its key too)."""
        name, bracket, key = target.partition(b"[")
        if name == _NAMED_LATER:
            # $$key = $value with request data: any variable may now hold the request's.
            self.flooded = self.flooded or bool(value.taint & {_REQUEST})
            return
        if not bracket:
            self.assign(name, value, append)
            return
        old = self.env.get(name)
        if key == b"]":  # $a[] = ...: the next element
            self.assign(name, self.element(old, None, value))
            return
        self.assign(target, value, append)
        self.assign(name, self.element(old, key[:-1], value) if not append else value, append)

    @staticmethod
    def element(array: Val | None, key: bytes | None, value: Val) -> Val:
        """`array` with `value` at `key` (None: appended), its elements kept while they are few."""
        joined = _join([array or _UNKNOWN, value])
        if array is not None and (array.items is None or len(array.items) >= _MAX_ELEMENTS):
            return Val(taint=joined.taint, head=joined.head)  # not an array followed element-wise
        items = list(array.items or ()) if array is not None else []
        keys = list(array.keys) if array is not None else []
        if len(keys) != len(items):  # a list cut out of a string (explode): keyed by position
            keys = [str(number).encode() for number in range(len(items))]
        if key is not None and key in keys:
            items[keys.index(key)] = value
        else:
            items.append(value)
            keys.append(key if key is not None else str(len(items) - 1).encode())
        return Val(taint=joined.taint, head=joined.head, items=tuple(items), keys=tuple(keys))

    # -- expressions -----------------------------------------------------------------------

    def expr(self, min_prec: int, level: int = 0) -> Val | None:
        """An expression whose operators bind tighter than `min_prec`."""
        if level > _MAX_DEPTH:
            return None
        left, target = self.unary(level)
        if left is None:
            return None
        while True:
            tok = self.toks[self.i] if self.i < self.n else None  # peek(), inlined: hot
            if tok is None or tok.kind not in "oi":
                return left
            op = tok.value
            if tok.kind == "o" and op in _ASSIGN_OPS and min_prec <= 4:
                self.i += 1
                right = self.expr(4, level + 1) or _UNKNOWN
                if target is not None:
                    self.assign_to(
                        target, right if op in (b"=", b".=") else _join([right]), op == b".="
                    )
                left, target = right, None
                continue
            prec = _BINARY_OPS.get(op)
            if (
                prec is None
                or prec <= min_prec
                or (tok.kind == "i" and op not in (b"or", b"and", b"xor", b"instanceof"))
            ):
                return left
            self.i += 1
            if op == b"?":
                middle = self.expr(0, level + 1) if not self.at(b":") else left
                if self.at(b":"):
                    self.i += 1
                right = self.expr(5, level + 1) or _UNKNOWN
                left = _join([middle or _UNKNOWN, right])
            else:
                right = self.expr(prec - (op == b"**"), level + 1) or _UNKNOWN
                left = self.binary(op, left, right)
            target = None

    def binary(self, op: bytes, left: Val, right: Val) -> Val:
        """Fold a binary operator over constant strings and numbers; merge taints."""
        joined = _join([left, right])
        if op == b".":
            a, b = left.text(), right.text()
            head = left.head if a != b"" else right.head
            if a is not None and b is not None:
                return _const(a + b, hidden=(bool(a) and bool(b)) or left.hidden or right.hidden)
            return Val(taint=joined.taint, head=head, lead=a if a is not None else left.lead)
        if op == b"^" and (left.const is None) != (right.const is None):
            unknown = right if left.const is not None else left
            if unknown.num is None and (left.const or right.const):
                # A string XORed with a key known only at run time: how names and payloads hide.
                return Val(taint=joined.taint | {_DECODED}, head=joined.head | {_DECODED})
        if op in (b"^", b"|", b"&") and left.const is not None and right.const is not None:
            a, b = left.const, right.const
            if op == b"^":
                return _const(bytes(x ^ y for x, y in zip(a, b, strict=False)))
            if op == b"&":
                return _const(bytes(x & y for x, y in zip(a, b, strict=False)))
            longer = a if len(a) >= len(b) else b
            merged = bytes(x | y for x, y in zip(a, b, strict=False))
            return _const(merged + longer[len(merged) :])
        if left.num is not None and right.num is not None and op in (b"+", b"-", b"*"):
            number = {b"+": left.num + right.num, b"-": left.num - right.num,
                      b"*": left.num * right.num}[op]  # fmt: skip
            return Val(num=number) if abs(number) < 1 << 32 else _UNKNOWN
        if op in (b"??", b"||", b"&&", b"or", b"and", b"xor"):
            return joined
        if op in _BINARY_OPS and _BINARY_OPS[op] in (12, 13, 18):
            return _UNKNOWN  # a comparison is a boolean, whatever its operands
        return Val(taint=joined.taint)

    def unary(self, level: int) -> tuple[Val | None, bytes | None]:
        """Prefix operators, then a primary expression and what follows it."""
        tok = self.toks[self.i] if self.i < self.n else None
        if tok is None:
            return None, None
        if tok.kind == "o" and tok.value in (b"!", b"-", b"+", b"~", b"@", b"&", b"++", b"--"):
            self.i += 1
            value, target = self.unary(level + 1)
            if value is None:
                return None, None
            if tok.value == b"~" and value.const is not None:
                return _const(bytes(255 - c for c in value.const)), None
            if tok.value == b"-" and value.num is not None:
                return Val(num=-value.num), None
            if tok.value in (b"@", b"&", b"+"):
                return value, target
            return Val(taint=value.taint - _MARKERS), None
        if tok.kind == "c":
            self.i += 1
            value, _ = self.unary(level + 1)
            if tok.value in (b"string", b"binary", b"array", b"object"):
                return value, None
            return (Val(num=value.num) if value is not None else None), None
        return self.postfix(level)

    def postfix(self, level: int) -> tuple[Val | None, bytes | None]:
        """A primary expression followed by indexes, calls, property and method access."""
        start = self.toks[self.i] if self.i < self.n else None
        value, target = self.primary(level)
        if value is None or start is None:
            return value, target
        while True:
            tok = self.toks[self.i] if self.i < self.n else None
            if tok is None or tok.kind != "o":
                return value, target
            if tok.value == b"[" or (tok.value == b"{" and self.toks[self.i - 1].kind == "v"):
                close = b"]" if tok.value == b"[" else b"}"  # $s{0}: PHP 5's string offset
                self.i += 1
                index = self.expr(0, level + 1) if not self.at(close) else None
                if self.at(close):
                    self.i += 1
                key = index.text() if index is not None else None
                element = target + b"[" + key.lower() + b"]" if target and key else None
                if target and index is None and close == b"]" and b"[" not in target:
                    element = target + b"[]"  # $a[] = ...: appended
                if target in _SUPERGLOBALS or value.taint - _MARKERS - {_UNSET}:
                    element = None  # what the request holds, whatever the code assigns to it
                if element is not None and element in self.env:
                    value = self.env[element]  # $a['x'] = 'assert'; ... $a['x'](...)
                else:
                    value = self.index(value, index)
                if target is not None:  # assigned by its key, and to the whole array
                    whole = target.partition(b"[")[0]
                    target = element if element is not None and whole == target else whole
            elif tok.value == b"(":
                args = self.arguments(level)
                value = self.call(None, value, args, start.pos)
                target = None
            elif tok.value in (b"->", b"?->", b"::"):
                self.i += 1
                member = self.peek()
                if member is None:
                    return value, None
                self.i += 1
                if member.kind == "o" and member.value == b"{":
                    self.i -= 1
                    self.skip_group()
                if self.at(b"("):
                    args = self.arguments(level)
                    name = member.value if member.kind == "i" else b""
                    value = self.method(name, value, args, start.pos)
                else:
                    value = Val(taint=value.taint - _MARKERS)
                target = None
            elif tok.value in (b"++", b"--"):
                self.i += 1
            else:
                return value, target

    def index(self, base: Val, index: Val | None) -> Val:
        """`base[index]`: an array's element, a string's byte, a superglobal's entry."""
        key = index.text() if index is not None else None
        if _SERVER in base.taint:
            if key is not None and key.lower().startswith(_REQUEST_SERVER_KEYS):
                return _tainted(_REQUEST)
            return _UNKNOWN
        if _GLOBALS in base.taint:
            return self.variable(key.lower()) if key is not None else _UNKNOWN
        number = index.num if index is not None else None
        if base.items is not None and key is not None:
            if key.lower() in base.keys:
                return base.items[base.keys.index(key.lower())]
            if not base.keys and number is not None and 0 <= number < len(base.items):
                return base.items[number]
        if (
            number is not None
            and base.const is not None
            and -len(base.const) <= number < len(base.const)
        ):
            return _const(base.const[number : number + 1] or base.const[number:])
        if _UPLOAD in base.taint and key is not None and key.lower() != b"tmp_name":
            return _tainted(_REQUEST)  # an upload's name, type or size: chosen by the client
        return Val(taint=base.taint, head=base.head)

    def variable(self, name: bytes) -> Val:
        """The value of `$name` (superglobals by any spelling included)."""
        if name in _SUPERGLOBALS:
            return _SUPERGLOBALS[name]
        if name in self.env:
            return self.env[name]
        if name == b"this":
            return _UNKNOWN
        if self.flooded:
            return _tainted(_REQUEST)
        unassigned = name not in self.assigned and name not in self.all_params
        if self.whole and not self.functions and unassigned:
            return _tainted(_UNSET)
        return _UNKNOWN

    def arguments(self, level: int) -> list[Val]:
        """A call's argument list, from `(` to `)`."""
        self.i += 1
        args: list[Val] = []
        while self.i < self.n and not self.at(b")"):
            tok = self.toks[self.i]
            if tok.kind == "i" and self.at(b":", 1) and not self.at(b"::", 1):
                self.i += 2  # a named argument
                continue
            if self.at(b"..."):
                self.i += 1
            start = self.i
            value = self.expr(0, level + 1)
            args.append(value if value is not None else _UNKNOWN)
            if self.at(b","):
                self.i += 1
            elif not self.at(b")"):
                if self.i == start:
                    self.i += 1
                while self.i < self.n and not self.at(b",") and not self.at(b")"):
                    if self.at(b"(") or self.at(b"[") or self.at(b"{"):
                        self.skip_group()
                    else:
                        self.i += 1
                if self.at(b","):
                    self.i += 1
        if self.at(b")"):
            self.i += 1
        return args

    def array(self, level: int, close: bytes) -> Val:
        """An array literal: its values in order, taints merged."""
        self.i += 1
        items: list[Val] = []
        keys: list[bytes | None] = []
        while self.i < self.n and not self.at(close):
            value = self.expr(0, level + 1)
            key: bytes | None = str(len(items)).encode()
            if self.at(b"=>"):
                self.i += 1
                key = value.text() if value is not None else None
                if value is not None and value.taint:  # array($_GET['c'] => 1): keys are data
                    items.append(Val(taint=value.taint, head=value.head))
                    keys.append(None)
                value = self.expr(0, level + 1)
            items.append(value if value is not None else _UNKNOWN)
            keys.append(key.lower() if key is not None else None)
            if self.at(b",") or not self.at(close):
                self.i += 1
        if self.at(close):
            self.i += 1
        joined = _join(items)
        return Val(taint=joined.taint, head=joined.head, items=tuple(items), keys=tuple(keys))

    def primary(self, level: int) -> tuple[Val | None, bytes | None]:
        """A variable, literal, name, call, array, group, `new`, closure or include."""
        tok = self.toks[self.i]
        kind, value = tok.kind, tok.value
        if kind == "v":
            self.i += 1
            return self.variable(value), value
        if kind in "se":
            self.i += 1
            return Val(const=value, hidden=kind == "e"), None
        if kind == "S":
            self.i += 1
            parts = [self.interpolated(name, key) for name, key in tok.parts]
            joined = _join(parts)
            first = value.startswith(b"$") or value.startswith(b"{$")
            return Val(taint=joined.taint, head=parts[0].head if first else frozenset()), None
        if kind == "x":
            self.i += 1
            parts = [self.interpolated(name, key) for name, key in tok.parts]
            self.shell(_join(parts), tok.pos)
            return Val(taint=frozenset({_REMOTE}) & _join(parts).taint), None
        if kind == "n":
            self.i += 1
            try:
                return Val(num=int(value, 0) if value[:2].lower() in (b"0x", b"0b") else
                           int(value)), None  # fmt: skip
            except ValueError:
                return _UNKNOWN, None
        if kind == "o":
            return self.operator_primary(tok, level)
        if kind == "i":
            return self.name(tok, level), None
        return None, None

    def operator_primary(self, tok: Tok, level: int) -> tuple[Val | None, bytes | None]:
        """Primaries that start with an operator: `$$var`, `${expr}`, `(expr)`, `[...]`."""
        value = tok.value
        if value == b"$":
            self.i += 1
            if self.at(b"{"):
                self.i += 1
                name = self.expr(0, level + 1)
                if self.at(b"}"):
                    self.i += 1
            else:
                inner, _ = self.primary(level + 1) if self.i < self.n else (None, None)
                name = inner
            text = name.text() if name is not None else None
            if text is not None:
                return self.variable(text.lower()), text.lower()
            names = [item.text() for item in name.items or ()] if name is not None else []
            if names and None not in names:  # one of a list: foreach (['_GET', '_POST'] as $n)
                return _join([self.variable((n or b"").lower()) for n in names]), _NAMED_LATER
            return Val(taint=name.head if name is not None else frozenset()), _NAMED_LATER
        if value == b"(":
            self.i += 1
            inner = self.expr(0, level + 1)
            if self.at(b")"):
                self.i += 1
            else:
                self.skip_to(b")")
            return inner if inner is not None else _UNKNOWN, None
        if value == b"[":
            return self.array(level, b"]"), None
        return None, None

    def skip_to(self, close: bytes) -> None:
        """Skip to just after `close` (nested brackets skipped whole)."""
        while self.i < self.n and not self.at(close):
            if self.at(b"(") or self.at(b"[") or self.at(b"{"):
                self.skip_group()
            else:
                self.i += 1
        if self.at(close):
            self.i += 1

    def interpolated(self, name: bytes, key: bytes) -> Val:
        """A variable written inside a double-quoted string (`"$_GET[c]"`, `"{$a['b']}"`)."""
        base = self.variable(name)
        return self.index(base, Val(const=key)) if key else base

    def name(self, tok: Tok, level: int) -> Val:
        """A bare name: a keyword that takes an expression, a call, a constant."""
        word = tok.value
        self.i += 1
        if word in (b"include", b"include_once", b"require", b"require_once"):
            target = self.expr(0, level + 1) or _UNKNOWN
            self.include(target, tok.pos)
            return _UNKNOWN
        if word == b"__file__":
            return _tainted(_FILENAME)
        if word in (b"print", b"echo", b"clone", b"yield", b"throw"):
            return self.expr(0, level + 1) or _UNKNOWN
        if word == b"new":
            return self.new(tok, level)
        if word in (b"function", b"fn", b"static"):
            return self.closure(word, level)
        if word in (b"array", b"list") and self.at(b"("):
            return self.array(level, b")")
        if word in (b"isset", b"empty", b"unset", b"exit", b"die") and self.at(b"("):
            self.arguments(level)
            return _UNKNOWN
        if self.at(b"("):
            self.buffering, outer = word == b"ob_start", self.buffering
            args = self.arguments(level)
            self.buffering = outer
            if word == b"ob_start" and args:
                args.append(_tainted(_OUTPUT))  # what a named callback is handed
            return self.call(word, None, args, tok.pos)
        if self.at(b"::") or word in (b"true", b"false", b"null"):
            return _UNKNOWN
        return Val(const=word)  # PHP before 8 reads an undefined constant as its own name

    def new(self, tok: Tok, level: int) -> Val:
        """`new Class(...)`: a class named by the request, and callback-taking classes."""
        nxt = self.peek()
        if nxt is None:
            return _UNKNOWN
        if nxt.kind == "i":
            self.i += 1
            if nxt.value == b"class":  # an anonymous class: its body is read as statements
                if self.at(b"("):
                    self.arguments(level)
                return _UNKNOWN
            cls = Val(const=nxt.value)
        else:
            found, _ = self.primary(level + 1)
            cls = found or _UNKNOWN
        args = self.arguments(level) if self.at(b"(") else []
        if cls.head & {_REQUEST, _DECODED}:
            self.report("code_from_request", tok.pos)
        if b"__construct" in self.params:
            self.user(b"__construct", args, tok.pos)
        name = (cls.const or b"").lower()
        if name == b"reflectionfunction" and args:
            self.callback(args[0], tok.pos)
        elif name == b"callbackfilteriterator" and len(args) > 1:
            self.callback(args[1], tok.pos)
        return _UNKNOWN

    def closure(self, word: bytes, level: int) -> Val:
        """An anonymous function: its body is read where it stands."""
        if word == b"static" and not (self.at(b"function") or self.at(b"fn")):
            return _UNKNOWN
        if word == b"static":
            word = self.toks[self.i].value
            self.i += 1
        if self.at(b"&"):
            self.i += 1
        if self.at(b"("):
            params = self.parameters(b"{closure}")
            self.bind(b"{closure}", params)
            if self.buffering:  # ob_start(function ($buffer) {...}): the page's output
                self.env.update(dict.fromkeys(params, _tainted(_OUTPUT)))
        if word == b"fn":
            while self.i < self.n and not self.at(b"=>"):
                self.i += 1
            self.i += 1
            self.expr(0, level + 1)
            return _UNKNOWN
        if self.at(b"use"):
            self.i += 1
            self.skip_group()
        while self.i < self.n and not self.at(b"{") and not self.at(b";"):
            self.i += 1
        if self.at(b"{") and level < _MAX_DEPTH:
            outside = self.depth
            self.functions.append((b"{closure}", outside + 1))
            while self.i < self.n:
                start = self.i
                self.statement()
                if self.i == start:
                    self.i += 1  # a token no statement starts with: always move on
                if self.depth == outside:
                    break
        return _UNKNOWN

    # -- calls and sinks -------------------------------------------------------------------

    def call(self, name: bytes | None, callee: Val | None, args: list[Val], pos: int) -> Val:
        """A function call, by name or through a value (`$f(...)`, `"sys"."tem"(...)`)."""
        hidden = False
        if callee is not None:
            self.wrapper(Val(taint=callee.head), "code_from_request")
            named_by_file = callee.head & {_FILENAME} and _join(args).taint & {_REQUEST}
            if callee.head & {_REQUEST, _DECODED, _REMOTE, _UNSET} or named_by_file:
                request = _REQUEST in callee.head or named_by_file
                self.report("code_from_request" if request else "code_from_decoded", pos)
                return _join(args)
            text = callee.text()
            if text is None and callee.items:  # foreach (['system', 'exec'] as $f) $f(...)
                names = [(item.text() or b"").lower() for item in callee.items]
                runner = next((n for n in names if n in _RUNNERS), None)
                if runner is not None:  # the shell functions a kit tries one after another
                    return self.known(runner, args, pos, False)
            if text is None or not re.fullmatch(rb"\\?[A-Za-z_][\w\\]*", text):
                return _join(args) if callee.items is None else _UNKNOWN
            name = text.lstrip(b"\\").lower()
            hidden = callee.hidden
            if hidden and name in _HIDEWORTHY:
                self.report("hidden_call", pos, name)
        assert name is not None
        return self.known(name, args, pos, hidden)

    def method(self, name: bytes, obj: Val, args: list[Val], pos: int) -> Val:
        """A method call: SQLite3::createFunction, ReflectionFunction::invoke, user methods."""
        name = name.lower()
        if name == b"createfunction" and len(args) > 1:
            self.callback(args[1], pos)
        if name == b"fromcallable" and args:  # Closure::fromCallable($name)
            self.callback(args[0], pos)
        if name in self.params:
            return self.user(name, args, pos)
        return Val(taint=obj.taint - _MARKERS)

    def known(self, name: bytes, args: list[Val], pos: int, hidden: bool) -> Val:
        """What calling `name` with `args` means: a sink, a source, a fold, or a user function."""
        first = args[0] if args else _UNKNOWN
        if name in _CODE_SINKS:
            body = args[1] if name == b"create_function" and len(args) > 1 else first
            self.run_code(body, pos)
            return _UNKNOWN
        if name in _SHELL_SINKS:
            self.shell(_join(args) if name == b"proc_open" else first, pos, args)
            return Val(taint=frozenset({_REMOTE}) & first.taint)
        if name in _CALLBACKS:
            slot = _CALLBACKS[name]
            if args and slot < len(args):
                self.callback(args[slot], pos, args)
        if name in (b"preg_replace", b"preg_filter") and args:
            pattern = first.text()
            if pattern is not None and _PREG_EVAL.match(pattern):
                self.report("preg_replace_eval", pos)
        if name in (b"mb_ereg_replace", b"mb_eregi_replace") and len(args) > 3:
            option = args[3].text()
            if option is not None and b"e" in option:
                self.report("preg_replace_eval", pos)
        if name in _FILE_OPS and first.head & {_REQUEST, _UNSET}:
            self.file_ops[name] = pos
        if name in self.params:
            return self.user(name, args, pos)
        if name in _DECODERS:
            decode, hides = _DECODERS[name]
            text = first.text()
            if text is not None:
                out = decode(text)
                if out is not None:
                    return _const(out, hidden=hides or first.hidden)
            if hides and (first.taint - _MARKERS or first.const is None):
                return Val(
                    taint=(first.taint - _MARKERS) | {_DECODED}, head=first.head | {_DECODED}
                )
            return Val(taint=first.taint - _MARKERS, head=first.head - _MARKERS)
        folded = self.fold(name, args)
        if folded is not None:
            return folded
        return self.effect(name, args, pos)

    def fold(self, name: bytes, args: list[Val]) -> Val | None:
        """String functions over constants: chr, implode, str_replace, substr, pack, strtr."""
        texts = [a.text() for a in args]
        if name == b"chr" and args and args[0].num is not None:
            return _const(bytes([args[0].num % 256]))
        if name == b"explode" and len(args) >= 2 and texts[0] and texts[1] is not None:
            return _pieces((texts[1] or b"").split(texts[0] or b" "))
        if name == b"str_split" and texts and texts[0] is not None:
            size = args[1].num if len(args) > 1 else 1
            whole = texts[0] or b""
            if size is not None and size > 0 and len(whole) <= _MAX_PIECES * size:
                return _pieces([whole[at : at + size] for at in range(0, len(whole), size)])
        if name == b"array_reverse" and args and args[0].items is not None:
            return Val(items=args[0].items[::-1])
        if name == b"array_diff" and args and all(a.items is not None for a in args):
            dropped = {item.text() for a in args[1:] for item in a.items or ()}
            kept = [item for item in args[0].items or () if item.text() not in dropped]
            if None not in dropped and all(item.text() is not None for item in kept):
                return Val(items=tuple(kept))  # ["sys", "x", "tem"] minus ["x"]
        if name in (b"implode", b"join") and args:
            array = next((a for a in args if a.items is not None), None)
            glue = next((t for a, t in zip(args, texts, strict=True) if a.items is None), b"")
            if array is not None and array.items is not None:
                pieces = [item.text() for item in array.items]
                if all(p is not None for p in pieces) and glue is not None:
                    return _const((glue or b"").join(p or b"" for p in pieces))
        if name in (b"str_replace", b"str_ireplace") and len(args) >= 3 and texts[2] is not None:
            subject = texts[2] or b""
            searches = [args[0]] if args[0].items is None else list(args[0].items)
            replaces = [args[1]] if args[1].items is None else list(args[1].items)
            for number, search in enumerate(searches):
                needle = search.text()
                repl = replaces[min(number, len(replaces) - 1)].text() if replaces else b""
                if needle is None or repl is None:
                    return None
                if needle:
                    if name == b"str_ireplace":
                        subject = re.sub(re.escape(needle), repl.replace(b"\\", b"\\\\"),
                                         subject, flags=re.I)  # fmt: skip
                    else:
                        subject = subject.replace(needle, repl)
            return _const(subject)
        if name in (b"substr", b"mb_substr") and len(args) >= 2 and texts[0] is not None:
            start = args[1].num
            length = args[2].num if len(args) > 2 else None
            if start is not None and (len(args) < 3 or length is not None):
                piece = (texts[0] or b"")[start:]
                if length is not None:
                    piece = piece[:length]
                return _const(piece)
        times = args[1].num if len(args) == 2 else None
        if name == b"str_repeat" and texts[0] is not None and times is not None:
            return _const((texts[0] or b"") * max(0, min(times, _MAX_CONST)))
        if name == b"substr_replace" and len(args) >= 3 and None not in texts[:2]:
            begin = args[2].num
            if begin is not None:
                subject = texts[0] or b""
                count = args[3].num if len(args) > 3 else None
                stop = len(subject) if count is None else begin + count
                return _const(subject[:begin] + (texts[1] or b"") + subject[stop:])
        if name == b"strtr" and len(args) == 3 and None not in texts:
            frm, to = texts[1] or b"", texts[2] or b""
            size = min(len(frm), len(to))
            return _const((texts[0] or b"").translate(bytes.maketrans(frm[:size], to[:size])))
        if name == b"pack" and args and texts[0] is not None:
            fmt = (texts[0] or b"").lower()
            if fmt.startswith(b"h") and len(args) > 1 and texts[1] is not None:
                out = _hex(texts[1] or b"")
                return _const(out) if out is not None else None
            if fmt.startswith(b"c") and all(a.num is not None for a in args[1:]):
                return _const(bytes((a.num or 0) % 256 for a in args[1:]))
        if name in (b"sprintf", b"vsprintf") and texts and texts[0] == b"%s" and len(args) > 1:
            return args[1]
        return None

    def effect(self, name: bytes, args: list[Val], pos: int) -> Val:
        """Sources (request, remote, sockets), writers, mail, and taint through other calls."""
        first = args[0] if args else _UNKNOWN
        texts = [a.text() for a in args]
        if name == b"getenv" and texts and texts[0] is not None:
            key = (texts[0] or b"").lower()
            return _tainted(_REQUEST) if key.startswith(_REQUEST_SERVER_KEYS) else _UNKNOWN
        if name in (b"getallheaders", b"apache_request_headers"):
            return _tainted(_REQUEST)
        if name in (b"extract", b"import_request_variables") or (
            name in (b"parse_str", b"mb_parse_str") and len(args) == 1
        ):
            if name == b"import_request_variables" or first.taint & {_REQUEST}:
                self.flooded = True
            return _UNKNOWN
        if name in _SOCKETS:
            self.sockets.append(pos)
            if name in _CONNECTS and first.taint & {_REQUEST}:
                self.report("flooder", pos)  # the visitor picks whom the server connects to
            return _tainted(_SOCKET)
        if name in _FETCHERS:
            where = (texts[0] if texts[0] is not None else first.lead) if texts else b""
            if where.lower().startswith(b"php://input"):
                value = _tainted(_REQUEST)
            # Request data anywhere in the path ("php" . $_GET['q']) lets the visitor pick it.
            elif _WRAPPER.match(where) or first.head & {_REMOTE} or first.taint & {_REQUEST}:
                value = _tainted(_REMOTE)
            else:
                value = Val(taint=first.taint - _MARKERS, head=first.head - _MARKERS)
            if name == b"fopen":
                mode = texts[1] if len(texts) > 1 else None
                writes = mode is not None and bool(re.search(rb"[waxc+]", mode))
                marks = set()
                if writes and first.head & {_REQUEST, _UNSET}:
                    marks.add(_HANDLE_REQUEST)
                if writes and _SCRIPT_NAME.search(where):
                    marks.add(_HANDLE_SCRIPT)
                value = Val(taint=value.taint | marks, head=value.head)
            return value
        if name == b"curl_exec":
            return _tainted(_REMOTE)
        if name in (b"file_put_contents", b"fwrite", b"fputs", b"gzwrite"):
            if len(args) > 1:
                self.write(args[0], args[1], pos, handle=name != b"file_put_contents")
            return _UNKNOWN
        if name in (b"move_uploaded_file", b"copy", b"rename") and len(args) > 1:
            source, dest = args[0], args[1]
            fresh = (
                source.taint & {_REQUEST, _UPLOAD, _REMOTE}
                or source.head & {_UNSET}
                or _WRAPPER.match(texts[0] or b"-")
            )
            if fresh and self.script_target(dest):
                self.report("file_dropper", pos)
            return _UNKNOWN
        if name == b"mail" and len(args) > 2:
            # Recipients and what is sent (subject, body or the headers that carry a
            # multipart body) both chosen by the request: a mass mailer, not a contact form.
            if first.head & {_REQUEST, _UNSET} and _join(args[1:]).taint & {_REQUEST, _UNSET}:
                self.report("mailer", pos)
            return _UNKNOWN
        if name in _SANITIZERS or name.startswith((b"is_", b"ctype_", b"esc_", b"sanitize_")):
            return _UNKNOWN
        if name in (b"fread", b"fgets", b"fgetc", b"socket_read", b"socket_recv",
                    b"stream_get_line", b"fgetss"):  # fmt: skip
            return Val(taint=first.taint & {_SOCKET, _REQUEST, _REMOTE}, head=first.head)
        joined = _join(args)
        if name in _SPLITTERS:
            return Val(taint=joined.taint, head=joined.head)
        if name in _REPLACERS and len(args) > 2:
            return Val(taint=joined.taint, head=args[2].head - _MARKERS)
        return Val(taint=joined.taint, head=first.head - _MARKERS)

    def user(self, name: bytes, args: list[Val], pos: int) -> Val:
        """A call of a function defined in the file: its sinks, and what it returns."""
        for index, arg in enumerate(args):
            code = self.wrappers.get((name, index))
            if code is None:
                continue
            self.wrapper(arg, code)  # a function that hands its parameter on is a sink too
            if arg.taint & {_REQUEST, _OUTPUT}:
                self.report(code, pos)
            elif (arg.text() or b"").lower() in _RUNNERS and code == "code_from_request":
                self.report("callback_exec", pos, arg.text() or b"")
            elif arg.taint & {_DECODED, _REMOTE} and code.startswith("code_"):
                self.report("code_from_decoded", pos)
        result = self.returns.get(name, _UNKNOWN)
        tags = {f"param:{name.decode('latin-1')}:{i}": arg for i, arg in enumerate(args)}
        passed = [tags[t] for t in result.taint if t in tags]
        own = Val(taint=frozenset(t for t in result.taint if not t.startswith("param:")))
        return _join([own, *passed]) if passed or own.taint else result

    def wrapper(self, value: Val, code: str) -> None:
        """A sink reached by a function's parameter makes that function a sink too."""
        for tag in value.taint:
            if tag.startswith("param:"):
                _, func, index = tag.rsplit(":", 2)
                self.wrappers.setdefault((func.encode("latin-1"), int(index)), code)

    def run_code(self, body: Val, pos: int) -> None:
        """eval, assert, create_function: of the request, of decoded data, of a constant."""
        self.wrapper(body, "code_from_request")
        if body.taint & {_REQUEST, _OUTPUT} or body.head & {_UNSET}:
            self.report("code_from_request", pos)
        elif body.taint & {_DECODED, _REMOTE}:
            self.report("code_from_decoded", pos)
        elif body.const is not None:
            if self.nesting < _MAX_NESTING:
                # What the decoded code does is the better evidence: it comes first.
                self.found.extend(analyse(b"<?php " + body.const, self.nesting + 1))
            if body.hidden:
                self.report("code_from_decoded", pos)
            if self.found:
                raise _Found

    def shell(self, command: Val, pos: int, args: list[Val] | None = None) -> None:
        """A shell command: from the request, or wired to a network connection."""
        self.shells.append(pos)
        self.wrapper(command, "shell_from_request")
        every = _join(args) if args else command
        if every.taint & {_SOCKET}:
            self.report("reverse_shell", pos)
        elif command.taint & {_REQUEST, _OUTPUT} or command.head & {_UNSET}:
            self.report("shell_from_request", pos)
        elif command.taint & {_DECODED}:
            self.report("code_from_decoded", pos)

    def callback(self, func: Val, pos: int, args: list[Val] | None = None) -> None:
        """A callable handed to another function: named by the request, or a runner."""
        data = _join([arg for arg in args or [] if arg is not func])
        if func.head & {_REQUEST, _DECODED} or (
            func.head & {_FILENAME} and data.taint & {_REQUEST}
        ):
            request = func.head & {_REQUEST} or data.taint & {_REQUEST}
            self.report("code_from_request" if request else "code_from_decoded", pos)
            return
        if func.items is not None and len(func.items) == 2:
            func = func.items[1]  # [$object, 'method'], [new Kelas, 'method']
        name = (func.text() or b"").lstrip(b"\\").lower().rpartition(b"::")[2]
        if name in _RUNNERS or (name in _HIDEWORTHY and func.hidden):
            self.report("callback_exec", pos, name)
        elif name in self.params and args is not None:
            # A function or method of the file called back with the other arguments' data.
            self.user(name, [data] * max(1, len(self.params[name])), pos)

    def include(self, target: Val, pos: int) -> None:
        """include/require of a path the request, an upload or a remote host decides."""
        self.wrapper(target, "include_request")
        text = target.text()
        if target.head & {_REQUEST, _UPLOAD, _REMOTE, _DECODED} or _WRAPPER.match(
            text if text is not None else target.lead
        ):
            self.report("include_request", pos)

    def write(self, where: Val, data: Val, pos: int, handle: bool) -> None:
        """A file written: at a path the request chose, or a script from outside data."""
        # Unassigned variables count as the request's (register_globals file managers).
        outside = data.taint & {_REQUEST, _REMOTE, _DECODED, _UPLOAD, _UNSET}
        if handle:
            chosen = _HANDLE_REQUEST in where.taint
            script = _HANDLE_SCRIPT in where.taint
        else:
            chosen = bool(where.head & {_REQUEST, _UNSET})
            script = self.script_target(where)
        if outside and (chosen or script):
            self.report("file_dropper", pos)

    @staticmethod
    def script_target(where: Val) -> bool:
        """Whether a destination path is the request's choice or a script's name."""
        text = where.text()
        return bool(where.head & {_REQUEST}) or (
            text is not None and bool(_SCRIPT_NAME.search(text))
        )


_PREG_EVAL = Regex(rb"\s*([^\w\s\\])(?:.*)[^\w\s\\]?[a-zA-Z]*e[a-zA-Z]*\s*\Z", re.DOTALL)


# The prefilter, the way YARA's atoms spare its matcher: the reader can only report a call,
# an include or backticks. Code that names no sink, callback, writer, socket or file function
# and calls nothing through a value ($f(), $a['x'](), "sys"."tem"(), `new $k`) has nothing
# to report, however its names are spelled, so it is never tokenized.
_SINK_WORDS = (
    _CODE_SINKS | _SHELL_SINKS | _SOCKETS | _FILE_OPS | frozenset(_CALLBACKS)
    | frozenset(b"include include_once require require_once fwrite fputs gzwrite mail "
                b"preg_replace preg_filter mb_ereg_replace mb_eregi_replace "
                b"reflectionfunction".split())
)  # fmt: skip
_DYNAMIC = Regex(
    rb"(?:\$[\w\x80-\xff]+|[\])}'\"])(?:\s++|/\*.*?\*/|(?:\#|//)[^\n]*+)*+\("
    rb"|\b(?i:new)\s*+[$(]|`[^`$]*+\$",
    re.DOTALL,
)


def worth(words: frozenset[bytes], code: bytes) -> bool:
    """Whether `code` (its lower-case `words` given) can hold anything `analyse` reports."""
    return not words.isdisjoint(_SINK_WORDS) or _DYNAMIC.search(code) is not None


def analyse(
    data: bytes, nesting: int = 0, outside: frozenset[bytes] | None = frozenset()
) -> list[Finding]:
    """What the PHP in `data` does with request input, decoded data and connections."""
    # A variable the code never assigns is register_globals input (old shells are written
    # for it), unless `outside` names it: the variables of the rest of the file, when `data`
    # is only the part that changed; None when the rest may assign any (extract, $$name).
    toks = tokenize(data)
    if not toks:
        return []
    return _Reader(data, toks, nesting, outside).run()
