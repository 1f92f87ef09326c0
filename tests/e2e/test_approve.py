"""`gitguard approve` end to end: signed commits on refs/heads/approved, checked with plain git."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import git, make_key, run, tree_files, write_config

APPROVED = "refs/heads/approved"
SNAPSHOTS = "refs/heads/snapshots"
PEOPLE = {  # key name -> (full name, role); every one of them has a signing_key
    "rina": ("Rina Wulandari", "kasubbag"),
    "budi": ("Budi Santoso", "kabag"),
    "sari": ("Sari Dewi", "staf"),
}


@dataclass(frozen=True)
class Site:
    """A local-path site with its config, docroot and bare repository."""

    config: Path
    docroot: Path
    repo: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Key pairs of the people in PEOPLE, plus eve's, which nobody lists."""
    folder = tmp_path_factory.mktemp("keys")
    return {name: make_key(folder, name) for name in [*PEOPLE, "eve"]}


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, tuple[Path, str]]) -> Path:
    """A small site, initialised and mirrored once, with nothing approved yet."""
    base = tmp_path_factory.mktemp("site")
    write(base / "html", {"index.html": "<h1>Pemerintah Kota</h1>\n",
                          "about.html": "<p>Tentang kami</p>\n",
                          "css/style.css": "body { color: #222; }\n"})
    people = {key: {"name": name, "role": role, "email": f"{key}@example.go.id",
                    "signing_key": keys[key][1]} for key, (name, role) in PEOPLE.items()}
    config = write_config(base, {"www": {"source": "html"}}, people)
    run("init", config=config)
    run("mirror", config=config)
    return base


@pytest.fixture
def site(mirrored: Path, tmp_path: Path) -> Site:
    """A private copy of the mirrored site (config, docroot and data use relative paths)."""
    base = tmp_path / "site"
    subprocess.run(["cp", "-a", str(mirrored), str(base)], check=True)
    return Site(base / "gitguard.toml", base / "html", base / "gitguard-data" / "www.git")


def write(root: Path, files: dict[str, str]) -> None:
    """Create or overwrite files under root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    """stderr is one line that says the given words."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {proc.stderr!r}"
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


def ref(repo: Path, name: str) -> str | None:
    """A ref's commit, read with plain git, or None when it does not exist."""
    return git(repo, "for-each-ref", "--format=%(objectname)", name) or None


