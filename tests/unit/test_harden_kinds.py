"""What a snapshot can hold (issue #10): special files, names git refuses, files too big to
back up; how the metadata file, the tree names and the restore plan treat them."""

from __future__ import annotations

import random

import pytest

from gitguard.model import Change, Kind, path_str
from gitguard.plan import Action, make_plan
from gitguard.policy import PathSet, Policy
from gitguard.store import meta
from gitguard.store.tree import TreeState, changed_paths

NO_POLICY = Policy(PathSet(()), PathSet(()))
F = meta.Meta(0o644, 33, 33, Kind.FILE)
D = meta.Meta(0o755, 33, 33, Kind.DIR)
S = meta.Meta(0o644, 33, 33, Kind.SPECIAL)


def test_special_files_have_a_code_of_their_own() -> None:
    metas = {"fifo": meta.Meta(0o600, 33, 33, Kind.SPECIAL), "docs": D}
    data = meta.encode(metas)
    assert data.startswith(meta.HEADER) and b" s fifo\n" in data
    assert meta.decode(data) == metas


def test_v1_metadata_files_still_read() -> None:
    old = (b"# gitguard metadata v1: mode uid gid kind path (f file, d folder, l symlink)\n"
           b"0755 33 33 d docs\n0644 33 33 f docs/a.html\n0777 0 0 l home\n")
    assert meta.decode(old) == {"docs": D, "docs/a.html": F,
                                "home": meta.Meta(0o777, 0, 0, Kind.SYMLINK)}
    # patched only in the current version: an old file is written afresh, with the new header
    assert meta.patch_rows(old, {b"x": (0o644, 1, 1, b"f")}) is None


@pytest.mark.parametrize(("path", "link", "storable"), [
    ("index.php", False, True),
    ("logo.gif", False, True),
    (".gitignore", False, True),
    (".gitmodules", False, True),
    (".gitmodules", True, False),
    ("sub/.GITMODULES", True, False),
    (".git", False, False),
    (".git/x.php", False, False),
    ("sub/.GIT/shell.php", False, False),
    ("a/.Git", True, False),
    ("a/..git", False, True),
    (".gitguard-meta", False, False),
    (".gitguard-meta/x.php", False, False),
    ("sub/.gitguard-meta", False, True),
    (".gitguard-unstorable/y.php", False, False),
])
def test_what_git_holds_under_its_own_name(path: str, link: bool, storable: bool) -> None:
    assert meta.storable(path, link) is storable
    name = meta.stored_name(path, link)
    assert (name == path) is storable
    assert meta.real_path(name) == path
    if not storable:
        folder, escaped = name.split("/")
        assert folder == meta.UNSTORABLE_DIR and "." not in escaped
        assert meta.stored_raw(path.encode(), link) == name.encode()


def test_escaped_names_round_trip_any_bytes() -> None:
    rng = random.Random(10)
    alphabet = [b"%", b".", b"/", b"%2F", b".git", b".GIT", b"\xff", b"a", b" ", b"\n"]
    for _ in range(500):
        raw = b".git/" + b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        raw = b"/".join(part or b"x" for part in raw.split(b"/"))
        path = path_str(raw)
        name = meta.stored_name(path)
        assert meta.real_path(name) == path
        assert all(part.lower() != ".git" for part in name.split("/"))


def _state(files: dict[str, str], metas: dict[str, meta.Meta]) -> TreeState:
    return TreeState({p: ("100644", oid) for p, oid in files.items()}, metas)


APPROVED = _state({"docs/a.html": "a" * 40, "index.html": "b" * 40},
                  {"docs": D, "docs/a.html": F, "index.html": F})


def test_fifo_in_place_of_a_folder_is_a_type_change_removed_then_rebuilt() -> None:
    now = _state({"index.html": "b" * 40}, {"docs": S, "index.html": F, "new.sock": S})
    assert dict(changed_paths(APPROVED, now, NO_POLICY)) == {
        "docs": Change.TYPE, "docs/a.html": Change.DELETED, "new.sock": Change.ADDED}
    plan = make_plan(APPROVED, now, NO_POLICY, [])
    assert [(s.action, s.path) for s in plan.steps] == [
        (Action.REMOVE, "docs"), (Action.REMOVE, "new.sock"), (Action.MKDIR, "docs"),
        (Action.WRITE, "docs/a.html"), (Action.CHMOD, "docs")]


def test_a_new_file_too_big_to_back_up_is_left_with_its_folder() -> None:
    # a file the snapshot lists without a blob: above max_file_size
    now = _state({"docs/a.html": "a" * 40, "index.html": "c" * 40},
                 {"docs": D, "docs/a.html": F, "index.html": F, "dump": D, "dump/x.tar": F})
    assert now.unread("dump/x.tar") and not now.unread("index.html")
    plan = make_plan(APPROVED, now, NO_POLICY, [])
    assert [(s.action, s.path) for s in plan.steps] == [(Action.WRITE, "index.html")]
    assert plan.left == ("dump/x.tar",)
    assert plan.checked == ["dump/x.tar", "index.html"]


def test_an_approved_file_grown_too_big_is_written_back() -> None:
    now = _state({"docs/a.html": "a" * 40}, {"docs": D, "docs/a.html": F, "index.html": F})
    plan = make_plan(APPROVED, now, NO_POLICY, [])
    assert [(s.action, s.path) for s in plan.steps] == [(Action.WRITE, "index.html")]
    assert plan.left == ()
