"""`gitguard hooks install REPO` (issue #14, item 5): a central copy refuses deleted and
rewound history and approvals no approver signed, pushed locally and over the real sshd."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import git, gitguard, make_key, run, write_config
from sshd import SshServer

ENV = {"GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "m@example.com",
       "GIT_COMMITTER_NAME": "Mallory", "GIT_COMMITTER_EMAIL": "m@example.com"}


def bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def site_history(tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> tuple[
        Path, Path]:
    """A site's real repository with a signed approval; returns it and the config."""
    key, people = rina
    docroot = tmp_path / "htdocs"
    docroot.mkdir()
    (docroot / "index.html").write_text("<h1>Kabupaten</h1>\n")
    config = write_config(tmp_path, {"www": {"source": str(docroot)}}, people)
    run("init", config=config)
    run("check", config=config, expect=1)
    run("approve", "www", "-m", "awal", "--key", str(key), config=config)
    run("check", config=config)
    return tmp_path / "gitguard-data" / "www.git", config


def push(source: Path, url: str, *refspecs: str, ssh: str | None = None,
         force: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ENV, **({"GIT_SSH_COMMAND": ssh} if ssh else {})}
    return subprocess.run(["git", "--git-dir", str(source), "push", "--porcelain",
                           *(["--force"] if force else []), url, *refspecs],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def commit(repo: Path, parent: str, message: str, key: Path | None = None) -> str:
    """A commit on top of `parent` with its tree, signed with `key` when given."""
    args = ["-c", "gpg.format=ssh", "-c", f"user.signingKey={key}"] if key else []
    out = subprocess.run(["git", "--git-dir", str(repo), *args, "commit-tree",
                          *(["-S"] if key else []), "-p", parent, "-m", message,
                          f"{parent}^{{tree}}"], capture_output=True, text=True, check=True,
                         env={**os.environ, **ENV})
    return out.stdout.strip()


def attacks(site: Path, central: Path, url: str, tmp_path: Path, rina_key: Path,
            ssh: str | None = None) -> None:
    """The pushes an intruder on the monitoring host would try, then a good one."""
    everything = ("refs/heads/*:refs/heads/*", "refs/gitguard/*:refs/gitguard/*")
    done = push(site, url, *everything, ssh=ssh)
    assert done.returncode == 0, done.stderr
    approved = git(site, "rev-parse", "refs/heads/approved")
    assert git(central, "rev-parse", "refs/heads/approved") == approved

    # install set receive.denyDeletes and denyNonFastForwards as a second wall; the hook must
    # hold alone, on a server whose config someone reset
    assert git(central, "config", "receive.denyNonFastForwards") == "true"
    assert git(central, "config", "receive.denyDeletes") == "true"
    git(central, "config", "--unset", "receive.denyNonFastForwards")
    git(central, "config", "--unset", "receive.denyDeletes")

    scratch = tmp_path / "scratch.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(site), str(scratch)], check=True)
    mallory, _ = make_key(tmp_path, "mallory")

    unsigned = commit(scratch, approved, "approved, unsigned")
    git(scratch, "update-ref", "refs/heads/approved", unsigned)
    refused = push(scratch, url, "refs/heads/approved", ssh=ssh)
    assert refused.returncode != 0
    assert f"refusing refs/heads/approved: commit {unsigned} is not signed by an approver " \
           "(git: N)" in refused.stderr

    forged = commit(scratch, approved, "approved by someone else", key=mallory)
    git(scratch, "update-ref", "refs/heads/approved", forged)
    refused = push(scratch, url, "refs/heads/approved", ssh=ssh)
    assert refused.returncode != 0
    assert f"commit {forged} is not signed by an approver" in refused.stderr

    # an approver's signature on the tip does not carry an unsigned commit beneath it
    signed_on_top = commit(scratch, unsigned, "signed on top", key=rina_key)
    git(scratch, "update-ref", "refs/heads/approved", signed_on_top)
    refused = push(scratch, url, "refs/heads/approved", ssh=ssh)
    assert refused.returncode != 0 and f"commit {unsigned} is not signed" in refused.stderr

    seen = commit(scratch, approved, "seen, unsigned")
    git(scratch, "update-ref", "refs/gitguard/approved-seen", seen)
    refused = push(scratch, url, "refs/gitguard/approved-seen", ssh=ssh)
    assert refused.returncode != 0 and "not signed by an approver" in refused.stderr

    snapshots = git(site, "rev-parse", "refs/heads/snapshots")
    journal = git(site, "rev-parse", "refs/heads/journal")
    git(scratch, "update-ref", "refs/heads/journal", f"{journal}~1")
    refused = push(scratch, url, "refs/heads/journal", ssh=ssh, force=True)
    assert refused.returncode != 0 and "refusing to rewrite refs/heads/journal" in refused.stderr
    for ref in ("refs/heads/snapshots", "refs/heads/journal", "refs/heads/approved",
                "refs/gitguard/approved-seen"):
        refused = push(scratch, url, f":{ref}", ssh=ssh)
        assert refused.returncode != 0, ref
        assert f"refusing to delete {ref}" in refused.stderr, refused.stderr
    git(scratch, "tag", "v1", approved)
    refused = push(scratch, url, "refs/tags/v1", ssh=ssh)
    assert refused.returncode != 0 and "only branches and refs/gitguard/*" in refused.stderr

    assert git(central, "rev-parse", "refs/heads/approved") == approved
    assert git(central, "rev-parse", "refs/heads/snapshots") == snapshots
    assert git(central, "rev-parse", "refs/heads/journal") == journal

    # a good approval, signed by the approver, goes through
    good = commit(scratch, approved, "a new approval", key=rina_key)
    git(scratch, "update-ref", "refs/heads/approved", good)
    done = push(scratch, url, "refs/heads/approved", ssh=ssh)
    assert done.returncode == 0, done.stderr
    assert git(central, "rev-parse", "refs/heads/approved") == good


def test_local_central_copy(tmp_path: Path,
                            rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    site, config = site_history(tmp_path, rina)
    central = bare(tmp_path / "central.git")
    proc = run("hooks", "install", str(central), config=config)
    assert "hook installed; approvals must be signed by one of 1 approver key(s)" in proc.stdout
    assert (central / "gitguard" / "allowed_signers").read_text().startswith(
        'rina namespaces="git" ssh-ed25519 ')
    assert os.access(central / "hooks" / "update", os.X_OK)
    attacks(site, central, str(central), tmp_path, rina[0])
    run("hooks", "install", str(central), config=config)  # again: replaces its own files


def test_install_refuses_what_it_must_not_touch(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    _, config = site_history(tmp_path, rina)
    proc = gitguard("hooks", "install", str(tmp_path / "htdocs"), config=config)
    assert proc.returncode == 3 and "is not a bare git repository" in proc.stderr
    central = bare(tmp_path / "other.git")
    (central / "hooks" / "update").write_text("#!/bin/sh\nexit 0\n")
    proc = gitguard("hooks", "install", str(central), config=config)
    assert proc.returncode == 3 and "exists and is not gitguard's" in proc.stderr
    assert (central / "hooks" / "update").read_text() == "#!/bin/sh\nexit 0\n"
    proc = gitguard("hooks", "install", config=config)
    assert proc.returncode == 3
    assert proc.stderr == "gitguard: no REPO given and no site has remotes\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the sshd fixture's web user")
def test_central_copy_over_ssh(tmp_path: Path, sshd: SshServer,
                               rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    site, config = site_history(tmp_path, rina)
    central = bare(sshd.make_docroot("central") / "www.git")
    sshd.chown_to_user(central.parent)
    url = f"ssh://{sshd.user}@{sshd.host}:{sshd.port}{central}"
    ssh = (f"ssh -o BatchMode=yes -o IdentitiesOnly=yes -i {sshd.identity} "
           f"-o UserKnownHostsFile={sshd.known_hosts}")
    proc = gitguard("hooks", "install", url, config=config)  # no key: refused, one line
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = run("hooks", "install", url, "--identity-file", str(sshd.identity),
               "--known-hosts", str(sshd.known_hosts), config=config)
    assert "hook installed over SSH" in proc.stdout
    assert (central / "hooks" / "update").stat().st_uid != 0  # written by the git user
    attacks(site, central, url, tmp_path, rina[0], ssh=ssh)


def test_install_into_every_sites_remotes(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """Without REPO: each distinct remote of every site, once."""
    _, people = rina
    central = [bare(tmp_path / f"central{n}.git") for n in range(2)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config = write_config(tmp_path, {
        "a": {"source": str(tmp_path / "a"), "remotes": [str(central[0]), str(central[1])]},
        "b": {"source": str(tmp_path / "b"), "remotes": [str(central[1])]}}, people)
    proc = run("hooks", "install", config=config)
    assert [line.split(":")[0] for line in proc.stdout.splitlines()] == [str(c) for c in central]
    for repo in central:
        assert (repo / "gitguard" / "approvers").read_text().startswith("SHA256:")
