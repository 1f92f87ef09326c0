"""`gitguard verify` end to end: a fresh scan against the signed approved tree, exit 0 or 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import git, gitguard, make_key, write_config
from sshd import SshServer

APPROVED = "refs/heads/approved"
JOURNAL = "refs/heads/journal"
ODD = b"bad\xffname\n.html"
FILES = {b"index.html": b"<h1>Dinas Kominfo</h1>\n", b"css/site.css": b"body{}\n",
         b"wp-content/uploads/2024/logo.jpg": b"\xff\xd8\xff\xe0 jpeg", ODD: b"odd\n"}


@dataclass(frozen=True)
class Site:
    """A small approved site and how its attacker runs code in the docroot."""

    config: Path
    docroot: Path
    repo: Path
    sshd: SshServer | None

    def attack(self, code: str) -> None:
        """Python in the docroot as the web user over SSH (root on a local path)."""
        script = f"import os\nos.chdir({str(self.docroot)!r})\n" + textwrap.dedent(code)
        if self.sshd is None:
            subprocess.run([sys.executable, "-c", script], check=True)
        else:
            self.sshd.run_as_user(["/usr/bin/python3", "-c", script])


def run(*args: str, site: Site, expect: int) -> subprocess.CompletedProcess[str]:
    """The real CLI; asserts the exit code and that nothing crashed."""
    proc = gitguard(*args, config=site.config, input="")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == expect, (
        f"gitguard {' '.join(args)}: exit {proc.returncode}, expected {expect}\n"
        f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


@pytest.fixture(params=["local", "ssh", "sftp"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    """The small site, approved by the kasubbag, over each transport."""
    key, public = make_key(tmp_path, "rina")
    people = {"rina": {"name": "Rina Wulandari", "role": "kasubbag",
                       "email": "rina@example.go.id", "signing_key": public}}
    options: dict[str, object] = {"allow_new": ["wp-content/uploads/**/*.jpg"]}
    sshd: SshServer | None = None
    if request.param == "local":
        docroot = tmp_path / "html"
        docroot.mkdir()
        options["source"] = str(docroot)
    else:
        sshd = request.getfixturevalue("sshd")
        assert sshd is not None
        docroot = sshd.make_docroot()
        sftp = request.param == "sftp"
        options.update(source=sshd.url(docroot, sftp=sftp),
                       identity_file=str(sshd.sftp_identity if sftp else sshd.identity),
                       known_hosts=str(sshd.known_hosts))
    for name, data in FILES.items():
        path = os.path.join(os.fsencode(docroot), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Path(os.fsdecode(path)).write_bytes(data)
    if sshd is not None:
        sshd.chown_to_user(docroot)
    config = write_config(tmp_path, {"www": options}, people)
    site = Site(config, docroot, tmp_path / "gitguard-data" / "www.git", sshd)
    run("init", site=site, expect=0)
    run("mirror", site=site, expect=0)
    run("approve", "www", "-m", "base", "--key", str(key), site=site, expect=0)
    return site


def verify_runs(repo: Path) -> list[dict[str, object]]:
    """The verify records in the journal, oldest first, read with plain git."""
    names = git(repo, "ls-tree", "-r", "--name-only", JOURNAL).splitlines()
    records = [json.loads(git(repo, "cat-file", "blob", f"{JOURNAL}:{name}"))
               for name in names if name.startswith("runs/") and "-verify-" in name]
    return sorted(records, key=lambda r: str(r["started"]))


def test_verify_clean_then_changed(site: Site) -> None:
    """Exit 0 on the approved site; exit 2 naming exactly the changed paths; journaled."""
    proc = run("verify", "www", site=site, expect=0)
    assert "verified" in proc.stdout

    site.attack("""
        with open("index.html", "ab") as handle:
            handle.write(b"<a href='//slot-gacor.example'>slot gacor</a>\\n")
        os.chmod("css/site.css", 0o777)
        with open("wp-content/uploads/2024/cmd.php", "wb") as handle:
            handle.write(b"<?php system($_GET['c']);\\n")
        with open("wp-content/uploads/2024/photo.jpg", "wb") as handle:
            handle.write(b"\\xff\\xd8\\xff\\xe0 another jpeg")
        os.remove(b"bad\\xffname\\n.html")
    """)
    proc = run("verify", "www", site=site, expect=2)
    listed = {line.strip() for line in proc.stdout.splitlines()[1:]}
    # The allowed new upload is no difference; the odd name is shown escaped, on one line.
    assert listed == {"index.html", "css/site.css", "wp-content/uploads/2024/cmd.php",
                      "bad\\xffname\\x0a.html"}, proc.stdout

    runs = verify_runs(site.repo)
    assert [r["status"] for r in runs] == ["ok", "critical"]
    details = runs[-1]["details"]
    assert isinstance(details, dict) and details["verified"] is False
    assert "wp-content/uploads/2024/cmd.php" in details["differ"]


def test_verify_sees_an_edit_with_the_mtime_put_back(site: Site) -> None:
    """Same size, mtime reset: the rescan must still see the new content (not mtime alone)."""
    site.attack("""
        st = os.stat("index.html")
        with open("index.html", "r+b") as handle:
            handle.write(b"<h1>HACKED!!</h1>")  # same length as the first line it replaces
        os.utime("index.html", ns=(st.st_atime_ns, st.st_mtime_ns))
    """)
    assert (site.docroot / "index.html").stat().st_size == len(FILES[b"index.html"])
    proc = run("verify", "www", site=site, expect=2)
    assert "index.html" in proc.stdout


def test_verify_refuses_a_forged_approved_tip(site: Site) -> None:
    """An unsigned commit on approved: verify cannot vouch for anything (exit 2)."""
    tree = git(site.repo, "rev-parse", f"{APPROVED}^{{tree}}")
    forged = git(site.repo, "commit-tree", tree, "-p", APPROVED, "-m", "unsigned")
    git(site.repo, "update-ref", APPROVED, forged)
    proc = run("verify", "www", site=site, expect=2)
    assert "trusted" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_nothing_approved_yet_is_unknown(tmp_path: Path) -> None:
    """Before any approval, verify and restore have nothing to compare with: exit 3, one line."""
    docroot = tmp_path / "html"
    docroot.mkdir()
    (docroot / "index.html").write_bytes(FILES[b"index.html"])
    site = Site(write_config(tmp_path, {"www": {"source": str(docroot)}}), docroot,
                tmp_path / "gitguard-data" / "www.git", None)
    run("init", site=site, expect=0)
    run("mirror", site=site, expect=0)
    for args in (["verify", "www"], ["restore", "www", "--yes"]):
        proc = run(*args, site=site, expect=3)
        assert "nothing is approved yet" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert (docroot / "index.html").read_bytes() == FILES[b"index.html"]
