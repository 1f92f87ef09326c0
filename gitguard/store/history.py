"""The repository's reading side through GitPython: history, commits, refs, trees and the
journal, over one persistent `git cat-file --batch` (GitPython's GitCmdObjectDB).

Writes stay with the plumbing runner (store/git.py); what GitPython runs gets that runner's
environment, exactly, and its layout check before every command. Every object read here is
checked against its id: git does not re-hash what it hands out, so a rewritten object file
in the data dir would otherwise be believed.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from typing import Any

import git as gitpython
from git.db import GitCmdObjectDB
from git.exc import GitCommandError
from gitdb.base import OStream

from gitguard.errors import StoreError
from gitguard.model import ENCODING, ERRORS
from gitguard.store.git import Git
from gitguard.store.objects import TREE_MODE, CommitInfo, named_tree, parse_tree

ENV = "/usr/bin/env"


class GuardedGit(gitpython.Git):
    """GitPython's command wrapper with the plumbing runner's protections: its layout check
    before every command and its environment, not the caller's."""

    # the runner's git, found on its PATH: not the GIT_PYTHON_GIT_EXECUTABLE of the caller
    GIT_PYTHON_GIT_EXECUTABLE = "git"

    def __init__(self, runner: Git) -> None:
        # no working dir: git runs where the runner's would, so a relative GIT_DIR holds
        super().__init__(None)
        self._runner = runner

    def execute(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a git command the way the runner would."""
        if self._runner.guard is not None:
            self._runner.guard()
        if isinstance(command, (list, tuple)):
            # GitPython starts from os.environ and can only add to it; `env -i` gives git
            # the runner's environment alone, so no GIT_DIR, GIT_OBJECT_DIRECTORY or
            # GIT_CONFIG_PARAMETERS of the caller's reaches it.
            command = [ENV, "-i", *(f"{k}={v}" for k, v in self._runner.env.items()),
                       *command]
        return super().execute(command, *args, **kwargs)


class VerifiedObjectDB(GitCmdObjectDB):
    """GitPython's object database over `git cat-file --batch`, every object's bytes
    checked against its id before GitPython parses them."""

    def stream(self, binsha: bytes) -> OStream:
        """An object's type, size and bytes; StoreError when they do not match its id."""
        try:
            found = super().stream(binsha)
        except ValueError as exc:  # cat-file answered "missing"
            raise StoreError(f"object {binsha.hex()[:12]} is missing from the repository: "
                             f"{exc}") from None
        data = found.read()
        kind = found.type.decode() if isinstance(found.type, bytes) else str(found.type)
        if hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data).digest() != binsha:
            raise StoreError(f"{kind} {binsha.hex()[:12]} in {self.root_path()} does not "
                             "match its id: the repository was tampered with")
        return OStream(binsha, found.type, len(data), io.BytesIO(data))


class _Repository(gitpython.Repo):
    """A GitPython Repo over one bare repository, set up without reading the environment
    or the repository's config (GitPython's own constructor reads both)."""

    def __init__(self, runner: Git) -> None:
        # not Repo.__init__: it takes GIT_DIR, GIT_OBJECT_DIRECTORY and GIT_COMMON_DIR from
        # os.environ and reads the repository's config in Python
        path = os.fspath(runner.git_dir)
        self.git_dir = path
        self._common_dir = path
        self._working_tree_dir = None
        self.working_dir = path
        self._bare = True
        self.git = GuardedGit(runner)
        self.odb = VerifiedObjectDB(os.path.join(path, "objects"), self.git)