def approve(site: Site, key: Path | None, *extra: str, expect: int = 0,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`gitguard approve www -m ...` with a key file (or none: the agent)."""
    args = ["approve", "www", "-m", "Pembaruan konten"]
    if key is not None:
        args += ["--key", str(key)]
    return run(*args, *extra, config=site.config, expect=expect, env=env)


def audit(site: Site, expect: int) -> dict[str, Any]:
    """`gitguard audit www --json` as a dict."""
    result: dict[str, Any] = json.loads(run("audit", "www", "--json", config=site.config,
                                            expect=expect).stdout)
    return result


def allowed_signers(path: Path, keys: dict[str, tuple[Path, str]], *names: str) -> Path:
    """An allowed-signers file of our own, for plain `git verify-commit`."""
    path.write_text("".join(f'{n} namespaces="git" {keys[n][1]}\n' for n in names))
    return path


def verify_commit(repo: Path, commit: str, signers: Path) -> subprocess.CompletedProcess[str]:
    """Plain git's verdict on a commit's SSH signature, independent of gitguard."""
    return subprocess.run(
        ["git", "--git-dir", str(repo), "-c", "gpg.format=ssh",
         "-c", f"gpg.ssh.allowedSignersFile={signers}", "verify-commit", commit],
        capture_output=True, text=True, check=False)


def test_an_approver_key_signs_the_snapshot_onto_approved(
        site: Site, keys: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    snapshot = ref(site.repo, SNAPSHOTS)
    proc = approve(site, keys["rina"][0])
    commit = ref(site.repo, APPROVED)
    assert commit is not None and commit in proc.stdout

    signers = allowed_signers(tmp_path / "rina", keys, "rina")
    good = verify_commit(site.repo, commit, signers)
    assert good.returncode == 0, good.stderr
    assert git(site.repo, "-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}",
               "log", "-1", "--format=%G? %GS", commit) == "G rina"
    # The check above is not vacuous: the same commit fails against someone else's key.
    other = verify_commit(site.repo, commit, allowed_signers(tmp_path / "budi", keys, "budi"))
    assert other.returncode != 0

    message = git(site.repo, "log", "-1", "--format=%B", commit)
    assert "Rina Wulandari" in message
    assert snapshot is not None and snapshot in message
    assert "Pembaruan konten" in message
    assert tree_files(site.repo, commit) == tree_files(site.repo, SNAPSHOTS)

    history = json.loads(run("log", "www", "--json", config=site.config).stdout)
    assert [(a["commit"], a["verified"], a["signer"], a["role"]) for a in history["approvals"]] \
        == [(commit, True, "Rina Wulandari", "kasubbag")]
    assert any(r["action"] == "approve" and r["status"] == "ok" for r in history["runs"])
    assert audit(site, expect=0)["findings"] == []


def test_a_kabag_key_approves_too(site: Site, keys: dict[str, tuple[Path, str]],
                                  tmp_path: Path) -> None:
    approve(site, keys["budi"][0])
    commit = ref(site.repo, APPROVED)
    assert commit is not None
    signers = allowed_signers(tmp_path / "signers", keys, "budi")
    assert verify_commit(site.repo, commit, signers).returncode == 0
    assert "Budi Santoso" in git(site.repo, "log", "-1", "--format=%B", commit)


@pytest.mark.parametrize(("who", "why"), [("eve", "unknown key"), ("sari", "a staf's key")])
def test_a_non_approver_key_is_refused(site: Site, keys: dict[str, tuple[Path, str]],
                                       who: str, why: str) -> None:
    proc = approve(site, keys[who][0], expect=3)
    one_line_error(proc, "not an approver")
    assert ref(site.repo, APPROVED) is None, f"{why} created refs/heads/approved"

    approve(site, keys["rina"][0])
    first = ref(site.repo, APPROVED)
    write(site.docroot, {"about.html": "<p>Tentang kami (baru)</p>\n"})
    run("mirror", config=site.config)
    one_line_error(approve(site, keys[who][0], expect=3), "not an approver")
    assert ref(site.repo, APPROVED) == first, f"{why} moved refs/heads/approved"


def test_path_approves_only_the_named_paths(site: Site, keys: dict[str, tuple[Path, str]]
                                            ) -> None:
    approve(site, keys["rina"][0])
    first = ref(site.repo, APPROVED)
    assert first is not None
    write(site.docroot, {"about.html": "<p>Tentang kami, diubah</p>\n",
                         "css/style.css": "body { color: #000; }\n",
                         "news/2024/agenda.html": "<p>Agenda rapat</p>\n"})
    run("mirror", config=site.config)

    approve(site, keys["rina"][0], "--path", "css/*", "news/**")
    files = tree_files(site.repo, APPROVED)
    assert files[b"css/style.css"] == b"body { color: #000; }\n"
    assert files[b"news/2024/agenda.html"] == b"<p>Agenda rapat</p>\n"
    assert files[b"about.html"] == tree_files(site.repo, first)[b"about.html"], \
        "a path outside --path was taken from the snapshot"
    message = git(site.repo, "log", "-1", "--format=%B", APPROVED)
    assert "css/*" in message and "news/**" in message

    result = audit(site, expect=1)
    assert [(f["path"], f["change"]) for f in result["findings"]] == [("about.html", "modified")]


def test_snapshot_approves_an_older_snapshot(site: Site, keys: dict[str, tuple[Path, str]]
                                             ) -> None:
    write(site.docroot, {"about.html": "<p>Versi dua</p>\n"})
    run("mirror", config=site.config)
    second = ref(site.repo, SNAPSHOTS)
    write(site.docroot, {"about.html": "<p>Versi tiga</p>\n"})
    run("mirror", config=site.config)
    assert second is not None and ref(site.repo, SNAPSHOTS) != second

    approve(site, keys["rina"][0], "--snapshot", second[:12])
    assert tree_files(site.repo, APPROVED) == tree_files(site.repo, second)
    assert second in git(site.repo, "log", "-1", "--format=%B", APPROVED)
    result = audit(site, expect=1)
    assert [f["path"] for f in result["findings"]] == ["about.html"]

    # A commit that is no snapshot of this site (the journal's) is refused.
    before = ref(site.repo, APPROVED)
    approve(site, keys["rina"][0], "--snapshot", "refs/heads/journal", expect=3)
    approve(site, keys["rina"][0], "--snapshot", "nosuchrev", expect=3)
    assert ref(site.repo, APPROVED) == before


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real ssh-agent on a socket of its own; yields the environment that points at it."""
    sock = tmp_path / "agent.sock"
    process = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert process.poll() is None, "ssh-agent exited"
            assert time.monotonic() < deadline, "ssh-agent did not create its socket"
            time.sleep(0.01)
        yield {"SSH_AUTH_SOCK": str(sock)}
    finally:
        process.terminate()
        process.wait(timeout=10)


def ssh_add(env: dict[str, str], key: Path) -> None:
    """Load a key into the test's agent."""
    subprocess.run(["ssh-add", "-q", str(key)], env={**os.environ, **env}, check=True,
                   capture_output=True)


def test_approve_signs_with_the_key_in_ssh_agent(site: Site, keys: dict[str, tuple[Path, str]],
                                                 agent: dict[str, str], tmp_path: Path) -> None:
    one_line_error(approve(site, None, expect=3, env=agent), "ssh-agent")  # holds no keys yet
    ssh_add(agent, keys["eve"][0])
    one_line_error(approve(site, None, expect=3, env=agent), "approver")
    assert ref(site.repo, APPROVED) is None

    ssh_add(agent, keys["rina"][0])
    approve(site, None, env=agent)
    commit = ref(site.repo, APPROVED)
    assert commit is not None
    signers = allowed_signers(tmp_path / "signers", keys, "rina")
    assert verify_commit(site.repo, commit, signers).returncode == 0
    assert "Rina Wulandari" in git(site.repo, "log", "-1", "--format=%B", commit)


def test_without_agent_or_key_approve_fails(site: Site) -> None:
    proc = approve(site, None, expect=3, env={"SSH_AUTH_SOCK": ""})
    one_line_error(proc, "--key")
    assert ref(site.repo, APPROVED) is None


def test_a_missing_key_file_is_one_line(site: Site, tmp_path: Path) -> None:
    one_line_error(approve(site, tmp_path / "nope", expect=3), "does not exist")


def test_approved_history_is_fast_forward(site: Site, keys: dict[str, tuple[Path, str]],
                                          tmp_path: Path) -> None:
    approve(site, keys["rina"][0])
    first = ref(site.repo, APPROVED)
    one_line_error(approve(site, keys["rina"][0], expect=3), "nothing to approve")
    assert ref(site.repo, APPROVED) == first

    write(site.docroot, {"index.html": "<h1>Pemerintah Kota</h1>\n<p>Pengumuman</p>\n"})
    run("mirror", config=site.config)
    approve(site, keys["budi"][0])
    second = ref(site.repo, APPROVED)
    assert second is not None and second != first
    assert git(site.repo, "rev-parse", f"{second}^") == first
    assert git(site.repo, "rev-list", "--count", APPROVED) == "2"
    signers = allowed_signers(tmp_path / "signers", keys, "rina", "budi")
    for commit in (first, second):
        assert commit is not None
        assert verify_commit(site.repo, commit, signers).returncode == 0
    assert audit(site, expect=0)["approved"] == second
