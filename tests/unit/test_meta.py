"""The metadata file: every byte string round-trips, the file reads well in a diff."""

from __future__ import annotations

import os

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
