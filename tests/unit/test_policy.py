"""exclude / allow_new glob semantics."""

from __future__ import annotations

import pytest

from gitguard.policy import PathSet


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("*.log", "error.log", True),
    ("*.log", "wp-content/debug.log", True),
    ("*.log", "error.log.php", False),
    ("wp-content/cache/**", "wp-content/cache/a/b.html", True),
    ("wp-content/cache/**", "wp-content/cache", True),
    ("wp-content/cache/**", "wp-content/cachex", False),
    ("wp-content/cache/**", "other/wp-content/cache/x", False),
    ("wp-content/cache", "wp-content/cache/x/y", True),
    ("wp-content/uploads/**/*.jpg", "wp-content/uploads/2024/01/a.jpg", True),
    ("wp-content/uploads/**/*.jpg", "wp-content/uploads/a.jpg", True),
    ("wp-content/uploads/**/*.jpg", "wp-content/uploads/2024/01/a.jpg.php", False),
    ("wp-content/uploads/*.jpg", "wp-content/uploads/2024/a.jpg", False),
    ("file?.txt", "file1.txt", True),
    ("file?.txt", "file10.txt", False),
    ("[ab].txt", "a.txt", True),
    ("[!ab].txt", "a.txt", False),
    ("cache/", "x/cache/y", True),
])
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert PathSet((pattern,)).match(path) is expected


def test_empty_set_matches_nothing() -> None:
    paths = PathSet(())
    assert not paths
    assert not paths.match("anything")


def test_regex_characters_are_literal() -> None:
    assert PathSet(("a+b(1).txt",)).match("a+b(1).txt")
    assert not PathSet(("a+b(1).txt",)).match("aab1.txt")
