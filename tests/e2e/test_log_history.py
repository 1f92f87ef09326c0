"""`gitguard log` and the repository's reading side (GitPython over one `git cat-file
--batch`, issue #14 item 6): what it reads is git's history as plain git shows it, and
nothing in the repository or the caller's environment changes that or runs code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import git, gitguard, run, write_config

from gitguard.errors import StoreError
from gitguard.store.repo import SiteRepo

SNAPSHOTS = "refs/heads/snapshots"
APPROVED = "refs/heads/approved"
JOURNAL = "refs/heads/journal"


@dataclass(frozen=True)
class Site:
    """A local-path site mirrored twice, approved once and checked."""

    config: Path
    docroot: Path
    repo: Path
    tmp: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory,
          rina: tuple[Path, dict[str, dict[str, str]]]) -> Path:
    """The site's folder (config, docroot, data) once per module; each test gets a copy."""
    key, people = rina
    folder = tmp_path_factory.mktemp("history")
    docroot = folder / "html"
    docroot.mkdir()
    (docroot / "index.html").write_text("<h1>Kabupaten</h1>\n")
    config = write_config(folder, {"www": {"source": "html"}}, people)
    run("init", config=config)
    run("mirror", config=config)
    run("approve", "www", "-m", "awal", "--key", str(key), config=config)
    (docroot / "berita.html").write_text("<p>Berita</p>\n")
    run("check", config=config, expect=1)
    return folder


@pytest.fixture
def site(built: Path, tmp_path: Path) -> Site:
    folder = tmp_path / "copy"
    shutil.copytree(built, folder, symlinks=True)
    return Site(folder / "gitguard.toml", folder / "html", folder / "gitguard-data" / "www.git",
                tmp_path)


def _log(site: Site, env: dict[str, str] | None = None) -> dict[str, object]:
    proc = run("log", "www", "--json", config=site.config, env=env)
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def _one_line_failure(site: Site, *args: str) -> str:
    proc = gitguard(*args, config=site.config)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


def test_log_is_the_history_plain_git_shows(site: Site) -> None:
    data = _log(site)
    snapshots = data["snapshots"]
    assert isinstance(snapshots, list)
    assert [s["commit"] for s in snapshots] == git(
        site.repo, "log", "--format=%H", SNAPSHOTS).split()
    assert [s["subject"] for s in snapshots] == git(
        site.repo, "log", "--format=%s", SNAPSHOTS).splitlines()
    assert [s["date"] for s in snapshots] == git(
        site.repo, "log", "--format=%cI", SNAPSHOTS).splitlines()
    approvals = data["approvals"]
    assert isinstance(approvals, list) and len(approvals) == 1
    assert approvals[0]["verified"] and approvals[0]["signer"] == "Rina Wulandari"
    assert approvals[0]["subject"] == "awal"
    runs = data["runs"]
    assert isinstance(runs, list)
    journaled = git(site.repo, "ls-tree", "-r", "--name-only", JOURNAL, "runs/").splitlines()
    assert len(runs) == len(journaled)
    assert {r["action"] for r in runs} >= {"mirror", "approve", "check"}
    assert [r["started"] for r in runs] == sorted(r["started"] for r in runs)
    recorded = data["recorded"]
    assert isinstance(recorded, dict)
    assert recorded["approved"] == git(site.repo, "rev-parse", APPROVED)


def test_the_callers_git_environment_changes_nothing(site: Site) -> None:
    """GIT_* variables of whoever runs gitguard point git at other objects, another
    repository or other config; GitPython would pass them on, gitguard does not."""
    clean = _log(site)
    other = site.tmp / "other.git"
    subprocess.run(["git", "init", "-q", "--bare", str(other)], check=True)
    marker = site.tmp / "ran"
    hostile = {
        "GIT_DIR": str(other), "GIT_OBJECT_DIRECTORY": str(other / "objects"),
        "GIT_COMMON_DIR": str(other), "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(other / "objects"),
        "GIT_CONFIG_PARAMETERS": f"'core.fsmonitor'='touch {marker}'",
        "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": str(site.tmp), "GIT_NO_REPLACE_OBJECTS": "",
        "GIT_REPLACE_REF_BASE": "refs/heads/", "GIT_NAMESPACE": "elsewhere",
    }
    assert _log(site, env=hostile) == clean
    assert not marker.exists()


