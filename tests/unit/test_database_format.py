"""The database backup's own pieces with real git: a whole read written as one pack, and the
sums file that tells the next run what to read again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitguard.database import pack
from gitguard.database.pack import PackWriter, entry_header
from gitguard.database.table import SUMS_HEAD, Sums
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
    given twice is written once; sizes whose entry heads take one to four bytes; git's
    fsck and verify-pack find the pack and its index sound."""
    blobs = [b"%d\tBerita nomor %d\t<p>isi</p>\n" % (n, n) * 40 for n in range(300)]
    blobs += [b"", blobs[0], b"x" * 15, b"y" * 16, b"z" * 2047, b"w" * 2048,
              os.urandom(300_000), b"x" * (40 << 20)]  # one bigger than what may wait
    with PackWriter(Git(repo)) as writer:
        ids = [writer.add_bytes(data) for data in blobs]
    # the id of each as git computes it: cat-file finds it there, fsck checks it
    assert ids[:2] == [plain(repo, "hash-object", "--stdin", input=data) for data in blobs[:2]]
    got = subprocess.run(["git", "--git-dir", str(repo), "cat-file", "--batch"],
                         input="".join(f"{oid}\n" for oid in ids).encode(),
                         capture_output=True, check=True).stdout
    assert got == b"".join(b"%s blob %d\n%s\n" % (oid.encode(), len(data), data)
                           for oid, data in zip(ids, blobs, strict=True))
    counts = dict(line.split(": ") for line in plain(repo, "count-objects", "-v").splitlines())
    assert counts["count"] == "0" and counts["in-pack"] == "307" and counts["packs"] == "1"
    plain(repo, "fsck", "--strict")
    pack = next((repo / "objects" / "pack").glob("pack-*.pack"))
    assert "ok" in plain(repo, "verify-pack", "-v", str(pack.with_suffix(".idx")))
    assert [p.name for p in (repo / "objects" / "pack").iterdir()
            if p.name.startswith("tmp_")] == []


def test_pack_index_64_bit_offsets(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offsets past 2 GB go to the index's 64-bit table: with the threshold lowered (as
    `git index-pack --index-version=2,OFFSET` does for its own tests), git reads every
    blob back through that table and fsck finds the index sound."""
    monkeypatch.setattr(pack, "BIG_OFFSET", 4096)
    blobs = [os.urandom(1500) + b"%d" % n for n in range(20)]
    with PackWriter(Git(repo)) as writer:
        ids = [writer.add_bytes(data) for data in blobs]
    index = next((repo / "objects" / "pack").glob("pack-*.idx")).read_bytes()
    assert len(index) == 8 + 256 * 4 + 20 * (20 + 4 + 4) + 8 * 17 + 40  # 17 past 4096
    for oid, data in zip(ids, blobs, strict=True):
        assert subprocess.run(["git", "--git-dir", str(repo), "cat-file", "blob", oid],
                              capture_output=True, check=True).stdout == data
    plain(repo, "fsck", "--strict")


def test_pack_writer_failure_is_one_error_and_no_pack(repo: Path) -> None:
    """A disk that refuses the pack (here a file size limit: EFBIG, as a full disk gives
    ENOSPC) is one StoreError, and no pack, index or temporary file is left."""
    script = f"""
import os, resource, signal, sys
from pathlib import Path
from gitguard.database import pack
from gitguard.database.pack import PackWriter, entry_header
from gitguard.errors import StoreError
from gitguard.store.git import Git
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
try:
    with PackWriter(Git(Path({str(repo)!r}))) as writer:
        for n in range(400):
            writer.add_bytes(os.urandom(10_000))
except StoreError as exc:
    print(exc)
    sys.exit(7)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 7, done.stderr
    assert "cannot write to the repository" in done.stdout
    assert list((repo / "objects" / "pack").iterdir()) == []


def test_pack_writer_discards_on_error(repo: Path) -> None:
    """An exception inside the block drops the pack: nothing becomes an object."""
    with pytest.raises(RuntimeError), PackWriter(Git(repo)) as writer:
        writer.add_bytes(b"dua\n")
        raise RuntimeError("the database went away")
    assert list((repo / "objects" / "pack").iterdir()) == []


def test_pack_entry_head_sizes() -> None:
    """The entry head git's pack format gives a blob: type 3, size in 4 then 7-bit parts."""
    assert entry_header(0) == b"\x30"
    assert entry_header(15) == b"\x3f"
    assert entry_header(16) == b"\xb0\x01"
    assert entry_header(2048) == b"\xb0\x80\x01"


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
