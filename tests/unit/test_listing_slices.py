"""A big listing is parsed a slice of records at a time (issue #14 item 3: memory): every
slicing gives the entries of the whole, and a record cut short is still refused."""

from __future__ import annotations

import pytest

from gitguard.policy import PathSet
from gitguard.remote import ssh
from gitguard.remote.ssh import _parse, _parse_listing


def record(path: bytes, kind: bytes = b"f", target: bytes = b"") -> bytes:
    """One path as FIND_FORMAT prints it: nine NUL-terminated fields and one more NUL."""
    fields = [kind, b"644", b"33", b"33", b"10", b"1700000000.0000000010",
              b"1700000000.1234567890", b"L" + target, b"./" + path]
    return b"".join(f + b"\0" for f in fields) + b"\0"


LISTING = b"".join(record(b"d%03d/f%d.php" % (n, n)) if n % 7 else
                   record(b"d%03d" % n, kind=b"d") for n in range(300))
WHOLE = _parse(LISTING.replace(b"\0\0", b"\0").split(b"\0"), PathSet(()))


@pytest.mark.parametrize("size", [1, 2, 13, 100, 1000, len(LISTING) - 1, len(LISTING),
                                  1 << 20])
def test_every_slicing_gives_the_whole(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(ssh, "PARSE_SLICE", size)
    assert _parse_listing(LISTING, PathSet(())) == WHOLE
    assert len(WHOLE) == 300


@pytest.mark.parametrize("size", [1, 50, 1 << 20])
def test_a_record_cut_short_is_refused(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr(ssh, "PARSE_SLICE", size)
    eight_fields = b"f\0644\x0033\x0033\x0010\x001700000000.0\x001700000000.0\0./last\0\0"
    assert _parse_listing(LISTING + eight_fields, PathSet(())) is None
    assert _parse_listing(b"", PathSet(())) == []
