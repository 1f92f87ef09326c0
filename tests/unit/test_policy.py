"""exclude / allow_new glob semantics."""

from __future__ import annotations

import pytest

from gitguard.policy import PathSet, Policy, compile_glob


@pytest.mark.parametrize(("pattern", "path", "is_dir", "expected"), [
    ("*.log", "error.log", False, True),
    ("*.log", "wp-content/debug.log", False, True),
    ("*.log", "error.log.php", False, False),
    ("wp-content/cache/**", "wp-content/cache/a/b.html", False, True),
    ("wp-content/cache/**", "wp-content/cache", True, True),
    ("wp-content/cache/**", "wp-content/cache/a", True, True),
    ("wp-content/cache/**", "wp-content/cachex", True, False),
    ("wp-content/cache/**", "other/wp-content/cache/x", False, False),
    ("**/cache/**", "a/b/cache/x.html", False, True),
    ("**/cache/**", "a/b/cache", True, True),
    ("wp-content/cache", "wp-content/cache/x/y", False, True),
    ("wp-content/cache", "wp-content/cache", True, True),
    ("/cache", "cache", False, True),
    ("/cache", "cache/x", False, False),  # one name: a file's, not a folder's
    ("/cache/", "cache/x", False, True),
    ("wp-content/uploads/**/*.jpg", "wp-content/uploads/2024/01/a.jpg", False, True),
    ("wp-content/uploads/**/*.jpg", "wp-content/uploads/a.jpg", False, True),
    ("wp-content/uploads/**/*.jpg", "wp-content/uploads/2024/01/a.jpg.php", False, False),
    ("wp-content/uploads/*.jpg", "wp-content/uploads/2024/a.jpg", False, False),
    ("file?.txt", "file1.txt", False, True),
    ("file?.txt", "file10.txt", False, False),
    ("[ab].txt", "a.txt", False, True),
    ("[!ab].txt", "a.txt", False, False),
    ("cache/", "x/cache/y", False, True),
    ("cache/", "x/cache", True, True),
    ("cache/", "x/cache", False, False),  # written as a folder: a file of that name is not one
])
def test_glob(pattern: str, path: str, is_dir: bool, expected: bool) -> None:
    assert PathSet((pattern,)).match(path, is_dir) is expected


@pytest.mark.parametrize(("pattern", "path"), [
    ("*.log", "uploads/debug.log/shell.php"),
    ("debug.log", "uploads/debug.log/shell.php"),
    ("wp-content/*.log", "wp-content/x.log/shell.php"),
    ("wp-content/uploads/**/*.jpg", "wp-content/uploads/2024/x.jpg/login.html"),
])
def test_a_name_pattern_never_matches_a_folder_or_what_is_below_it(pattern: str,
                                                                   path: str) -> None:
    paths = PathSet((pattern,))
    folder = path.rsplit("/", 1)[0]
    assert not paths.match(folder, True)
    assert not paths.match(path, False)
    assert paths.match(folder, False)  # the same name as a file is matched


def test_allow_new_never_covers_a_file_because_of_its_folder() -> None:
    policy = Policy(PathSet(()), PathSet(("wp-content/uploads/**/*.jpg", "static/",
                                          "media/docs")))
    assert policy.allowed_new("wp-content/uploads/2024/a.jpg")
    assert not policy.allowed_new("wp-content/uploads/2024/x.jpg/login.html")
    assert not policy.allowed_new("static/shell.php")
    assert not policy.allowed_new("media/docs/shell.php")


def test_excluded_folder_takes_what_is_below_it() -> None:
    policy = Policy(PathSet(("wp-content/cache/**", "*.log")), PathSet(()))
    assert policy.excluded("wp-content/cache", True)
    assert policy.excluded("wp-content/cache/x/y.php", False)
    assert policy.excluded("error.log", False)
    assert not policy.excluded("debug.log", True)
    assert not policy.excluded("debug.log/shell.php", False)


@pytest.mark.parametrize("pattern", ["[z-a]", "a/[z-a]/**", "/", "", "//"])
def test_bad_globs_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"glob|pattern"):
        compile_glob(pattern)


def test_empty_set_matches_nothing() -> None:
    paths = PathSet(())
    assert not paths
    assert not paths.match("anything", False)
    assert not paths.match("anything", True)
    assert not paths.names("anything")


def test_regex_characters_are_literal() -> None:
    assert PathSet(("a+b(1).txt",)).match("a+b(1).txt", False)
    assert not PathSet(("a+b(1).txt",)).match("aab1.txt", False)
