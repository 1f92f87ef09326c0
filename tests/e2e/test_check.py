"""`gitguard check`, the scheduled job: mirror then audit, locally and over SSH, and its exits."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from helpers import git, gitguard, run, write_config
from sshd import SshServer

SNAPSHOTS = "refs/heads/snapshots"
DEFACEMENT = "<html><title>Hacked by Ganosec Team</title><h1>Hacked by Ganosec Team</h1></html>\n"
HOME = "<html><title>Desa Sukamaju</title><h1>Selamat datang</h1></html>\n"


def check(config: Path, expect: int, *sites: str) -> list[dict[str, Any]]:
    """`gitguard check [SITE...] --json`: one object per site."""
    proc = run("check", *sites, "--json", config=config, expect=expect)
    return [json.loads(line) for line in proc.stdout.splitlines()]


def snapshots(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", SNAPSHOTS))


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    return lines[0]


def test_check_mirrors_then_audits(tmp_path: Path,
                                   rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    docroot = tmp_path / "html"
    docroot.mkdir()
    (docroot / "index.html").write_text(HOME)
    (docroot / "profil.html").write_text("<p>Profil desa</p>\n")
    config = write_config(tmp_path, {"desa": {"source": "html"}}, rina[1])
    repo = tmp_path / "gitguard-data" / "desa.git"
    run("init", config=config, expect=0)

    [result] = check(config, 1)  # the first backup, and nothing approved yet
    assert result["status"] == "warning" and snapshots(repo) == 1
    run("approve", "desa", "-m", "awal", "--key", str(rina[0]), config=config, expect=0)
    [result] = check(config, 0)
    assert result["findings"] == [] and snapshots(repo) == 1  # nothing changed, no new snapshot

    (docroot / "profil.html").write_text("<p>Profil desa, diperbarui</p>\n")
    [result] = check(config, 1)
    assert snapshots(repo) == 2
    assert [(f["path"], f["severity"]) for f in result["findings"]] == [("profil.html", "warning")]

    (docroot / "index.html").write_text(DEFACEMENT)
    [result] = check(config, 2)
    assert snapshots(repo) == 3
    assert git(repo, "show", f"{SNAPSHOTS}:index.html") == DEFACEMENT.strip()
    assert {f["path"]: f["severity"] for f in result["findings"]} == \
        {"index.html": "critical", "profil.html": "warning"}
    text = run("check", config=config, expect=2).stdout
    assert text.startswith("desa: CRITICAL"), text


def test_check_over_ssh_catches_a_defacement_on_the_server(
        sshd: SshServer, tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    docroot = sshd.make_docroot()
    (docroot / "index.html").write_text(HOME)
    (docroot / "profil.html").write_text("<p>Profil desa</p>")
    (docroot / "wp-content" / "uploads").mkdir(parents=True)
    (docroot / "wp-content" / "uploads" / "doc.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    sshd.chown_to_user(docroot)
    config = write_config(tmp_path, {"web1": {"source": sshd.url(docroot),
                                              "identity_file": str(sshd.identity),
                                              "known_hosts": str(sshd.known_hosts)}}, rina[1])
    repo = tmp_path / "gitguard-data" / "web1.git"
    run("init", config=config, expect=0)
    check(config, 1)
    run("approve", "web1", "-m", "awal", "--key", str(rina[0]), config=config, expect=0)
    assert check(config, 0)[0]["findings"] == []

    # The attacker writes as the web user, on the server.
    index = docroot / "index.html"
    sshd.run_as_user(f"printf %s {shlex.quote(DEFACEMENT)} > {shlex.quote(str(index))}")
    [result] = check(config, 2)
    assert [(f["path"], f["change"], f["severity"]) for f in result["findings"]] == \
        [("index.html", "modified", "critical")]
    assert any("deface" in reason.lower() for reason in result["findings"][0]["reasons"])
    assert git(repo, "show", f"{SNAPSHOTS}:index.html") == DEFACEMENT.strip()

    # A careful attacker keeps the size and puts the old mtime back; the ctime still moves.
    profile = docroot / "profil.html"
    before = profile.stat()
    sshd.run_as_user(f"printf %s '<p>Profil DESA</p>' > {shlex.quote(str(profile))} && touch -m "
                     f"-d @{before.st_mtime_ns // 10**9}.{before.st_mtime_ns % 10**9:09d} "
                     f"{shlex.quote(str(profile))}")
    after = profile.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    [result] = check(config, 2)
    assert {f["path"]: f["change"] for f in result["findings"]} == \
        {"index.html": "modified", "profil.html": "modified"}, \
        "a same-size change with the mtime put back went unnoticed"
    assert git(repo, "show", f"{SNAPSHOTS}:profil.html") == "<p>Profil DESA</p>"


def test_one_broken_site_does_not_stop_the_others(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "index.html").write_text(HOME)
    config = write_config(tmp_path, {"alpha": {"source": str(tmp_path / "missing")},
                                     "beta": {"source": "good"}}, rina[1])
    proc = run("init", config=config, expect=3)
    assert "alpha" in one_line(proc.stderr) and "beta:" in proc.stdout
    run("mirror", "beta", config=config, expect=0)
    run("approve", "beta", "-m", "awal", "--key", str(rina[0]), config=config, expect=0)

    # alpha sorts first and fails: beta is still checked and printed.
    proc = run("check", config=config, expect=3)
    assert "alpha" in one_line(proc.stderr)
    assert proc.stdout.startswith("beta: OK"), proc.stdout
    results = {r["site"]: r for r in check(config, 3)}
    assert results["alpha"]["status"] == "unknown"
    assert results["beta"]["status"] == "ok"
    check(config, 0, "beta")


@pytest.mark.parametrize("command", ["audit", "check"])
def test_a_usage_error_exits_unknown_with_one_line(tmp_path: Path, command: str) -> None:
    config = write_config(tmp_path, {"www": {"source": "html"}})
    proc = gitguard(command, "--bogus", config=config)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    assert "--bogus" in one_line(proc.stderr)
    assert proc.stdout == ""


def test_every_config_mistake_is_reported_at_once(tmp_path: Path) -> None:
    config = tmp_path / "gitguard.toml"
    config.write_text("""
[gitguard]
language = "fr"

[people.rina]
name = "Rina"
role = "boss"
email = "rina-at-example"
signing_key = "not a key"

[sites.www]
sorce = "/var/www/html"

[sites.web2]
source = "ssh://gitguard@web2.example.go.id/var/www/html"
allow_new = "wp-content/uploads/**"
""")
    for command in ("check", "audit"):
        proc = gitguard(command, config=config)
        assert proc.returncode == 3
        assert "Traceback" not in proc.stderr
        line = one_line(proc.stderr)
        for key in ("gitguard.language", "people.rina.role", "people.rina.email",
                    "people.rina.signing_key", "sites.www.sorce", "sites.www.source",
                    "sites.web2.identity_file", "sites.web2.known_hosts",
                    "sites.web2.allow_new"):
            assert key in line, f"{key} missing from: {line}"
