"""The diff text beside a finding: difflib's hunks where lines match, no matching where none do.

`findings.unified_diff` skips the lines both sides share and shows a middle that shares next
to nothing as replaced, without matching it line by line (the audit's cost for a replaced or
appended file). These compare it with difflib itself on real files.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from gitguard.detect import Side
from gitguard.findings import DIFF_LINES, unified_diff
from gitguard.model import Kind

WORDPRESS = Path("/usr/share/wordpress")
HOST = WORDPRESS / "wp-includes" / "class-wp-role.php"


def side(data: bytes) -> Side:
    return Side(Kind.FILE, 0o644, data, None)


def plain(old: bytes, new: bytes) -> str | None:
    """What difflib alone writes, cut the same way."""
    lines = list(
        difflib.unified_diff(
            old.decode().splitlines(keepends=True),
            new.decode().splitlines(keepends=True),
            "a/x.php",
            "b/x.php",
        )
    )
    if not lines:
        return None
    body = "".join(line if line.endswith("\n") else line + "\n" for line in lines[:DIFF_LINES])
    more = len(lines) - DIFF_LINES
    return body + (f"... ({more} more diff lines)\n" if more > 0 else "")


def edited(data: bytes, *edits: tuple[int, bytes | None]) -> bytes:
    """`data` with line `n` replaced (or removed, for None)."""
    lines = data.split(b"\n")
    for number, text in sorted(edits, reverse=True):
        if text is None:
            del lines[number]
        else:
            lines[number] = text
    return b"\n".join(lines)


@pytest.mark.parametrize(
    "edits",
    [
        [(10, b"// satu baris diganti")],
        [(3, None), (40, b"$x = 1;")],
        [(0, b"<?php // kepala"), (-1, b"// ekor")],
    ],
)
def test_small_edits_are_difflibs_hunks(edits: list[tuple[int, bytes | None]]) -> None:
    old = HOST.read_bytes()
    new = edited(old, *edits)
    assert unified_diff("x.php", side(old), side(new)) == plain(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<?php\n/* disetujui */\n", HOST.read_bytes().replace(b"<?php", b"<?php //", 1)),
        (HOST.read_bytes(), HOST.read_bytes() + b"\n?>\n<?php eval($_POST['x']); ?>\n" * 300),
        (HOST.read_bytes(), b""),
    ],
    ids=["replaced", "appended", "emptied"],
)
def test_a_replaced_middle_is_shown_as_difflib_shows_it(old: bytes, new: bytes) -> None:
    shown = unified_diff("x.php", side(old), side(new))
    assert shown == plain(old, new)
    assert shown is not None and len(shown.splitlines()) <= DIFF_LINES + 1


def test_no_diff_for_equal_or_binary_sides() -> None:
    data = HOST.read_bytes()
    assert unified_diff("x.php", side(data), side(data)) is None
    assert unified_diff("x.png", side(b"\x89PNG\0\0"), side(b"\x89PNG\0\1")) is None
