"""The find listing: parsing, and the delta of one listing against the one before."""

from __future__ import annotations

from gitguard.model import Entry, Kind
from gitguard.policy import PathSet
from gitguard.remote.ssh import _changed_records, _parse


def record(path: bytes, kind: bytes = b"f", mode: bytes = b"644", size: bytes = b"10",
           ctime: bytes = b"1700000000.1234567890", target: bytes = b"") -> list[bytes]:
    """The nine fields find prints for one path (FIND_FORMAT)."""
    return [kind, mode, b"33", b"33", size, b"1700000000.0000000010", ctime, target,
            b"./" + path]


def listing(*records: list[bytes]) -> list[bytes]:
    """The listing split at NULs, as the scan does (a trailing empty field)."""
    return [field for r in records for field in r] + [b""]


def test_parse_reads_every_field_and_skips_what_it_must() -> None:
    fields = listing(record(b"index.php"), record(b"wp-content", kind=b"d", mode=b"755"),
                     record(b"home", kind=b"l", mode=b"777", target=b"index.php"),
                     record(b"sock", kind=b"s"), record(b"caf\xe9.php", size=b"3",
                                                        ctime=b"1700000001.5"),
                     record(b"cache/x.html"))
    entries = _parse(fields, PathSet(("cache/**",)))
    assert entries == [
        Entry("index.php", Kind.FILE, 0o644, 33, 33, 10, 1700000000000000001,
              1700000000123456789),
        Entry("wp-content", Kind.DIR, 0o755, 33, 33, 0, 1700000000000000001,
              1700000000123456789),
        Entry("home", Kind.SYMLINK, 0o777, 33, 33, 0, 1700000000000000001,
              1700000000123456789, "index.php"),
        Entry("caf\udce9.php", Kind.FILE, 0o644, 33, 33, 3, 1700000000000000001,
              1700000001500000000),
    ]


def test_delta_in_place_when_the_same_paths_stay_in_order() -> None:
    old = listing(record(b"a"), record(b"b"), record(b"c"))
    new = listing(record(b"a"), record(b"b", ctime=b"1700000009.0000000000"), record(b"c"))
    added, gone = _changed_records(old, new)
    assert added == record(b"b", ctime=b"1700000009.0000000000")
    assert gone == record(b"b")
    assert _changed_records(old, list(old)) == ([], [])


def test_delta_by_record_when_paths_come_and_go() -> None:
    old = listing(record(b"a"), record(b"b"), record(b"c"))
    # same length, but a path replaced by another: the in-place comparison must not pair
    # "b" with "shell.php"
    swapped = listing(record(b"a"), record(b"shell.php"), record(b"c"))
    added, gone = _changed_records(old, swapped)
    assert (added, gone) == (record(b"shell.php"), record(b"b"))
    longer = listing(record(b"a"), record(b"a2", size=b"99"), record(b"b"), record(b"c"))
    assert _changed_records(old, longer) == (record(b"a2", size=b"99"), [])
    shorter = listing(record(b"c"), record(b"a"))  # another order too
    assert _changed_records(old, shorter) == ([], record(b"b"))