def test_a_replace_ref_does_not_swap_what_is_read(site: Site) -> None:
    """refs/replace/* would make git (and GitPython) read a forged commit in place of the
    real one; the reading side runs with replace refs off, like the plumbing runner."""
    clean = _log(site)
    snapshot = git(site.repo, "rev-parse", SNAPSHOTS)
    approved = git(site.repo, "rev-parse", APPROVED)
    journal = git(site.repo, "rev-parse", JOURNAL)
    empty_tree = git(site.repo, "hash-object", "-t", "tree", "-w", "--stdin", input=b"")
    for target in (snapshot, approved, journal):
        forged = git(site.repo, "commit-tree", empty_tree, "-m", "forged: all is well")
        git(site.repo, "update-ref", f"refs/replace/{target}", forged)
    assert "forged" in git(site.repo, "log", "-1", "--format=%s", SNAPSHOTS)  # git is fooled
    assert _log(site) == clean
    repo = SiteRepo.open(site.repo)
    try:
        assert repo.history.info(snapshot).subject == clean["snapshots"][0]["subject"]  # type: ignore[index]
        assert repo.journal_records(), "the journal's real tree is read"
    finally:
        repo.close()


def test_a_changed_config_or_hook_stops_every_read(site: Site) -> None:
    marker = site.tmp / "ran"
    config = site.repo / "config"
    original = config.read_bytes()
    repo = SiteRepo.open(site.repo)
    try:
        assert repo.history.commits(git(site.repo, "rev-parse", SNAPSHOTS))
        config.write_bytes(original + f"[core]\n\tfsmonitor = touch {marker}\n".encode())
        # the layout check runs before each command GitPython starts, not only at open
        with pytest.raises(StoreError, match="config"):
            repo.history.commits(git(site.repo, "rev-parse", SNAPSHOTS))
        with pytest.raises(StoreError, match="config"):
            repo.history.descends(git(site.repo, "rev-parse", APPROVED),
                                  git(site.repo, "rev-parse", APPROVED))
    finally:
        repo.close()
    assert "config" in _one_line_failure(site, "log", "www")
    config.write_bytes(original)
    hook = site.repo / "hooks" / "reference-transaction"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    assert "hooks/reference-transaction" in _one_line_failure(site, "log", "www")
    hook.unlink()
    assert not marker.exists()
    _log(site)


def _rewrite_loose(repo: Path, oid: str, kind: bytes, data: bytes) -> None:
    path = repo / "objects" / oid[:2] / oid[2:]
    assert path.exists(), "gitguard writes loose objects and never packs them"
    path.chmod(0o644)
    path.write_bytes(zlib.compress(b"%s %d\0" % (kind, len(data)) + data))


def test_a_rewritten_object_fails_closed(site: Site) -> None:
    """git hands out an object file's bytes without hashing them again: every object the
    reading side parses is held against its id first."""
    listing = git(site.repo, "ls-tree", "-r", JOURNAL, "runs/")
    oid = listing.splitlines()[0].split()[2]
    record = json.loads(git(site.repo, "cat-file", "blob", oid))
    record["summary"] = "nothing happened"
    _rewrite_loose(site.repo, oid, b"blob", json.dumps(record).encode())
    assert "nothing happened" in git(site.repo, "cat-file", "blob", oid)  # git believes it
    assert "does not match its id" in _one_line_failure(site, "log", "www")
    repo = SiteRepo.open(site.repo)
    try:
        with pytest.raises(StoreError, match="does not match its id"):
            repo.journal_records()
    finally:
        repo.close()


def test_a_rewritten_commit_is_not_believed(site: Site) -> None:
    snapshot = git(site.repo, "rev-parse", SNAPSHOTS)
    body = git(site.repo, "cat-file", "commit", snapshot)
    _rewrite_loose(site.repo, snapshot, b"commit",
                   (body.replace("snapshot:", "nothing to see:") + "\n").encode())
    repo = SiteRepo.open(site.repo)
    try:
        with pytest.raises(StoreError, match="does not match its id"):
            repo.history.info(snapshot)
    finally:
        repo.close()


def _children() -> set[int]:
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as handle:
            found.update(int(pid) for pid in handle.read().split())
    return found


def test_the_object_reader_is_one_process_and_ends(site: Site) -> None:
    before = _children()
    repo = SiteRepo.open(site.repo)
    records = repo.journal_records()
    assert len(records) >= 3
    readers = _children() - before
    assert len(readers) == 1, "one persistent `git cat-file --batch` reads every object"
    (pid,) = readers
    assert b"cat-file" in Path(f"/proc/{pid}/cmdline").read_bytes()
    repo.close()
    deadline = time.monotonic() + 10
    while pid in _children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in _children()
