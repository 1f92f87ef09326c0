"""Someone who can write the data dir but holds no approver key: nothing there decides what
a signed tree or a snapshot holds, and the repository's own config, hooks and attributes
never run code or change what a restore writes (issue #10, items 1 and 5)."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import git, gitguard, make_key, run, tree_files, write_config

APPROVED = "refs/heads/approved"
SNAPSHOTS = "refs/heads/snapshots"
WEBSHELL = b"<?php system($_GET['c']); ?>\n"
INDEX = b"<?php echo 'Pemerintah Kota'; ?>\n"


@dataclass(frozen=True)
class Site:
    """A local-path site, approved once, with its key."""

    config: Path
    docroot: Path
    repo: Path
    key: Path


@pytest.fixture(scope="module")
def approved_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small local site, initialised, mirrored and approved by the kasubbag."""
    base = tmp_path_factory.mktemp("site")
    docroot = base / "html"
    (docroot / "css").mkdir(parents=True)
    (docroot / "index.php").write_bytes(INDEX)
    (docroot / "css" / "style.css").write_text("body { color: #222; }\n")
    key, public = make_key(base, "rina")
    config = write_config(base, {"www": {"source": "html"}},
                          {"rina": {"name": "Rina", "role": "kasubbag", "signing_key": public}})
    run("init", config=config)
    run("mirror", config=config)
    run("approve", "www", "-m", "awal", "--key", str(key), config=config)
    return base


@pytest.fixture
def site(approved_site: Path, tmp_path: Path) -> Site:
    """A private copy of the approved site."""
    base = tmp_path / "site"
    subprocess.run(["cp", "-a", str(approved_site), str(base)], check=True)
    return Site(base / "gitguard.toml", base / "html", base / "gitguard-data" / "www.git",
                base / "rina")


def store_blob(repo: Path, data: bytes) -> str:
    """Put a blob into the repository as the data-dir attacker can."""
    return git(repo, "hash-object", "-w", "--stdin", input=data)


def forge_tree(repo: Path, rev: str, extra: dict[str, str]) -> str:
    """A tree like rev's with extra paths (path -> blob id), written with plain git."""
    env = {**os.environ, "GIT_INDEX_FILE": str(repo.parent / "forged-index")}
    def plain(*args: str) -> str:
        return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True,
                              text=True, check=True, env=env).stdout.strip()
    plain("read-tree", rev)
    for path, oid in extra.items():
        plain("update-index", "--add", "--cacheinfo", f"100644,{oid},{path}")
    return plain("write-tree")


