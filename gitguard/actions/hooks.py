"""`gitguard hooks install REPO`: protect a central copy of a site's history.

Into a bare repository, local or reached over SSH, go gitguard's `update` hook (sh and git
only: the git server needs no gitguard) and the approvers' keys: the allowed-signers file,
written by the same function gitguard verifies approvals with, and their fingerprints. The
same shell script installs both locally and over SSH, so the two cannot drift apart.
"""

from __future__ import annotations

import shlex
import subprocess
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gitguard.config import Config
from gitguard.errors import ConfigError, SourceError, UsageError
from gitguard.trust import allowed_signers, approvers_by_fingerprint

TIMEOUT = 60  # seconds for the whole install, over SSH included
MARKER = "# gitguard: the `update` hook"
_END = "GITGUARD_END_OF_FILE"

# Runs with the repository's path as $1, the files on its standard input as here-documents.
_INSTALL = r"""set -eu
umask 022
repo=$1
if [ "$(git --git-dir="$repo" rev-parse --is-bare-repository 2>/dev/null)" != true ]; then
  echo "$repo is not a bare git repository" >&2; exit 3
fi
repo=$(git --git-dir="$repo" rev-parse --absolute-git-dir)
if [ -n "$(git --git-dir="$repo" config --get core.hooksPath || true)" ]; then
  echo "$repo sets core.hooksPath: a hook in $repo/hooks would never run" >&2; exit 3
fi
if [ -e "$repo/hooks/update" ] && ! grep -qF '@MARKER@' "$repo/hooks/update"; then
  echo "$repo/hooks/update exists and is not gitguard's: move it away first" >&2; exit 3
fi
mkdir -p "$repo/hooks" "$repo/gitguard"
put() {  # put FILE MODE: standard input to FILE, atomically
  cat > "$1.tmp.$$"
  chmod "$2" "$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
}
"""


def install(config: Config, repo: str, identity: Path | None = None,
            known_hosts: Path | None = None) -> str:
    """Install the hook and the approvers' keys into `repo`; one line saying what was done."""
    signers = allowed_signers(config)
    if not signers:
        raise ConfigError("no approver in [people] (role kabag or kasubbag with a "
                          "signing_key): the hook would refuse every approval")
    fingerprints = "".join(f"{fpr}\n" for fpr in approvers_by_fingerprint(config))
    hook = resources.files("gitguard").joinpath("hooks/update").read_text(encoding="utf-8")
    files = [("hooks/update", "755", hook), ("gitguard/allowed_signers", "644", signers),
             ("gitguard/approvers", "644", fingerprints)]
    script = _INSTALL.replace("@MARKER@", MARKER)
    for name, mode, text in files:
        if f"\n{_END}\n" in f"\n{text}":
            raise UsageError(f"{name} holds the line {_END}")  # cannot happen with our files
        script += f'put "$repo/{name}" {mode} <<\'{_END}\'\n{text.rstrip(chr(10))}\n{_END}\n'
    script += ('git --git-dir="$repo" config receive.denyDeletes true\n'
               'git --git-dir="$repo" config receive.denyNonFastForwards true\n'
               'echo "$repo"\n')
    argv, where = _command(repo, identity, known_hosts)
    try:
        done = subprocess.run(argv, input=script.encode(), capture_output=True,
                              timeout=TIMEOUT, check=False, stdin=None)
    except subprocess.TimeoutExpired:
        raise SourceError(f"{repo}: no answer within {TIMEOUT} s") from None
    except OSError as exc:
        raise SourceError(f"{repo}: cannot run {argv[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(f"{repo}: hook not installed: {why[-1] if why else done.returncode}")
    count = len(fingerprints.splitlines())
    return (f"{repo}: hook installed{where}; approvals must be signed by one of "
            f"{count} approver key(s); deleting or rewriting history is refused")


def _command(repo: str, identity: Path | None,
             known_hosts: Path | None) -> tuple[list[str], str]:
    """The command that runs the install script for a local path or an ssh:// URL."""
    if "://" not in repo:
        if identity or known_hosts:
            raise UsageError("--identity-file and --known-hosts are for an ssh:// REPO")
        return ["sh", "-s", "--", str(Path(repo).expanduser())], ""
    parts = urlsplit(repo)
    if parts.scheme != "ssh" or not parts.hostname:
        raise UsageError(f"{repo}: use a local path or ssh://[user@]host[:port]/path")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"{repo}: bad port") from None
    path = unquote(parts.path)
    if not path.startswith("/") or path == "/":
        raise UsageError(f"{repo}: the repository must be an absolute path")
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
            "-o", "StrictHostKeyChecking=yes"]
    if port:
        argv += ["-p", str(port)]
    if identity:
        argv += ["-o", "IdentitiesOnly=yes", "-i", str(identity)]
    if known_hosts:
        argv += ["-o", f"UserKnownHostsFile={known_hosts}"]
    login = f"{unquote(parts.username)}@{parts.hostname}" if parts.username else parts.hostname
    return [*argv, "--", login, f"sh -s -- {shlex.quote(path)}"], " over SSH"
