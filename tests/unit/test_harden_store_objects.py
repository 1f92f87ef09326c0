"""The store against a hostile data dir, with real git: tree ids computed in Python, the git
runner's isolation from the repository's own hooks, filters and commands, and blobs written
without holding a file in memory (issue #10, items 1, 5 and 7)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from gitguard.errors import StoreError
from gitguard.store.git import Git
from gitguard.store.objects import BlobWriter, RepoBlobs, blob_id, tree_id
from gitguard.store.repo import SiteRepo


def plain(repo: Path, *args: str, input: bytes | None = None,
          env: dict[str, str] | None = None) -> str:
    """Plain git, as the attacker or an auditor runs it."""
    return subprocess.run(["git", "--git-dir", str(repo), *args], input=input,
                          capture_output=True, check=True,
                          env={**os.environ, **(env or {})}).stdout.decode().strip()


def commit_files(repo: Path, files: dict[str, bytes]) -> str:
    """A tree holding these files, written with plain git; its id."""
    env = {"GIT_INDEX_FILE": str(repo / "test-index")}
    for path, data in files.items():
        oid = plain(repo, "hash-object", "-w", "--stdin", input=data)
        plain(repo, "update-index", "--add", "--cacheinfo", f"100644,{oid},{path}", env=env)
    tree = plain(repo, "write-tree", env=env)
    (repo / "test-index").unlink()
    return tree


@pytest.fixture
def repo(tmp_path: Path) -> SiteRepo:
    """A site repository as init makes it."""
    return SiteRepo.create(tmp_path / "www.git")


NAMES = ["a-b", "a.b", "a/b", "a/b.c/d", "a0", "ab/c", "z/y/x/w", "z/y/v", "é/ü",
         "with space/f", "x/.htaccess"]


def test_tree_id_is_the_id_git_gives(repo: SiteRepo) -> None:
    files = {name: name.encode() * 3 for name in NAMES}
    tree = commit_files(repo.path, files)
    rows = sorted((b"100644", blob_id(data), name.encode()) for name, data in files.items())
    assert tree_id((mode, oid, path) for mode, oid, path in
                   sorted(rows, key=lambda row: row[2])) == tree
    # one blob changed, one path moved, or the order broken: another id
    changed = [(m, blob_id(b"x") if p == b"a/b" else o, p) for m, o, p in sorted(
        rows, key=lambda row: row[2])]
    assert tree_id(changed) != tree
    assert tree_id(sorted(rows, key=lambda row: row[2], reverse=True)) != tree


def test_hooks_and_hooks_path_never_run(repo: SiteRepo, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    elsewhere = tmp_path / "hooks"
    for folder in (repo.path / "hooks", elsewhere):
        folder.mkdir(exist_ok=True)
        for name in ("reference-transaction", "post-update", "pre-auto-gc", "post-commit"):
            (folder / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
            (folder / name).chmod(0o755)
    plain(repo.path, "config", "core.hooksPath", str(elsewhere))
    runner = Git(repo.path)  # unguarded: the overrides alone must hold
    tree = runner.text(["write-tree"], env={"GIT_INDEX_FILE": str(tmp_path / "i")})
    commit = runner.text(["commit-tree", tree], input=b"m\n")
    runner.run(["update-ref", "refs/heads/snapshots", commit])
    runner.run(["gc", "--auto"])
    assert plain(repo.path, "rev-parse", "refs/heads/snapshots") == commit
    assert not marker.exists()
    # the repository's owner refuses such a repository outright
    with pytest.raises(StoreError, match="hooks/post-commit"):
        SiteRepo.open(repo.path)


def test_ssh_command_of_the_repository_never_runs(repo: SiteRepo, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    plain(repo.path, "config", "core.sshCommand", f"touch {marker}; false")
    plain(repo.path, "config", "core.fsmonitor", f"touch {marker}; false")
    tree = commit_files(repo.path, {"index.html": b"x"})
    commit = plain(repo.path, "commit-tree", tree, "-m", "m")
    plain(repo.path, "update-ref", "refs/heads/snapshots", commit)
    runner = Git(repo.path)
    # nothing listens on port 1: the push fails, but through plain ssh, never the config's
    proc = subprocess.run(["git", "push", "ssh://gitguard@127.0.0.1:1/x.git",
                           "refs/heads/snapshots"], env=runner.env, capture_output=True,
                          timeout=60, check=False)
    assert proc.returncode != 0
    assert not marker.exists()
    with pytest.raises(StoreError, match="config"):
        SiteRepo.open(repo.path)


def test_archive_ignores_attributes_and_filters(repo: SiteRepo, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    plain(repo.path, "config", "filter.evil.smudge", f"sh -c 'touch {marker}; echo pwned'")
    files = {
        ".gitattributes": b"* text eol=crlf ident export-subst filter=evil\n"
                          b"*.css export-ignore\n*.txt working-tree-encoding=UTF-16\n",
        "index.php": b"<?php // $Id$ $Format:%H$\necho 'ok';\n",
        "css/style.css": b"body {}\n",
        "notes.txt": b"catatan\n",
    }
    tree = commit_files(repo.path, files)
    rows = [(line.split()[0], line.split()[2], line.split("\t")[1])
            for line in plain(repo.path, "ls-tree", "-r", tree).splitlines()]
    # git archive reads attributes from the tree and info/attributes; init's file wins
    data = Git(repo.path).run(["archive", "--format=tar", tree])
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        got = {m.name: extracted.read() for m in tar.getmembers()
               if m.isfile() and (extracted := tar.extractfile(m)) is not None}
    assert got == files
    with RepoBlobs(Git(repo.path), tmp_path / "restore-index") as blobs:
        assert {path: blobs.read(oid) for _mode, oid, path in rows} == files
    assert not marker.exists()


@pytest.mark.slow
def test_a_large_blob_is_written_in_bounded_memory(repo: SiteRepo, tmp_path: Path) -> None:
    size = 300 << 20
    script = f"""