def one_line(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """The run failed with one line on stderr, saying these words."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def deface(site: Site) -> None:
    """The web user's change that a restore undoes."""
    (site.docroot / "index.php").write_bytes(b"<h1>Hacked by nobody</h1>\n")


# -- item 1: the approved tree comes from the signed commit, never from the data dir ------

def test_a_forged_tree_memo_is_neither_restored_nor_signed(site: Site) -> None:
    approved = git(site.repo, "rev-parse", APPROVED)
    shell = store_blob(site.repo, WEBSHELL)
    # What gitguard once kept as the parsed form of a signed tree: rewrite it with a webshell.
    files = {line.split("\t")[1]: tuple(line.split("\t")[0].split(" ")[0::2])
             for line in git(site.repo, "ls-tree", "-r", approved).splitlines()}
    files["upload.php"] = ("100644", shell)
    kinds = {"f": "file", "d": "dir", "l": "symlink"}
    rows = {path: (int(mode, 8), int(uid), int(gid), kinds[kind])
            for mode, uid, gid, kind, path in (
                line.split(" ", 4) for line in git(site.repo, "show", f"{approved}:.gitguard-meta")
                .splitlines() if not line.startswith("#"))}
    rows["upload.php"] = rows["index.php"]
    memo = site.repo / "gitguard" / "trees" / f"{approved}.state"
    memo.parent.mkdir(exist_ok=True)
    memo.write_bytes(marshal.dumps((files, rows)))
    deface(site)
    proc = gitguard("restore", "www", "--yes", config=site.config)
    assert not (site.docroot / "upload.php").exists()
    assert proc.returncode == 0 and "verified" in proc.stdout, proc.stderr
    assert (site.docroot / "index.php").read_bytes() == INDEX
    # The next partial approval signs the real tree plus the named path, nothing forged.
    (site.docroot / "css" / "print.css").write_text("@media print {}\n")
    run("mirror", config=site.config)
    run("approve", "www", "-m", "print", "--key", str(site.key), "--path", "css/print.css",
        config=site.config)
    signed = tree_files(site.repo, APPROVED)
    assert b"upload.php" not in signed and WEBSHELL not in signed.values()
    assert set(signed) == {b"index.php", b"css/style.css", b"css/print.css"}


def test_a_forged_kept_index_adds_nothing_to_the_next_snapshot(site: Site) -> None:
    """The index kept beside the newest snapshot (to write the next tree quickly) is in the
    data dir: one that gained a webshell gives a tree the snapshot does not hold, and is
    rebuilt from git instead of smuggling the file into the history."""
    kept = site.repo / "gitguard" / "snapshot.index"
    assert kept.exists()
    shell = store_blob(site.repo, WEBSHELL)
    subprocess.run(["git", "--git-dir", str(site.repo), "update-index", "--add", "--cacheinfo",
                    f"100644,{shell},upload.php"], check=True,
                   env={**os.environ, "GIT_INDEX_FILE": str(kept)})
    (site.docroot / "css" / "print.css").write_text("@media print {}\n")
    proc = gitguard("mirror", config=site.config)
    assert proc.returncode == 0, proc.stderr
    assert "kept index holds what the newest snapshot does not" in proc.stderr
    files = tree_files(site.repo, SNAPSHOTS)
    assert b"upload.php" not in files and WEBSHELL not in files.values()
    assert files[b"css/print.css"] == b"@media print {}\n"


def test_a_rewritten_tree_object_of_the_approval_is_refused(site: Site) -> None:
    # The defacement is backed up first: the snapshot's tree differs from the approved one,
    # so the audit and the restore read the approved root tree (one the snapshot shares
    # by id is never read: its id, in the signed commit, is what is compared).
    deface(site)
    run("mirror", config=site.config)
    approved = git(site.repo, "rev-parse", APPROVED)
    tree = git(site.repo, "rev-parse", f"{APPROVED}^{{tree}}")
    forged = forge_tree(site.repo, approved, {"upload.php": store_blob(site.repo, WEBSHELL)})
    body = subprocess.run(["git", "--git-dir", str(site.repo), "cat-file", "tree", forged],
                          capture_output=True, check=True).stdout
    # The loose object named by the signed commit now holds the forged tree.
    obj = site.repo / "objects" / tree[:2] / tree[2:]
    assert obj.exists()
    obj.chmod(0o644)
    obj.write_bytes(zlib.compress(b"tree %d\0" % len(body) + body))
    for command in (["restore", "www", "--yes"], ["audit"]):
        one_line(gitguard(*command, config=site.config), 3)
    assert not (site.docroot / "upload.php").exists()
    run("approve", "www", "-m", "x", "--key", str(site.key), config=site.config, expect=3)


def test_replace_refs_and_grafts_are_refused_and_never_read(site: Site) -> None:
    approved = git(site.repo, "rev-parse", APPROVED)
    tree = git(site.repo, "rev-parse", f"{APPROVED}^{{tree}}")
    forged = forge_tree(site.repo, approved, {"upload.php": store_blob(site.repo, WEBSHELL)})
    git(site.repo, "update-ref", f"refs/replace/{tree}", forged)
    assert "upload.php" in git(site.repo, "ls-tree", "-r", "--name-only", approved)
    deface(site)
    run("restore", "www", "--yes", config=site.config)
    assert not (site.docroot / "upload.php").exists()
    assert (site.docroot / "index.php").read_bytes() == INDEX
    (site.repo / "info" / "grafts").write_text(f"{approved}\n")
    one_line(gitguard("audit", config=site.config), 3, "info/grafts")


def test_a_forged_scan_cache_does_not_hide_a_webshell(site: Site) -> None:
    (site.docroot / "upload.php").write_bytes(WEBSHELL)
    run("mirror", config=site.config)
    assert b"upload.php" in tree_files(site.repo, SNAPSHOTS)
    # The snapshot holds the webshell; the cache is made to say it does not.
    path = site.repo / "gitguard" / "scan-cache"
    cache = marshal.loads(path.read_bytes())
    at = cache["paths"].index("upload.php")
    del cache["paths"][at], cache["stats"][at]
    path.write_bytes(marshal.dumps(cache))
    proc = run("audit", "--json", config=site.config, expect=2)
    assert '"upload.php"' in proc.stdout
    run("restore", "www", "--yes", config=site.config)
    assert not (site.docroot / "upload.php").exists()


@pytest.mark.parametrize("forgery", ["blob", "mode", "owner", "gone", "extra"])
def test_a_forged_scan_cache_is_never_loaded(site: Site, forgery: str) -> None:
    from gitguard.store import tree
    from gitguard.store.repo import SiteRepo

    (site.docroot / "upload.php").write_bytes(WEBSHELL)
    run("mirror", config=site.config)
    path = site.repo / "gitguard" / "scan-cache"
    cache = marshal.loads(path.read_bytes())
    assert SiteRepo.open(site.repo).load_cache().valid
    at = cache["paths"].index("upload.php")
    row = cache["stats"][at]
    if forgery == "blob":
        cache["stats"][at] = (*row[:7], store_blob(site.repo, b"<?php // empty\n"))
    elif forgery == "mode":
        cache["stats"][at] = (*row[:4], 0o755, *row[5:])
    elif forgery == "owner":
        cache["stats"][at] = (*row[:5], row[5] + 1, *row[6:])
    elif forgery == "gone":
        del cache["paths"][at], cache["stats"][at]
    else:
        cache["paths"].append("index2.php")
        cache["stats"].append(row)
    path.write_bytes(marshal.dumps(cache))
    # checked by hashing its tree, and against a state read from git (what a restore has)
    assert not SiteRepo.open(site.repo).load_cache().valid
    repo = SiteRepo.open(site.repo)
    tree.read_state(repo.git, APPROVED)
    assert not repo.load_cache().valid


# -- item 5: the repository's own config, hooks and attributes never run ------------------

def test_a_hook_in_the_repository_is_refused_and_never_runs(site: Site) -> None:
    marker = site.repo.parent / "hook-ran"
    for name in ("reference-transaction", "post-update", "pre-auto-gc"):
        hook = site.repo / "hooks" / name
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
        hook.chmod(0o755)
    for command in (["check"], ["mirror"], ["restore", "www", "--yes"], ["log", "www"]):
        one_line(gitguard(*command, config=site.config), 3, "hooks/", "gitguard init")
    assert not marker.exists()


@pytest.mark.parametrize("setting", [
    "core.hooksPath=hooks-elsewhere",
    "core.sshCommand=touch {marker}",
    "core.fsmonitor=touch {marker}",
    "filter.evil.smudge=touch {marker}",
    "include.path=../../evil.config",
])
def test_a_changed_repository_config_is_refused(site: Site, setting: str) -> None:
    marker = site.repo.parent / "ran"
    key, _, value = setting.partition("=")
    git(site.repo, "config", key, value.format(marker=marker))
    one_line(gitguard("audit", config=site.config), 3, "config", "gitguard init")
    assert not marker.exists()
    # init puts back what it wrote; then gitguard runs again
    run("init", config=site.config)
    run("audit", config=site.config)


def test_changed_attributes_are_refused(site: Site) -> None:
    (site.repo / "info" / "attributes").write_text("* filter=evil\n")
    one_line(gitguard("restore", "www", "--yes", config=site.config), 3, "info/attributes")


def test_gitattributes_in_the_site_do_not_change_what_restore_writes(site: Site) -> None:
    # The web user puts a .gitattributes in the docroot and it gets approved with the rest:
    # line-ending conversion, $Id$ expansion, export-subst and export-ignore must all be
    # ignored by the restore's archive.
    content = b"<?php // $Id$ $Format:%H$\r\necho 'ok';\n?>\n"
    (site.docroot / "index.php").write_bytes(content)
    (site.docroot / ".gitattributes").write_text(
        "*.php text eol=crlf ident export-subst working-tree-encoding=UTF-16\n"
        "*.css export-ignore\n")
    run("mirror", config=site.config)
    run("approve", "www", "-m", "attr", "--key", str(site.key), config=site.config)
    (site.docroot / "index.php").write_bytes(b"defaced\n")
    (site.docroot / "css" / "style.css").write_bytes(b"defaced\n")
    run("restore", "www", "--yes", config=site.config)
    assert (site.docroot / "index.php").read_bytes() == content
    assert (site.docroot / "css" / "style.css").read_bytes() == b"body { color: #222; }\n"


def test_init_writes_a_repository_without_hooks(tmp_path: Path) -> None:
    (tmp_path / "html").mkdir()
    config = write_config(tmp_path, {"www": {"source": "html"}})
    run("init", config=config)
    repo = tmp_path / "gitguard-data" / "www.git"
    assert not (repo / "hooks").exists() or not os.listdir(repo / "hooks")
    assert (repo / "info" / "attributes").read_text().startswith("* -text")
    assert git(repo, "config", "receive.denyNonFastForwards") == "true"


# -- item 7: a file's size never becomes gitguard's memory --------------------------------

@pytest.mark.slow
def test_a_large_file_is_backed_up_in_bounded_memory(site: Site) -> None:
    size = 300 << 20
    with (site.docroot / "backup.sql").open("wb") as out:
        block = os.urandom(4096) * 256  # 1 MB that deflates fast: the test is memory
        for _ in range(size >> 20):
            out.write(block)
    proc = subprocess.run(["/usr/bin/time", "-f", "peak %M", sys.executable, "-m",
                           "gitguard.cli", "-c", str(site.config), "mirror"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    peak_kb = int(proc.stderr.strip().splitlines()[-1].split()[1])
    assert peak_kb < 150 * 1024, f"peak RSS {peak_kb} KB backing up a {size >> 20} MB file"
    assert git(site.repo, "cat-file", "-s", f"{SNAPSHOTS}:backup.sql") == str(size)


def _tamper_loose_object(repo: Path, oid: str, data: bytes) -> None:
    """Rewrite a loose object file with other bytes, as the data-dir attacker can: git
    itself does not check an object's bytes against its name when it reads them."""
    path = repo / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    path.write_bytes(zlib.compress(b"blob %d\0" % len(data) + data))


def test_a_tampered_approved_blob_is_never_restored(site: Site) -> None:
    oid = git(site.repo, "rev-parse", f"{APPROVED}:index.php")
    _tamper_loose_object(site.repo, oid, WEBSHELL)
    (site.docroot / "index.php").write_text("<h1>Hacked by x</h1>\n")
    proc = gitguard("restore", "www", "--yes", config=site.config)
    one_line(proc, 3, "does not match its id", "tampered")
    assert (site.docroot / "index.php").read_bytes() != WEBSHELL
    assert not any(p.name.startswith(".gitguard-") for p in site.docroot.iterdir())


def test_a_tampered_blob_in_a_batch_stops_before_its_last_byte(site: Site) -> None:
    from gitguard.errors import StoreError
    from gitguard.store.git import Git
    from gitguard.store.objects import RepoBlobs

    good = git(site.repo, "rev-parse", f"{APPROVED}:css/style.css")
    bad = git(site.repo, "rev-parse", f"{APPROVED}:index.php")
    big = WEBSHELL * 60_000  # several chunks: all but the last may pass before the check
    _tamper_loose_object(site.repo, bad, big)
    passed = bytearray()
    with RepoBlobs(Git(site.repo), site.repo / "scratch") as blobs, \
            pytest.raises(StoreError, match="does not match its id"):
        for chunk in blobs.batch([good, bad]):
            passed += chunk
    assert (site.docroot / "css" / "style.css").read_bytes() in passed  # the good one whole
    assert len(passed) < len(b"%s blob 0\n" % good.encode()) + 30 + len(big)
    assert not passed.endswith(big)
