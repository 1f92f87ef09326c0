"""The states of two commits where they differ, read at the cost of the difference: what the
audit, the restore plan and the restore's proof see of them is what they see of the whole
states, and a tampered object on the way is refused."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest

from gitguard.errors import StoreError
from gitguard.findings import findings
from gitguard.model import Change, Finding, Kind, Severity
from gitguard.plan import make_plan
from gitguard.policy import PathSet, Policy
from gitguard.store import tree
from gitguard.store.meta import Meta
from gitguard.store.objects import BlobReader, BlobWriter
from gitguard.store.repo import SiteRepo


@pytest.fixture
def repo(tmp_path: Path) -> SiteRepo:
    """A site repository as init makes it."""
    return SiteRepo.create(tmp_path / "www.git")


Files = dict[str, tuple[str, bytes]]
NONE = Policy(PathSet(()), PathSet(()))


def _state(repo: SiteRepo, files: Files, folders: dict[str, int],
           owners: dict[str, int] | None = None, big: tuple[str, ...] = ()) -> tree.TreeState:
    """A TreeState of these files (git mode, bytes), folders (mode) and files too big to
    back up (metadata only), written to the repository's objects."""
    with BlobWriter(repo.git) as writer:
        blobs = {p: (mode, writer.add_bytes(data)) for p, (mode, data) in files.items()}
    uid = owners or {}
    metas = {p: Meta(0o755 if mode == "100755" else 0o644, uid.get(p, 33), 33,
                     Kind.SYMLINK if mode == "120000" else Kind.FILE)
             for p, (mode, _) in files.items()}
    metas.update({f: Meta(mode, uid.get(f, 33), 33, Kind.DIR) for f, mode in folders.items()})
    metas.update({p: Meta(0o644, 33, 33, Kind.FILE) for p in big})
    return tree.TreeState(blobs, metas)


def _forget() -> None:
    tree._STATES.clear()
    tree._RAW_META.clear()
    tree._PAIRS.clear()


def _both(repo: SiteRepo, one: str, two: str) -> tuple[tuple[tree.TreeState, tree.TreeState],
                                                         tuple[tree.TreeState, tree.TreeState]]:
    """(the whole states read from git, the differing states), nothing kept between."""
    _forget()
    whole = tree.read_state(repo.git, one), tree.read_state(repo.git, two)
    _forget()
    part = tree.differing_states(repo, one, two)
    return whole, part


def _keyed(found: list[Finding]) -> list[tuple[str, Change, Severity, tuple[str, ...],
                                               str | None, str | None, str | None]]:
    return [(f.path, f.change, f.severity, tuple(r.code for r in f.reasons), f.old_blob,
             f.new_blob, f.new_mode) for f in found]


def _agree(repo: SiteRepo, one: str, two: str, policy: Policy) -> tuple[tree.TreeState,
                                                                          tree.TreeState]:
    whole, part = _both(repo, one, two)
    for folders in (False, True):
        assert list(tree.changed_paths(*part, policy, folders)) == \
            list(tree.changed_paths(*whole, policy, folders))
    with BlobReader(repo.git) as reader:
        graded = findings(*whole, policy, reader)
        assert _keyed(findings(*part, policy, reader)) == _keyed(graded)
    assert make_plan(*part, policy, graded) == make_plan(*whole, policy, graded)
    assert make_plan(*whole[::-1], policy, graded) == make_plan(*part[::-1], policy, graded)
    return part


BEFORE: Files = {
    "index.php": ("100644", b"<?php echo 'home';"),
    "css/a.css": ("100644", b"body{}"),
    "css/deep/b.css": ("100644", b"p{}"),
    "old/gone.html": ("100644", b"gone"),
    "old/sub/also.html": ("100644", b"also"),
    "link": ("120000", b"index.php"),
    "run.sh": ("100644", b"#!/bin/sh"),
    "owned.txt": ("100644", b"same bytes"),
    "a.git/config": ("100644", b"unstorable"),
    "uploads/2026/photo.jpg": ("100644", b"\xff\xd8jpeg"),
}
BEFORE_DIRS = {"css": 0o755, "css/deep": 0o755, "old": 0o755, "old/sub": 0o755,
               "a.git": 0o755, "uploads": 0o755, "uploads/2026": 0o755, "locked": 0o755,
               "empty": 0o755}


def test_a_defacement_webshell_and_every_kind_of_change_agree(repo: SiteRepo) -> None:
    after = dict(BEFORE)
    after["index.php"] = ("100644", b"<h1>Hacked by x</h1>")
    del after["old/gone.html"], after["old/sub/also.html"]
    after["link"] = ("100644", b"now a file")  # a link made a file: a type change
    after["run.sh"] = ("100755", b"#!/bin/sh")  # the executable bit alone
    after["uploads/2026/x.php"] = ("100644", b"<?php eval($_POST['x']);")
    after["new/dir/page.html"] = ("100644", b"<a href='https://slot-gacor.example'>slot</a>")
    after["a.git/config"] = ("100644", b"unstorable, changed")
    folders = {k: v for k, v in BEFORE_DIRS.items() if not k.startswith("old")}
    folders.update({"locked": 0o555, "new": 0o755, "new/dir": 0o755, "added-empty": 0o755})
    one = tree.commit_state(repo, _state(repo, BEFORE, BEFORE_DIRS, big=("big.iso",)), [], "1")
    two = tree.commit_state(repo, _state(repo, after, folders, owners={"owned.txt": 0},
                                         big=("big.iso", "new-big.bin")), [one], "2")
    policy = Policy(PathSet(("cache/**",)), PathSet(("uploads/**/*.jpg",)))
    old, new = _agree(repo, one, two, policy)
    # what is held is the difference, not the site
    assert "css/a.css" not in new.files and "css" not in new.meta
    assert {"owned.txt", "locked", "new-big.bin", "uploads/2026/x.php"} <= new.meta.keys()
    assert new.files["owned.txt"] == old.files["owned.txt"]  # the same blob, read once
    assert new.unread("new-big.bin") and not new.unread("owned.txt")


