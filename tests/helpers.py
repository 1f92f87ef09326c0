"""Shared helpers for the end-to-end tests: run the real CLI, write configs, make keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def gitguard(*args: str, config: Path | None = None, env: Mapping[str, str] | None = None,
             input: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real `gitguard` command line in a subprocess (stdout, stderr as text)."""
    argv = [sys.executable, "-m", "gitguard.cli"]
    if config is not None:
        argv += ["-c", str(config)]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*argv, *args], capture_output=True, text=True, env=full_env,
                          input=input, timeout=timeout, check=False)


def run(*args: str, config: Path, expect: int = 0, input: str | None = None,
        env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI; asserts the exit code and that nothing crashed."""
    proc = gitguard(*args, config=config, input=input, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == expect, (
        f"gitguard {' '.join(args)}: exit {proc.returncode}, expected {expect}\n"
        f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def toml_value(value: Any) -> str:
    """A Python value as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(directory: Path, sites: Mapping[str, Mapping[str, Any]],
                 people: Mapping[str, Mapping[str, Any]] | None = None,
                 main: Mapping[str, Any] | None = None,
                 notify: Mapping[str, Any] | None = None) -> Path:
    """Write gitguard.toml into directory and return its path."""
    lines: list[str] = []
    sections: list[tuple[str, Mapping[str, Any]]] = [("gitguard", main or {})]
    sections += [(f"people.{k}", v) for k, v in (people or {}).items()]
    sections += [(f"sites.{k}", v) for k, v in sites.items()]
    if notify:
        sections.append(("notify", notify))
    for name, table in sections:
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
        lines.append("")
    path = directory / "gitguard.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def make_key(directory: Path, name: str, key_type: str = "ed25519") -> tuple[Path, str]:
    """A fresh unencrypted SSH key pair; returns the private key path and the public line."""
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", name, "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)
    return path, Path(f"{path}.pub").read_text().strip()


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    """Plain git against a site repository, as an auditor would run it."""
    # an identity of its own: a fresh machine has no ~/.gitconfig
    env = {"GIT_AUTHOR_NAME": "Auditor", "GIT_AUTHOR_EMAIL": "auditor@example.go.id",
           "GIT_COMMITTER_NAME": "Auditor", "GIT_COMMITTER_EMAIL": "auditor@example.go.id",
           **os.environ}
    proc = subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True,
                          input=input, check=True, env=env)
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def tree_files(repo: Path, rev: str) -> dict[bytes, bytes]:
    """Path bytes -> content bytes of every blob in a commit (the metadata file excluded)."""
    out = subprocess.run(["git", "--git-dir", str(repo), "ls-tree", "-r", "-z", rev],
                         capture_output=True, check=True).stdout
    paths: list[tuple[bytes, str]] = []
    for record in out.split(b"\0"):
        info, _, path = record.partition(b"\t")
        if record and path != b".gitguard-meta":
            paths.append((path, info.split()[2].decode()))
    batch = subprocess.run(["git", "--git-dir", str(repo), "cat-file", "--batch"],
                           input="".join(f"{oid}\n" for _, oid in paths).encode(),
                           capture_output=True, check=True).stdout
    result: dict[bytes, bytes] = {}
    pos = 0
    for path, _oid in paths:
        end = batch.index(b"\n", pos)
        size = int(batch[pos:end].split()[2])
        result[path] = batch[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
    return result
