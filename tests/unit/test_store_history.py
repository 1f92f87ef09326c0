"""The reading side (GitPython) from where the plumbing runner runs: a relative repository
path reads the same history, and a missing commit is an error, never an empty history."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitguard.errors import StoreError
from gitguard.store.objects import commit
from gitguard.store.repo import SiteRepo


def test_a_relative_repository_path_reads_the_same(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    SiteRepo.create(Path("site.git"))
    repo = SiteRepo.open(Path("site.git"))
    try:
        tree = repo.git.text(["hash-object", "-t", "tree", "-w", "--stdin"], input=b"")
        first = commit(repo.git, tree, [], "pertama\n")
        second = commit(repo.git, tree, [first], "kedua\n\nisi\n")
        assert repo.descends(first, second) and not repo.descends(second, first)
        assert [c.subject for c in repo.history.commits(second)] == ["kedua", "pertama"]
        assert repo.history.count(second) == 2
        assert repo.history.roots(second) == [first]
        assert repo.history.info(second).message == "kedua\n\nisi\n"
        with pytest.raises(StoreError, match="cannot read the history"):
            repo.history.commits("0" * 40)
        assert not repo.descends("0" * 40, second)  # missing: no ancestor of anything
    finally:
        repo.close()
