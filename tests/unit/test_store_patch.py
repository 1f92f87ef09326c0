"""The small change's path (issue #14 item 3): a tree patched from the newest snapshot's
tree objects is the tree git builds from an index of every path, and the scan cache kept
as a base plus recorded changes loads as the whole cache."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gitguard.store.objects import BlobWriter, commit, write_object, write_tree
from gitguard.store.repo import SiteRepo

FILE, EXEC, LINK = "100644", "100755", "120000"


def _blobs(repo: SiteRepo, count: int) -> list[str]:
    with BlobWriter(repo.git) as writer:
        return [writer.add_bytes(b"content %d\n" % n) for n in range(count)]


def _commit(repo: SiteRepo, files: dict[str, tuple[str, str]]) -> tuple[str, str]:
    tree = write_tree(repo.git, [(mode, oid, path) for path, (mode, oid) in files.items()],
                      repo.tmp("index"))
    return commit(repo.git, tree, [], "test\n"), tree


def _patched(repo: SiteRepo, base: str, changes: dict[str, tuple[str, str] | None]) -> str:
    return repo.trees(base).patch(
        {path.encode("utf-8", "surrogateescape"):
         None if change is None else (int(change[0], 8), change[1])
         for path, change in changes.items()},
        lambda data: write_object(repo.git, "tree", data))


@pytest.fixture
def repo(tmp_path: Path) -> SiteRepo:
    SiteRepo.create(tmp_path / "site.git")
    return SiteRepo.open(tmp_path / "site.git")


def test_patched_trees_are_the_trees_git_builds(repo: SiteRepo) -> None:
    blobs = _blobs(repo, 12)
    files = {
        "index.php": (FILE, blobs[0]), "a/b/c.txt": (FILE, blobs[1]),
        "a/b.txt": (FILE, blobs[2]), "a.txt": (FILE, blobs[3]), "a-b/x": (FILE, blobs[4]),
        "cgi/run.sh": (EXEC, blobs[5]), "home.html": (LINK, blobs[6]),
        "gone/only.txt": (FILE, blobs[7]), "becomes/file.txt": (FILE, blobs[8]),
        "odd/new\nline \xff.txt".encode("utf-8", "surrogateescape").decode(
            "utf-8", "surrogateescape"): (FILE, blobs[9]),
        "git~1/.git.": (FILE, blobs[10]),  # names GitPython's own parser refuses
    }
    base, _tree = _commit(repo, files)
    changes: dict[str, tuple[str, str] | None] = {
        "index.php": (FILE, blobs[11]),  # modified
        "a/b/c.txt": None, "a/b/d.txt": (FILE, blobs[0]),  # a folder's file swapped
        "cgi/run.sh": (FILE, blobs[5]),  # the executable bit dropped
        "gone/only.txt": None,  # its folder goes with it
        "becomes/file.txt": None, "becomes": (FILE, blobs[1]),  # a folder becomes a file
        "a.txt": None, "a.txt/inside": (LINK, blobs[2]),  # a file becomes a folder
        "new/deep/er/file": (EXEC, blobs[3]),  # new folders
    }
    expected = dict(files)
    for path, change in changes.items():
        if change is None:
            expected.pop(path, None)
        else:
            expected[path] = change
    _, want = _commit(repo, expected)
    assert _patched(repo, base, changes) == want


def test_random_changes_agree_with_git(repo: SiteRepo) -> None:
    rng = random.Random(14)
    blobs = _blobs(repo, 40)
    names = [f"{a}/{b}/{c}" for a in "pq" for b in ("x", "x.y", "x-y") for c in "abc"]
    files = {p: (rng.choice((FILE, EXEC)), rng.choice(blobs)) for p in names if rng.random() < .6}
    base, _tree = _commit(repo, files)
    for _ in range(20):
        changes: dict[str, tuple[str, str] | None] = {}
        for path in rng.sample(names, 5):
            changes[path] = None if path in files and rng.random() < .5 else (
                rng.choice((FILE, EXEC, LINK)), rng.choice(blobs))
        expected = {p: v for p, v in files.items() if p not in changes}
        expected.update({p: v for p, v in changes.items() if v is not None})
        if not expected:
            continue
        _, want = _commit(repo, expected)
        assert _patched(repo, base, changes) == want


def test_removing_everything_gives_the_empty_tree(repo: SiteRepo) -> None:
    blobs = _blobs(repo, 1)
    base, _tree = _commit(repo, {"a/b": (FILE, blobs[0])})
    empty = repo.git.text(["hash-object", "-t", "tree", "--stdin"], input=b"")
    assert _patched(repo, base, {"a/b": None}) == empty
