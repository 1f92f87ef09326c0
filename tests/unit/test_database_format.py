"""The database backup's own pieces with real git: a whole read written as one pack, and the
sums file that tells the next run what to read again."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gitguard.database.pack import PackWriter
from gitguard.database.table import SUMS_HEAD, Sums
from gitguard.errors import StoreError
from gitguard.store.git import Git


def plain(repo: Path, *args: str, input: bytes | None = None) -> str:
    """Plain git, as an auditor runs it."""
    return subprocess.run(["git", "--git-dir", str(repo), *args], input=input,
                          capture_output=True, check=True,
                          env=dict(os.environ)).stdout.decode().strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty bare repository."""
    path = tmp_path / "site.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def test_pack_writer_one_pack_with_git_ids(repo: Path) -> None:
    """Every blob lands in one pack (no loose object), under the id git gives it; a blob
    given twice is written once; git's fsck finds the pack sound."""
    blobs = [b"%d\tBerita nomor %d\t<p>isi</p>\n" % (n, n) * 40 for n in range(300)]
    blobs += [b"", blobs[0], b"x" * (40 << 20)]  # one bigger than what may wait in memory
    with PackWriter(Git(repo)) as writer:
        ids = [writer.add_bytes(data) for data in blobs]
    assert ids == [plain(repo, "hash-object", "--stdin", input=data) for data in blobs]
    for oid, data in zip(ids[:5], blobs[:5], strict=True):
        assert subprocess.run(["git", "--git-dir", str(repo), "cat-file", "blob", oid],
                              capture_output=True, check=True).stdout == data
    counts = dict(line.split(": ") for line in plain(repo, "count-objects", "-v").splitlines())
    assert counts["count"] == "0" and counts["in-pack"] == "302" and counts["packs"] == "1"
    plain(repo, "fsck", "--strict")


def test_pack_writer_failure_is_one_error_and_no_pack(repo: Path) -> None:
    """A fast-import that dies (the disk, a kill) is a StoreError, and no pack is left."""
    writer = PackWriter(Git(repo))
    writer.add_bytes(b"satu\n")
    writer._proc.kill()  # what a full disk or an operator's kill does to it
    writer._proc.wait()
    with pytest.raises(StoreError, match="fast-import"):
        for n in range(2000):  # the pipe takes some before it breaks
            writer.add_bytes(b"%d\n" % n * 1000)
        writer.close()
    assert not list((repo / "objects" / "pack").glob("*.pack"))


def test_pack_writer_discards_on_error(repo: Path) -> None:
    """An exception inside the block ends fast-import: nothing becomes a pack."""
    with pytest.raises(RuntimeError), PackWriter(Git(repo)) as writer:
        writer.add_bytes(b"dua\n")
        raise RuntimeError("the database went away")
    assert not list((repo / "objects" / "pack").glob("*.pack"))


def test_sums_round_trip_and_older_files_refused() -> None:
    """The sums file reads back as written; a file of the older format (XORs, no head) is
    refused, so its table is read whole once rather than compared with other sums."""
    sums = Sums("12345", "1764300000", {"0": (255, 987654321012), "all": (3, 7),
                                         "-1": (1, 2)}, "1764300001")
    text = sums.text()
    assert text.startswith(SUMS_HEAD)
    assert Sums.parse(text) == sums
    assert text.splitlines()[4:] == [b"-1\t1\t2", b"0\t255\t987654321012", b"all\t3\t7"]
    with pytest.raises(ValueError):
        Sums.parse(b"checksum\t12345\nupdated\t1764300000\n0\t255\t4242\n")
    with pytest.raises(ValueError):
        Sums.parse(SUMS_HEAD + b"checksum\t1\nupdated\t2\n")
