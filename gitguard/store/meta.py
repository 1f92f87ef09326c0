"""The reserved metadata file: every path's full mode, owner and kind, one line each.

It lives in each snapshot's tree as `.gitguard-meta`, so `chmod 777` or a new owner shows up
as a diff in plain `git log -p`, and a restore can put modes back. Empty folders, FIFOs,
sockets and devices, which git cannot hold, live here too.

Every path is listed under its real name. A file git refuses to hold under that name (any
`.git` part, a `.gitmodules` link, or gitguard's own reserved names) keeps its content in
the tree under an escaped name in UNSTORABLE_DIR; `stored_name` and `real_path` map between
the two, so nothing outside the store ever sees the escaped form.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from gitguard.model import ENCODING, ERRORS, Kind, path_bytes, path_str

META_PATH = ".gitguard-meta"
UNSTORABLE_DIR = ".gitguard-unstorable"
DB_DIR = ".gitguard-db"  # the CMS database's tables (gitguard.database), beside the files
HEADER = (b"# gitguard metadata v2: mode uid gid kind path (f file, d folder, l symlink, "
          b"s FIFO, socket or device)\n")
# v1 files (no 's') decode the same: only the header differs, and decode skips it. patch_rows
# patches only files of this version, so an old one is written afresh with the new header.
_KIND_CODE = {Kind.FILE: "f", Kind.DIR: "d", Kind.SYMLINK: "l", Kind.SPECIAL: "s"}
_CODE_KIND = {v: k for k, v in _KIND_CODE.items()}
_ESCAPES = {ord("\n"): b"\\n", ord("\t"): b"\\t", ord("\\"): b"\\\\", ord('"'): b'\\"'}


class Meta(NamedTuple):
    """What the metadata file says of one path (a NamedTuple, like Entry: a tree state holds
    one per path, and loading 30,000 frozen dataclasses would cost three times as much)."""

    mode: int
    uid: int
    gid: int
    kind: Kind

    def describe(self) -> str:
        """'0644 33:33', for reports."""
        return f"{self.mode:04o} {self.uid}:{self.gid}"


_ODD = re.compile(rb'[\x00-\x1f\x7f"\\]|^ | $')


def quote(path: str) -> bytes:
    """The path as one line: raw when plain, C-quoted when it has odd bytes."""
    raw = path_bytes(path)
    if path.isascii() or path.isprintable():
        if not _ODD.search(raw):
            return raw
    elif not _ODD.search(raw) and _valid_utf8(raw):
        return raw
    out = bytearray(b'"')
    for b in raw:
        if b in _ESCAPES:
            out += _ESCAPES[b]
        elif b < 0x20 or b >= 0x7F:
            out += b"\\%03o" % b
        else:
            out.append(b)
    return bytes(out + b'"')


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def unquote(text: bytes) -> str:
    """Inverse of quote."""
    if not text.startswith(b'"'):
        return path_str(text)
    body = text[1:-1]
    out = bytearray()
    i = 0
    simple = {ord("n"): 10, ord("t"): 9, ord("\\"): 92, ord('"'): 34}
    while i < len(body):
        b = body[i]
        if b == 92 and body[i + 1] in simple:
            out.append(simple[body[i + 1]])
            i += 2
        elif b == 92:
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        else:
            out.append(b)
            i += 1
    return path_str(bytes(out))


def encode(metas: Mapping[str, Meta]) -> bytes:
    """The metadata file, sorted by path bytes."""
    return encode_rows({path_bytes(path): (m.mode, m.uid, m.gid, KIND_CODES[m.kind])
                        for path, m in metas.items()})


_ODD_BYTE = re.compile(rb'[\x01-\x1f\x7f"\\]')  # one class: a fast scan of all names at once


KIND_CODES = {kind.value: code.encode() for kind, code in _KIND_CODE.items()}


def encode_rows(rows: Mapping[bytes, tuple[int, int, int, bytes]]) -> bytes:
    """The metadata file of (mode, uid, gid, kind code) by raw path, the code one of
    KIND_CODES (what encode gives for the same paths)."""
    names = sorted(rows)
    # One look at all names at once: on a real site none needs quoting, and 30,000 calls
    # to quote() would be the bulk of the cost.
    plain = plain_names(b"\0".join(names))
    heads: dict[tuple[int, int, int, bytes], bytes] = {}  # few mode/owner pairs a site
    lines = []
    for raw in names:
        row = rows[raw]
        head = heads.get(row)
        if head is None:
            head = heads[row] = _head(row)
        lines.append(head + (raw if plain else quote(path_str(raw))))
    return HEADER + b"\n".join(lines) + (b"\n" if lines else b"")


def plain_names(joined: bytes) -> bool:
    """Whether the NUL-joined raw names all stand in a metadata line as they are."""
    return (not _ODD_BYTE.search(joined) and b"\0 " not in joined and b" \0" not in joined
            and not joined.startswith(b" ") and not joined.endswith(b" ")
            and _valid_utf8(joined))


def encode_plain(rows: Iterable[tuple[bytes, tuple[int, int, int, bytes]]]) -> bytes:
    """encode_rows of names plain_names vouched for, given in sorted order: written as
    they come, with no list of lines beside the file (a first mirror of 100,000 paths)."""
    heads: dict[tuple[int, int, int, bytes], bytes] = {}
    out = bytearray(HEADER)
    for raw, row in rows:
        head = heads.get(row)
        if head is None:
            head = heads[row] = _head(row)
        out += head
        out += raw
        out += b"\n"
    return bytes(out)


def patch_rows(data: bytes, changes: Mapping[bytes, tuple[int, int, int, bytes] | None]
               ) -> bytes | None:
    """A metadata file with the lines of `changes` (raw path -> the row of encode_rows, or
    None to drop it) replaced, added or dropped: the bytes encode_rows would give for the
    whole new set. None when `data` is not a metadata file of this version."""
    if not data.startswith(HEADER) or not data.endswith(b"\n"):
        return None
    lines = data[len(HEADER):-1].split(b"\n") if len(data) > len(HEADER) else []
    for raw in sorted(changes):
        at = bisect_left(lines, raw, key=_line_path)
        here = at < len(lines) and _line_path(lines[at]) == raw
        row = changes[raw]
        if row is None:
            if here:
                del lines[at]
            continue
        line = _head(row) + quote(path_str(raw))
        if here:
            lines[at] = line
        else:
            lines.insert(at, line)
    return HEADER + b"\n".join(lines) + (b"\n" if lines else b"")


def encode_line(path: str, row: tuple[int, int, int, bytes]) -> bytes:
    """One path's line of the metadata file (encode_rows's, for a path that needs no
    quoting in a file whose names all do not: quote() decides)."""
    return _head(row) + quote(path)


def line_of(lines: Sequence[bytes], raw: bytes) -> bytes | None:
    """The line of a raw path among the sorted lines of a metadata file, or None."""
    at = bisect_left(lines, raw, key=_line_path)
    return lines[at] if at < len(lines) and _line_path(lines[at]) == raw else None


def differing_lines(one: Sequence[bytes], other: Sequence[bytes],
                    step: int = 256) -> tuple[list[bytes], list[bytes]]:
    """The lines of each of two metadata files (their sorted lines) that the other does not
    hold. Both are cut at the same paths, every `step` lines of the first, and only the
    pieces that differ are compared line by line: a few changes in 30,000 lines cost a
    few pieces, not two sets of the whole files."""
    only_one: list[bytes] = []
    only_other: list[bytes] = []
    at = there = 0
    while at < len(one) or there < len(other):
        end = min(at + step, len(one))
        # the other file's lines of the same paths: those before the first's next cut
        stop = (bisect_left(other, _line_path(one[end]), lo=there, key=_line_path)
                if end < len(one) else len(other))
        mine, theirs = one[at:end], other[there:stop]
        if mine != theirs:
            kept_mine, kept_theirs = set(mine), set(theirs)
            only_one += [line for line in mine if line not in kept_theirs]
            only_other += [line for line in theirs if line not in kept_mine]
        at, there = end, stop
    return only_one, only_other


def _head(row: tuple[int, int, int, bytes]) -> bytes:
    """A line of the metadata file up to its path: mode, owner and kind code."""
    return b"%04o %d %d %s " % row


def _line_path(line: bytes) -> bytes:
    """The raw path of one line of the metadata file."""
    name = line.split(b" ", 4)[4]
    return path_bytes(unquote(name)) if name.startswith(b'"') else name


# A metadata line: its head (mode, owner, kind) and its path, raw or quoted.
_LINE = re.compile(rb"^([0-7]+ [0-9]+ [0-9]+ [a-z]) (.*)$", re.M)


def decode(data: bytes) -> dict[str, Meta]:
    """Parse a metadata file (one regular-expression pass; a site's lines share a few heads,
    each parsed once: a restore decodes the approved tree's 30,000 lines on every run)."""
    result: dict[str, Meta] = {}
    heads: dict[bytes, Meta] = {}
    for head, raw in _LINE.findall(data):
        info = heads.get(head)
        if info is None:
            mode, uid, gid, kind = head.split(b" ")
            info = heads[head] = Meta(int(mode, 8), int(uid), int(gid),
                                      _CODE_KIND[kind.decode()])
        result[unquote(raw) if raw[:1] == b'"' else raw.decode(ENCODING, ERRORS)] = info
    return result


_RESERVED = (META_PATH, UNSTORABLE_DIR, DB_DIR)
_ESCAPE = re.compile(r"[%/.]")
_UNESCAPE = re.compile(r"%(25|2F|2E)")


def storable(path: str, link: bool = False) -> bool:
    """Whether git holds this file or link under its own path in a snapshot's tree."""
    if ".g" not in path and ".G" not in path:
        return True  # the common case, decided without splitting
    parts = path.split("/")
    if parts[0] in _RESERVED:
        return False
    if link and parts[-1].lower() == ".gitmodules":
        return False  # git drops such a link without a word
    return not any(part.lower() == ".git" for part in parts)


def stored_name(path: str, link: bool = False) -> str:
    """The path a file or link has in a snapshot's tree: its own, or an escaped name in
    UNSTORABLE_DIR (one name, '%', '/' and '.' percent-encoded, so no part is `.git`)."""
    if storable(path, link):
        return path
    return UNSTORABLE_DIR + "/" + _ESCAPE.sub(lambda m: f"%{ord(m.group()):02X}", path)


def stored_raw(raw: bytes, link: bool = False) -> bytes:
    """stored_name for a raw path."""
    if b".g" not in raw and b".G" not in raw:
        return raw
    return path_bytes(stored_name(path_str(raw), link))


def real_path(name: str) -> str:
    """The docroot path of a name in a snapshot's tree (the inverse of stored_name)."""
    if not name.startswith(UNSTORABLE_DIR + "/"):
        return name
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name[len(UNSTORABLE_DIR) + 1:])
