"""`remotes`: every check copies the history off-site, and an off-site copy refuses a
rewritten history instead of taking it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers import git, gitguard, make_key, write_config


def test_check_copies_history_and_refuses_a_rewrite(tmp_path: Path) -> None:
    docroot = tmp_path / "htdocs"
    docroot.mkdir()
    (docroot / "index.html").write_text("<h1>Kabupaten</h1>\n")
    offsite = tmp_path / "backup.git"
    subprocess.run(["git", "init", "-q", "--bare", str(offsite)], check=True)
    key, public = make_key(tmp_path, "rina")
    config = write_config(tmp_path, {"www": {"source": str(docroot),
                                             "remotes": [str(offsite)]}},
                          {"rina": {"name": "Rina", "role": "kasubbag", "signing_key": public}})
    repo = tmp_path / "gitguard-data" / "www.git"
    assert gitguard("init", config=config).returncode == 0
    assert gitguard("check", config=config).returncode == 1
    assert gitguard("approve", "www", "-m", "awal", "--key", str(key),
                    config=config).returncode == 0
    assert gitguard("check", config=config).returncode == 0
    for ref in ("refs/heads/snapshots", "refs/heads/approved", "refs/gitguard/approved-seen"):
        assert git(offsite, "rev-parse", ref) == git(repo, "rev-parse", ref), ref
    # the journal off-site has everything up to the push, which is journaled after it
    assert git(offsite, "rev-parse", "refs/heads/journal") == \
        git(repo, "rev-parse", "refs/heads/journal~1")

    # Someone rewrites the local approved branch: the off-site copy keeps the real one.
    real = git(repo, "rev-parse", "refs/heads/approved")
    tree = git(repo, "rev-parse", "refs/heads/snapshots^{tree}")
    forged = git(repo, "commit-tree", tree, "-m", "forged")
    git(repo, "update-ref", "refs/heads/approved", forged)
    proc = gitguard("check", config=config)
    assert proc.returncode == 2
    assert "failed" in proc.stderr and "Traceback" not in proc.stderr
    assert git(offsite, "rev-parse", "refs/heads/approved") == real
    runs = json.loads(gitguard("log", "www", "--json", config=config).stdout)["runs"]
    assert [r["status"] for r in runs if r["action"] == "push"][-1] == "error"


def test_central_copy_hook_refuses_deletes_and_rewrites(tmp_path: Path) -> None:
    hook = Path(__file__).resolve().parents[2] / "hooks" / "update"
    central = tmp_path / "central.git"
    subprocess.run(["git", "init", "-q", "--bare", str(central)], check=True)
    (central / "hooks" / "update").symlink_to(hook)
    local = tmp_path / "local.git"
    subprocess.run(["git", "init", "-q", "--bare", str(local)], check=True)
    empty = git(local, "hash-object", "-t", "tree", "-w", "--stdin", input=b"")
    first = git(local, "commit-tree", empty, "-m", "first")
    second = git(local, "commit-tree", empty, "-p", first, "-m", "second")
    git(local, "update-ref", "refs/heads/snapshots", second)
    git(local, "push", "-q", str(central), "refs/heads/snapshots")

    def push(*args: str) -> subprocess.CompletedProcess[str]:
        *options, refspec = args
        return subprocess.run(["git", "--git-dir", str(local), "push", *options, str(central),
                               refspec], capture_output=True, text=True, check=False)

    git(local, "update-ref", "refs/heads/snapshots", first)
    refused = push("--force", "refs/heads/snapshots")
    assert refused.returncode != 0 and "refusing to rewrite" in refused.stderr
    refused = push(":refs/heads/snapshots")
    assert refused.returncode != 0 and "refusing to delete" in refused.stderr
    assert git(central, "rev-parse", "refs/heads/snapshots") == second
    third = git(local, "commit-tree", empty, "-p", second, "-m", "third")
    git(local, "update-ref", "refs/heads/snapshots", third)
    assert push("refs/heads/snapshots").returncode == 0
    assert git(central, "rev-parse", "refs/heads/snapshots") == third
