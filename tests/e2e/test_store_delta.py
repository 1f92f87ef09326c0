"""A small change on a command account (issue #14 item 3): the mirror reads the newest
snapshot at the changed paths only (checked tree objects and metadata lines, never the
data dir's cache), patches its trees, and records the changed cache rows beside the saved
cache; the whole cache, base plus records, still loads only when it is the snapshot's."""

from __future__ import annotations

import marshal
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import git, tree_files, write_config
from sshd import SshServer

from gitguard.actions.mirror import mirror
from gitguard.config import load
from gitguard.store import repo as repo_module
from gitguard.store.repo import CACHE_FILE, DELTA_FILE, SiteRepo

WEBSHELL = b'<?php @eval($_POST["x"]); ?>\n'


class Site:
    """A small site on the real sshd's command account, mirrored in this process."""

    def __init__(self, sshd: SshServer, tmp_path: Path) -> None:
        self.sshd = sshd
        self.docroot = sshd.make_docroot("html")
        for n in range(20):
            folder = self.docroot / f"opd{n % 4}" / "wp-content"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"page{n}.php").write_text(f"<?php echo {n};\n")
        (self.docroot / "index.html").write_text("<h1>Kabupaten</h1>\n")
        os.symlink("index.html", self.docroot / "home.html")
        sshd.chown_to_user(self.docroot)
        config = write_config(tmp_path, {"www": {
            "source": sshd.url(self.docroot), "identity_file": str(sshd.identity),
            "known_hosts": str(sshd.known_hosts)}})
        self.config = load(config)
        self.repo = tmp_path / "gitguard-data" / "www.git"
        SiteRepo.create(self.repo)

    def mirror(self) -> str | None:
        self.sshd.chown_to_user(self.docroot)
        return mirror(self.config, self.config.sites["www"]).commit

    def files(self) -> dict[bytes, bytes]:
        found: dict[bytes, bytes] = {}
        for folder, dirs, names in os.walk(self.docroot):
            for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
                full = Path(folder, name)
                key = os.fsencode(full.relative_to(self.docroot))
                found[key] = os.fsencode(os.readlink(full)) if full.is_symlink() \
                    else full.read_bytes()
        return found

    @property
    def private(self) -> Path:
        return self.repo / "gitguard"


@pytest.fixture
def site(sshd: SshServer, tmp_path: Path) -> Iterator[Site]:
    yield Site(sshd, tmp_path)


def _change(site: Site) -> None:
    """Edits, a chmod, a new folder, a deletion, a file that becomes a folder."""
    (site.docroot / "opd1" / "wp-content" / "page1.php").write_text("<?php echo 'diubah';\n")
    (site.docroot / "opd2" / "wp-content" / "page2.php").chmod(0o777)
    (site.docroot / "opd3" / "uploads" / "2026").mkdir(parents=True)
    (site.docroot / "opd3" / "uploads" / "2026" / "shell.php").write_bytes(WEBSHELL)
    (site.docroot / "opd0" / "wp-content" / "page0.php").unlink()
    (site.docroot / "index.html").unlink()
    (site.docroot / "index.html").mkdir()
    (site.docroot / "index.html" / "in.txt").write_text("x\n")


def test_a_small_change_reads_and_writes_only_the_change(site: Site) -> None:
    site.mirror()
    assert site.mirror() is None  # unchanged: the listing is kept for the next delta
    (site.private / CACHE_FILE).write_bytes(b"not read by a delta")  # proof: never read
    _change(site)
    assert site.mirror() is not None
    assert tree_files(site.repo, "snapshots") == site.files()
    assert (site.private / DELTA_FILE).exists()
    assert not (site.private / "snapshot.index").exists()  # it held the older snapshot
    subject = git(site.repo, "log", "-1", "--format=%s", "snapshots")
    # page2.php's chmod 777 is its mode line and its executable bit (git's 100755)
    assert subject == "snapshot: 2 added, 2 modified, 2 deleted, 1 mode or owner changes"
    meta = git(site.repo, "show", "snapshots:.gitguard-meta")
    assert "0777 " in meta and " d index.html" in meta and "shell.php" in meta
    assert (site.private / CACHE_FILE).read_bytes() == b"not read by a delta"  # nor written


def test_the_saved_cache_plus_its_records_is_the_snapshots(site: Site) -> None:
    site.mirror()
    site.mirror()
    _change(site)
    site.mirror()
    (site.docroot / "opd1" / "wp-content" / "page5.php").write_text("<?php echo 55;\n")
    site.mirror()
    cache = SiteRepo.open(site.repo).load_cache()
    assert cache.valid and cache.verified  # checked by hashing its whole tree
    assert cache.commit == git(site.repo, "rev-parse", "snapshots")
    assert "opd3/uploads/2026/shell.php" in cache.entries
    assert "opd0/wp-content/page0.php" not in cache.entries
    # the same rows a cache rebuilt from git holds
    for name in (CACHE_FILE, DELTA_FILE, "listing"):
        (site.private / name).unlink(missing_ok=True)
    (site.docroot / "opd2" / "wp-content" / "page6.php").write_text("<?php echo 66;\n")
    site.mirror()
    again = SiteRepo.open(site.repo).load_cache()
    assert {p: s[4:] for p, s in again.entries.items() if "page6" not in p} == \
        {p: s[4:] for p, s in cache.entries.items() if "page6" not in p}


def test_a_forged_record_makes_the_cache_worthless(site: Site) -> None:
    site.mirror()
    site.mirror()
    _change(site)
    site.mirror()
    kept = marshal.loads((site.private / DELTA_FILE).read_bytes())
    parent, child, meta_oid, paths, stats, gone = kept[-1]
    at = paths.index("opd3/uploads/2026/shell.php")
    del paths[at], stats[at]  # the record says the webshell is not there
    (site.private / DELTA_FILE).write_bytes(
        marshal.dumps([*kept[:-1], (parent, child, meta_oid, paths, stats, gone)]))
    assert not SiteRepo.open(site.repo).load_cache().valid
    # a delta run never reads the records: the next snapshot still holds the webshell
    (site.docroot / "opd1" / "wp-content" / "page9.php").write_text("<?php echo 99;\n")
    site.mirror()
    assert b"opd3/uploads/2026/shell.php" in tree_files(site.repo, "snapshots")


def test_records_are_folded_into_the_cache_once_they_add_up(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.mirror()
    site.mirror()
    monkeypatch.setattr(repo_module, "DELTA_ROWS", 3)
    _change(site)
    site.mirror()
    assert not (site.private / DELTA_FILE).exists()
    cache = SiteRepo.open(site.repo).load_cache()
    assert cache.valid and cache.commit == git(site.repo, "rev-parse", "snapshots")