import sys
from pathlib import Path
from gitguard.errors import StoreError
from gitguard.store.git import Git
from gitguard.store.objects import BlobWriter
def chunks():
    block = bytes(range(256)) * 4096
    for n in range({size} // len(block)):
        yield block[n % 7:] + block[:n % 7]
with BlobWriter(Git(Path({str(repo.path)!r}))) as writer:
    oid = writer.add({size}, chunks())
# VmHWM, not ru_maxrss: a process started by vfork from pytest inherits pytest's
# resident set as the floor of ru_maxrss
peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(oid, peak)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    oid, peak_kb = out[0], int(out[1])
    assert peak_kb < 120 * 1024, f"peak RSS {peak_kb} KB for a {size >> 20} MB blob"
    assert plain(repo.path, "cat-file", "-s", oid) == str(size)
    plain(repo.path, "fsck", "--no-dangling")  # the object is what its name says


def test_a_blob_of_the_wrong_size_is_refused(repo: SiteRepo) -> None:
    with BlobWriter(repo.git) as writer, pytest.raises(StoreError, match="announced"):
        writer.add(10, [b"12345"])
    assert not list((repo.path / "objects").glob("??/*"))


def test_a_state_patched_from_a_diff_equals_the_tree(repo: SiteRepo) -> None:
    from gitguard.model import Kind
    from gitguard.store import tree
    from gitguard.store.meta import Meta

    def state(files: dict[str, tuple[str, bytes]], folders: list[str]) -> tree.TreeState:
        with BlobWriter(repo.git) as writer:
            blobs = {p: (mode, writer.add_bytes(data)) for p, (mode, data) in files.items()}
        metas = {p: Meta(0o755 if mode == "100755" else 0o644, 33, 33,
                         Kind.SYMLINK if mode == "120000" else Kind.FILE)
                 for p, (mode, _) in files.items()}
        metas.update({f: Meta(0o755, 33, 33, Kind.DIR) for f in folders})
        return tree.TreeState(blobs, metas)

    before = state({"index.php": ("100644", b"a"), "css/a.css": ("100644", b"b"),
                    "old/gone.html": ("100644", b"c"), "link": ("120000", b"index.php"),
                    "run.sh": ("100644", b"d")}, ["css", "old", "empty"])
    after = state({"index.php": ("100644", b"defaced"), "css/a.css": ("100644", b"b"),
                   "link": ("100644", b"now a file"), "run.sh": ("100755", b"d"),
                   "up/x.php": ("100644", b"shell"), "a/.git/config": ("100644", b"x")},
                  ["css", "up", "a", "a/.git", "new-empty"])
    one = tree.commit_state(repo, before, [], "one")
    two = tree.commit_state(repo, after, [one], "two")
    tree._STATES.clear()
    tree._RAW_META.clear()
    fresh = tree.read_state(repo.git, two)
    tree._STATES.clear()
    tree._RAW_META.clear()
    tree.read_state(repo.git, one)
    patched = tree._patched(repo.git, one, two)
    assert dict(patched.files) == dict(fresh.files)
    assert dict(patched.meta) == dict(fresh.meta)
    assert set(patched.files) == set(after.files)


def test_the_offsite_copys_own_hook_still_runs(repo: SiteRepo, tmp_path: Path) -> None:
    # the overrides that silence this repository's hooks must not reach the receiving side
    offsite = tmp_path / "offsite.git"
    subprocess.run(["git", "init", "-q", "--bare", str(offsite)], check=True)
    (offsite / "hooks" / "update").write_text("#!/bin/sh\necho refused >&2\nexit 1\n")
    (offsite / "hooks" / "update").chmod(0o755)
    tree = commit_files(repo.path, {"index.html": b"x"})
    commit = repo.git.text(["commit-tree", tree], input=b"m\n")
    repo.git.run(["update-ref", "refs/heads/snapshots", commit])
    with pytest.raises(StoreError):
        repo.git.run(["push", "--quiet", str(offsite), "refs/heads/*:refs/heads/*"])
    assert subprocess.run(["git", "--git-dir", str(offsite), "rev-parse", "--verify", "-q",
                           "refs/heads/snapshots"], capture_output=True).returncode != 0


def test_a_rewritten_journal_tree_fails_the_next_record(repo: SiteRepo) -> None:
    # The journal's trees are patched through the checked reader: someone who rewrites one
    # of its tree objects in the data dir (to hide a run) makes the next record fail with
    # one clear error; it is never built on.
    import zlib
    from datetime import UTC, datetime

    started = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    repo.record("mirror", "www", started, "ok", "first")
    tip = plain(repo.path, "rev-parse", "refs/heads/journal")
    runs = plain(repo.path, "rev-parse", f"{tip}:runs")
    forged = b"100644 nothing-happened.json\0" + bytes.fromhex(
        plain(repo.path, "hash-object", "-w", "--stdin", input=b"{}"))
    loose = repo.path / "objects" / runs[:2] / runs[2:]
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(b"tree %d\0" % len(forged) + forged))
    with pytest.raises(StoreError, match="does not match its id"):
        repo.record("audit", "www", started, "ok", "second")
    assert plain(repo.path, "rev-parse", "refs/heads/journal") == tip
