"""The metadata file: every byte string round-trips, the file reads well in a diff."""

from __future__ import annotations

import os
import random

from gitguard.model import Kind, path_str
from gitguard.store import meta

ODD = [b"plain.html", b"with space.html", b" lead", b"trail ", b"new\nline", b"tab\there",
       b'quote"d', b"back\\slash", b"\xff\xfe-not-utf8", b"-leading-dash", b"caf\xc3\xa9.php",
       b"\x01\x7f", b"\xe2\x80\xaeevil.php"]


def test_quote_round_trips_every_odd_name() -> None:
    for raw in [*ODD, bytes(range(1, 256)).replace(b"/", b"")]:
        name = path_str(raw)
        assert meta.unquote(meta.quote(name)) == name
        assert b"\n" not in meta.quote(name)


def test_encode_decode_round_trip() -> None:
    metas = {path_str(raw): meta.Meta(0o644 if i % 2 else 0o4755, i, 33, Kind.FILE)
             for i, raw in enumerate(ODD)}
    metas["dir"] = meta.Meta(0o777, 33, 33, Kind.DIR)
    metas["link"] = meta.Meta(0o777, 0, 0, Kind.SYMLINK)
    data = meta.encode(metas)
    assert meta.decode(data) == metas
    assert data.startswith(meta.HEADER)
    assert b"0777 33 33 d dir\n" in data


def test_plain_names_stay_readable() -> None:
    assert meta.quote("wp-content/uploads/foto kegiatan.jpg") == \
        b"wp-content/uploads/foto kegiatan.jpg"
    assert meta.quote(os.fsdecode(b"caf\xc3\xa9")) == b"caf\xc3\xa9"


def test_file_quotes_each_name_as_quote_does() -> None:
    """The file checks all names at once; each line must still be what quote() gives, for
    a tree of plain names and for one where a single odd name hides among them."""
    plain = {"index.php": meta.Meta(0o644, 33, 33, Kind.FILE),
             os.fsdecode(b"caf\xc3\xa9/menu.php"): meta.Meta(0o600, 33, 33, Kind.FILE),
             "wp-content": meta.Meta(0o755, 33, 33, Kind.DIR)}
    for odd in [None, *ODD]:
        metas = dict(plain)
        if odd is not None:
            metas[path_str(odd)] = meta.Meta(0o644, 1, 2, Kind.FILE)
        lines = meta.encode(metas).split(b"\n")[1:-1]
        expected = sorted(
            (os.fsencode(path), b"%04o %d %d %s " % (m.mode, m.uid, m.gid,
                                                     m.kind.value[0].encode()) + meta.quote(path))
            for path, m in metas.items())
        assert lines == [line for _, line in expected]
        assert meta.decode(meta.encode(metas)) == metas


def test_patched_file_is_the_file_encoded_afresh() -> None:
    """A snapshot with few changes patches the last metadata file line by line: the bytes
    must be exactly those of encoding every row again, odd names and all."""
    rng = random.Random(7)
    names = [b"a", b"a/b", b"a/b/c.php", b"index.php", b"wp-content", *ODD,
             *(b"dir%d/file%d.php" % (i % 7, i) for i in range(200))]
    rows = {raw: (0o644, 33, 33, b"f") for raw in names}
    for _ in range(200):
        before = meta.encode_rows(rows)
        changes: dict[bytes, tuple[int, int, int, bytes] | None] = {}
        for _ in range(rng.randint(1, 6)):
            pick = rng.random()
            if pick < 0.3 and rows:
                changes[rng.choice(sorted(rows))] = None  # dropped
            elif pick < 0.6 and rows:
                changes[rng.choice(sorted(rows))] = (0o777, 0, 0, b"d")  # chmod, other kind
            else:  # new, maybe odd, maybe sorting first or last
                changes[rng.choice([b"", b"\x01", b"zz/", b"dir3/", b" "])
                        + rng.choice(ODD)] = (0o600, 1, 2, b"l")
        for raw, row in changes.items():
            if row is None:
                rows.pop(raw, None)
            else:
                rows[raw] = row
        assert meta.patch_rows(before, changes) == meta.encode_rows(rows)
    assert meta.patch_rows(meta.encode_rows({}), {b"x": (0o644, 1, 1, b"f")}) == \
        meta.encode_rows({b"x": (0o644, 1, 1, b"f")})
    assert meta.patch_rows(b"# another format\nx\n", {b"x": None}) is None
