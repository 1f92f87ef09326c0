"""The find listing: parsing, and the delta of one listing against the one before."""

from __future__ import annotations

import pytest

from gitguard.errors import ScanError
from gitguard.model import Entry, Kind
from gitguard.policy import PathSet
from gitguard.remote.ssh import _delta, _parse

MTIME = 1700000000000000001  # 1700000000.0000000010 as find prints it
CTIME = 1700000000123456789


def record(path: bytes, kind: bytes = b"f", mode: bytes = b"644", size: bytes = b"10",
           ctime: bytes = b"1700000000.1234567890", target: bytes = b"") -> bytes:
    """One path as FIND_FORMAT prints it: nine NUL-terminated fields and one more NUL."""
    fields = [kind, mode, b"33", b"33", size, b"1700000000.0000000010", ctime, b"L" + target,
              b"./" + path]
    return b"".join(f + b"\0" for f in fields) + b"\0"


def fields(listing: bytes) -> list[bytes]:
    """The fields _parse takes: the listing with each record's extra NUL dropped."""
    return listing.replace(b"\0\0", b"\0").split(b"\0")


def test_parse_reads_every_field_and_skips_what_it_must() -> None:
    listing = (record(b"index.php") + record(b"wp-content", kind=b"d", mode=b"755")
               + record(b"home", kind=b"l", mode=b"777", target=b"index.php")
               + record(b"to-nowhere", kind=b"l", mode=b"777", target=b"L")
               + record(b"sock", kind=b"s")
               + record(b"caf\xe9.php", size=b"3", ctime=b"1700000001.5")
               + record(b"cache/x.html"))
    entries = _parse(fields(listing), PathSet(("cache/**",)))
    assert entries == [
        Entry("index.php", Kind.FILE, 0o644, 33, 33, 10, MTIME, CTIME),
        Entry("wp-content", Kind.DIR, 0o755, 33, 33, 0, MTIME, CTIME),
        Entry("home", Kind.SYMLINK, 0o777, 33, 33, 0, MTIME, CTIME, "index.php"),
        Entry("to-nowhere", Kind.SYMLINK, 0o777, 33, 33, 0, MTIME, CTIME, "L"),
        Entry("sock", Kind.SPECIAL, 0o644, 33, 33, 0, MTIME, CTIME),
        Entry("caf\udce9.php", Kind.FILE, 0o644, 33, 33, 3, MTIME, 1700000001500000000),
    ]
    assert _parse(fields(b""), PathSet(())) == []


def test_fifos_and_devices_are_listed_with_no_size() -> None:
    listing = b"".join(record(name, kind=name[:1], size=b"99") for name in (b"p", b"c", b"b"))
    assert {(e.kind, e.size) for e in _parse(fields(listing), PathSet(()))} == {
        (Kind.SPECIAL, 0)}


@pytest.mark.parametrize("raw", [b"../etc", b"a/../../x", b"", b"a//b", b"/etc/passwd", b"a/.",
                                 b"a/./b", b"..", b".", b"a/", b"x" * 70000])
def test_a_path_a_listing_must_not_hold_is_refused(raw: bytes) -> None:
    with pytest.raises(ScanError, match="not a path or kind"):
        _parse(fields(record(b"index.php") + record(raw)), PathSet(()))


def test_a_path_not_below_the_docroot_is_refused() -> None:
    listing = record(b"x").replace(b"./x", b"/x")
    with pytest.raises(ScanError, match="not a path or kind"):
        _parse(fields(listing), PathSet(()))


@pytest.mark.parametrize("change", [{"mode": b"999"}, {"size": b"-"}, {"kind": b"?"}])
def test_a_record_that_does_not_parse_is_a_scan_error(change: dict[str, bytes]) -> None:
    with pytest.raises(ScanError):
        _parse(fields(record(b"a.php", **change)), PathSet(()))


def test_delta_holds_only_what_changed() -> None:
    old = record(b"a") + record(b"b") + record(b"c")
    assert _delta(old, old) == (b"", [])
    touched = record(b"b", ctime=b"1700000009.0000000000")
    changed, gone = _delta(old, record(b"a") + touched + record(b"c"))
    assert changed == touched
    assert gone == [record(b"b")[:-2]]
    # paths come and go, and the order changes: records are compared, not positions
    changed, gone = _delta(old, record(b"c") + record(b"shell.php") + record(b"a"))
    assert changed == record(b"shell.php")
    assert gone == [record(b"b")[:-2]]
    entries = _parse(fields(changed), PathSet(()))
    assert [e.path for e in entries] == ["shell.php"]


def test_delta_against_a_listing_of_another_format() -> None:
    """A listing kept by an older gitguard splits into other records: everything differs,
    and the result is still a well-formed listing."""
    old_format = b"f\x00644\x0033\x0033\x0010\x001\x001\x00\x00./a\x00"
    new = record(b"a") + record(b"b")
    changed, _ = _delta(old_format, new)
    assert changed == new
    assert [e.path for e in _parse(fields(changed), PathSet(()))] == ["a", "b"]