class History:
    """Reads one site repository's history and objects; close() ends the cat-file process."""

    def __init__(self, runner: Git) -> None:
        self.repo = _Repository(runner)
        self.pid = os.getpid()  # the process whose cat-file this is

    def close(self) -> None:
        """Stop the persistent git processes."""
        self.repo.git.clear_cache()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- objects, each checked against its id ----------------------------------------------

    def read(self, oid: str, kind: str) -> bytes:
        """The bytes of an object of this kind, checked against its id."""
        found = self.repo.odb.stream(bytes.fromhex(oid))
        kind_found = found.type.decode() if isinstance(found.type, bytes) else str(found.type)
        if kind_found != kind:
            raise StoreError(f"object {oid[:12]} in {self.repo.git_dir} is a {kind_found}, "
                             f"not a {kind}")
        data: bytes = found.read()
        return data

    def commit_tree(self, commit: str) -> str:
        """The tree a commit names."""
        return named_tree(self.read(commit, "commit"), commit, self.repo.git_dir)

    def entries(self, tree: str) -> list[tuple[str, int, str]]:
        """(name, mode, object id) of a tree's entries."""
        return [(name.decode(ENCODING, ERRORS), mode, oid)
                for name, (mode, oid) in self.raw_entries(tree).items()]

    def raw_entries(self, tree: str) -> dict[bytes, tuple[int, str]]:
        """Raw name -> (mode, object id) of a tree's entries."""
        return parse_tree(self.read(tree, "tree"), tree)

    def lookup(self, commit: str, path: str) -> str | None:
        """The id of the object at `path` in a commit's tree, or None."""
        oid = self.commit_tree(commit)
        for part in path.split("/"):
            found = [(mode, sha) for name, mode, sha in self.entries(oid) if name == part]
            if not found:
                return None
            oid = found[0][1]
        return oid

    def file(self, commit: str, path: str) -> bytes | None:
        """A file of a commit's tree, or None when it has none there."""
        oid = self.lookup(commit, path)
        return None if oid is None else self.read(oid, "blob")

    def walk(self, commit: str, folder: str, first: str = "", last: str = "\U0010ffff"
             ) -> Iterator[tuple[str, str]]:
        """(path, blob id) of every file below `folder` of a commit's tree whose path lies
        in [first, last]; subtrees that cannot hold such a path are never read."""
        top = self.lookup(commit, folder)
        if top is None:
            return
        pending = [(folder, top)]
        while pending:
            prefix, tree = pending.pop()
            for name, mode, oid in self.entries(tree):
                path = f"{prefix}/{name}"
                if mode == TREE_MODE:
                    # a folder is read only if some path in the range can start with it
                    if first[:len(path)] <= path <= last[:len(path)]:
                        pending.append((path, oid))
                elif first <= path <= last:
                    yield path, oid

    # -- history -----------------------------------------------------------------------

    def commits(self, ref: str) -> list[CommitInfo]:
        """The commits of a history, newest first."""
        try:
            return [self._info(c) for c in self.repo.iter_commits(ref)]
        except GitCommandError as exc:
            raise StoreError(f"cannot read the history of {ref}: {_why(exc)}") from None

    def info(self, commit: str) -> CommitInfo:
        """One commit's date and message."""
        return self._info(self.repo.commit(commit))

    @staticmethod
    def _info(commit: gitpython.Commit) -> CommitInfo:
        message = commit.message
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        return CommitInfo(commit.hexsha, commit.committed_datetime, commit.authored_datetime,
                          text.split("\n", 1)[0], text)

    def roots(self, ref: str) -> list[str]:
        """The commits without parents in a branch's history."""
        try:
            out = self.repo.git.rev_list("--max-parents=0", ref)
        except GitCommandError as exc:
            raise StoreError(f"cannot read the history of {ref}: {_why(exc)}") from None
        return str(out).split()

    def count(self, commit: str) -> int:
        """How many commits the history up to `commit` holds."""
        try:
            return int(self.repo.git.rev_list("--count", commit))
        except (GitCommandError, ValueError) as exc:
            raise StoreError(f"cannot count the history of {commit[:12]}: "
                             f"{_why(exc)}") from None

    def descends(self, ancestor: str, commit: str) -> bool:
        """Whether `ancestor` is in the history of `commit` (False when either is missing)."""
        try:
            return bool(self.repo.is_ancestor(ancestor, commit))  # type: ignore[arg-type]
        except GitCommandError:
            return False


def _why(exc: Exception) -> str:
    """git's last line of complaint (GitPython's message repeats the whole command)."""
    if isinstance(exc, GitCommandError):
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) \
            else str(exc.stderr)
        lines = [line.strip(" '\"") for line in err.strip().splitlines() if line.strip(" '\"")]
        if lines:
            return lines[-1].removeprefix("stderr: ")
    return str(exc)