def test_random_changes_agree_with_the_whole_states(repo: SiteRepo) -> None:
    rng = random.Random(14)
    names = [f"{a}/{b}/f{c}.php" for a in "abc" for b in "xyz" for c in range(4)]
    current = {n: ("100644", f"<?php // {n}".encode()) for n in names}
    folders = {f"{a}": 0o755 for a in "abc"} | {f"{a}/{b}": 0o755 for a in "abc" for b in "xyz"}
    parent = tree.commit_state(repo, _state(repo, current, folders), [], "base")
    base = parent
    for round_ in range(8):
        files, dirs = dict(current), dict(folders)
        for name in rng.sample(sorted(files), 5):
            choice = rng.randrange(4)
            if choice == 0:
                del files[name]
            elif choice == 1:
                files[name] = ("100644", f"changed {round_} {name}".encode())
            elif choice == 2:
                files[name] = ("100755", files[name][1])
            else:
                files[name] = ("120000", b"../target")
        gone = rng.choice(sorted(dirs))
        if rng.random() < 0.5:  # a whole folder removed, files and all
            files = {n: v for n, v in files.items() if not n.startswith(gone + "/")}
            dirs = {d: m for d, m in dirs.items() if d != gone and not d.startswith(gone + "/")}
        else:
            dirs[gone] = 0o555
        files[f"new{round_}/s.php"] = ("100644", b"<?php system($_GET['c']);")
        dirs[f"new{round_}"] = 0o777
        commit = tree.commit_state(repo, _state(repo, files, dirs), [parent], str(round_))
        _agree(repo, base, commit, NONE)
        _agree(repo, parent, commit, NONE)
        parent = commit


def test_the_same_tree_differs_nowhere(repo: SiteRepo) -> None:
    one = tree.commit_state(repo, _state(repo, BEFORE, BEFORE_DIRS), [], "1")
    two = tree.commit_state(repo, _state(repo, BEFORE, BEFORE_DIRS), [one], "again")
    _forget()
    old, new = tree.differing_states(repo, one, two)
    assert not old.files and not old.meta and not new.files and not new.meta


def test_a_rewritten_tree_object_on_the_way_is_refused(repo: SiteRepo) -> None:
    after = dict(BEFORE)
    after["css/deep/b.css"] = ("100644", b"p{color:red}")
    one = tree.commit_state(repo, _state(repo, BEFORE, BEFORE_DIRS), [], "1")
    two = tree.commit_state(repo, _state(repo, after, BEFORE_DIRS), [one], "2")
    # The attacker swaps the object of the changed folder for one naming their own blob.
    with BlobReader(repo.git) as reader:
        deep = reader.lookup(two, "css/deep")
    assert deep is not None
    shell = repo.git.run(["hash-object", "-w", "--stdin"], input=b"<?php eval($_POST[1]);")
    forged = b"100644 b.css\0" + bytes.fromhex(shell.decode().strip())
    loose = repo.path / "objects" / deep[1][:2] / deep[1][2:]
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(b"tree %d\0" % len(forged) + forged))
    _forget()
    with pytest.raises(StoreError, match="does not match its id"):
        tree.differing_states(repo, one, two)


@pytest.mark.parametrize("step", [1, 3, 256])
def test_the_metadata_lines_that_differ_are_those_a_set_finds(step: int) -> None:
    from gitguard.store import meta as meta_file

    rng = random.Random(step)
    for _ in range(30):
        paths = sorted({f"d{rng.randrange(9)}/f{rng.randrange(400)}" for _ in range(300)})
        rows = {p.encode(): (0o644, 33, 33, b"f") for p in paths}
        changed = dict(rows)
        for p in rng.sample(paths, rng.randrange(1, 12)):
            choice = rng.randrange(3)
            if choice == 0:
                del changed[p.encode()]
            elif choice == 1:
                changed[p.encode()] = (0o777, 0, 33, b"f")
            changed[f"{p}-new {rng.random()}".encode()] = (0o644, 33, 33, b"f")
        one, other = (meta_file.encode_rows(r)[len(meta_file.HEADER):-1].split(b"\n")
                      for r in (rows, changed))
        mine, theirs = meta_file.differing_lines(one, other, step)
        assert sorted(mine) == sorted(set(one) - set(other))
        assert sorted(theirs) == sorted(set(other) - set(one))
