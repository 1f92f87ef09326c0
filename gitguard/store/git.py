"""The one git runner: every git call goes through here, with the user's config ignored and
nothing in the repository able to run code or change what git reads."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from gitguard.errors import StoreError

IDENTITY = {
    "GIT_AUTHOR_NAME": "gitguard",
    "GIT_AUTHOR_EMAIL": "gitguard@localhost",
    "GIT_COMMITTER_NAME": "gitguard",
    "GIT_COMMITTER_EMAIL": "gitguard@localhost",
}

# Whoever can write the data dir can write the repository's config, hooks and info/ files.
# These settings win over the repository's own (command-line scope) on every call, so none
# of them runs code, and none changes which objects or history git reads.
OVERRIDES = {
    "core.hooksPath": os.devnull,  # no hook runs, reference-transaction included
    "core.fsmonitor": "false",
    # the off-site push runs this ssh, no other, and never waits for a password
    "core.sshCommand": "ssh -o BatchMode=yes -o ConnectTimeout=30",
    "core.askPass": "",
    "credential.helper": "",
    "protocol.ext.allow": "never",
    "core.attributesFile": os.devnull,
    "core.commitGraph": "false",  # a forged commit-graph would lie about ancestry
    "gpg.format": "ssh",
    "gpg.ssh.program": "ssh-keygen",
    "gpg.program": "gpg",
}
ISOLATION = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ATTR_NOSYSTEM": "1",
    "GIT_NO_REPLACE_OBJECTS": "1",  # refs/replace/* would swap a signed tree for another
    "GIT_GRAFT_FILE": os.devnull,  # info/grafts would rewrite parents
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
    "GIT_CONFIG_COUNT": str(len(OVERRIDES)),
    **{f"GIT_CONFIG_KEY_{n}": key for n, key in enumerate(OVERRIDES)},
    **{f"GIT_CONFIG_VALUE_{n}": value for n, value in enumerate(OVERRIDES.values())},
}


class Git:
    """Runs git against one bare repository, isolated from system and user configuration
    and from the repository's own hooks, filters and commands."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.env = {
            k: v for k, v in os.environ.items()
            if not k.startswith("GIT_") and k not in ("HOME", "XDG_CONFIG_HOME")
        }
        self.env.update(IDENTITY)
        self.env.update(ISOLATION)
        self.env.update({"GIT_DIR": str(git_dir), "HOME": str(git_dir)})
        # Called before every command: the repository owner's check that nobody changed
        # its config, attributes or hooks since it was opened.
        self.guard: Callable[[], None] | None = None

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**self.env, **extra} if extra else self.env

    def run(self, args: Sequence[str], *, input: bytes | bytearray | None = None,
            env: dict[str, str] | None = None, check: bool = True) -> bytes:
        """Run git and return its stdout; a failure raises StoreError with git's message."""
        if self.guard is not None:
            self.guard()
        proc = subprocess.run(["git", *args], input=input, capture_output=True,
                              env=self._env(env), check=False)
        if check and proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = message[-1] if message else f"exit {proc.returncode}"
            raise StoreError(f"git {args[0]} failed in {self.git_dir}: {detail}")
        return proc.stdout

    def text(self, args: Sequence[str], *, input: bytes | None = None,
             env: dict[str, str] | None = None) -> str:
        """Run git and return its stdout as stripped text."""
        return self.run(args, input=input, env=env).decode("utf-8", "surrogateescape").strip()

    def popen(self, args: Sequence[str], *, env: dict[str, str] | None = None,
              stdout: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
        """Start a long-running git process fed through stdin (fast-import, cat-file)."""
        if self.guard is not None:
            self.guard()
        return subprocess.Popen(["git", *args], stdin=subprocess.PIPE, stdout=stdout,
                                stderr=subprocess.PIPE, env=self._env(env))

    def status(self, args: Sequence[str]) -> tuple[int, str]:
        """Run git for its exit status alone: (status, its complaint)."""
        if self.guard is not None:
            self.guard()
        proc = subprocess.run(["git", *args], capture_output=True, env=self.env, check=False)
        return proc.returncode, proc.stderr.decode("utf-8", "replace").strip()

    def ok(self, args: Sequence[str]) -> bool:
        """Run a git predicate (exit 0 = yes, 1 = no); other failures raise StoreError."""
        code, complaint = self.status(args)
        if code not in (0, 1):
            raise StoreError(f"git {args[0]} failed in {self.git_dir}: {complaint}")
        return code == 0

    def rev(self, ref: str) -> str | None:
        """The commit a ref points at, or None when it does not exist."""
        out = self.run(["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], check=False)
        return out.decode().strip() or None
