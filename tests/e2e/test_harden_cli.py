"""Hardening of the command line and the scheduler: output that stays valid whatever the names
on the server, one line and exit 3 for expected failures, a scheduler that outlives a job."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run, write_config

HOME = "<html><title>Desa Sukamaju</title><h1>Selamat datang</h1></html>\n"
SHELL = b"<?php system($_GET['c']); ?>\n"
STRICT = {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}  # cron under a UTF-8 locale


def raw_gitguard(*args: str, config: Path,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """The real CLI, its output kept as bytes."""
    return subprocess.run([sys.executable, "-m", "gitguard.cli", "-c", str(config), *args],
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=300,
                          check=False)


def test_names_with_bad_bytes_and_bidi_controls_keep_output_valid(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    docroot = tmp_path / "html"
    docroot.mkdir()
    (docroot / "index.html").write_text(HOME)
    config = write_config(tmp_path, {"desa": {"source": "html"}}, rina[1])
    run("init", config=config, expect=0)
    run("mirror", config=config, expect=0)
    run("approve", "desa", "-m", "awal", "--key", str(rina[0]), config=config, expect=0)

    bad = b"bad\xff\xfename.php"
    bidi = "report\u202egpj.php".encode()  # shows as 'reportphp.jpg'
    for name in (bad, bidi):
        with open(os.path.join(os.fsencode(docroot), name), "wb") as handle:
            handle.write(SHELL)

    text = raw_gitguard("check", config=config, env=STRICT)
    assert text.returncode == 2, text.stderr.decode(errors="replace")
    assert b"Traceback" not in text.stderr
    shown = text.stdout.decode("utf-8")  # strict: raises on any invalid byte
    assert "bad\\xff\\xfename.php" in shown
    assert "report\\u202egpj.php" in shown
    assert "\u202e" not in shown

    proc = raw_gitguard("check", "--json", config=config, env=STRICT)
    assert proc.returncode == 2, proc.stderr.decode(errors="replace")
    [result] = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    found = {f["path"]: f for f in result["findings"]}
    assert found["bad\\xff\\xfename.php"]["severity"] == "critical"
    assert base64.b64decode(found["bad\\xff\\xfename.php"]["path_bytes_b64"]) == bad
    assert found["report\u202egpj.php"]["severity"] == "critical"  # valid UTF-8: exact
    assert "path_bytes_b64" not in found["report\u202egpj.php"]

    audit = raw_gitguard("audit", "--json", config=config, env=STRICT)
    assert audit.returncode == 2
    assert json.loads(audit.stdout.decode("utf-8"))["findings"] == result["findings"]


def journal(config: Path, site: str) -> list[dict[str, object]]:
    runs: list[dict[str, object]] = json.loads(run("log", site, "--json", config=config).stdout)[
        "runs"]
    return runs


def alpha_broken_beta_fine(tmp_path: Path) -> Path:
    """Two sites; someone who can write the data dir broke alpha's repository in a way no
    check expects (its lock file is a folder). alpha sorts, and so is due, first."""
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(HOME)
    config = write_config(tmp_path, {"alpha": {"source": "alpha"}, "beta": {"source": "beta"}})
    run("init", config=config, expect=0)
    (tmp_path / "gitguard-data" / "alpha.git" / "gitguard" / "lock").mkdir()
    return config


def test_the_scheduler_outlives_a_job_that_fails_unexpectedly(tmp_path: Path) -> None:
    config = alpha_broken_beta_fine(tmp_path)
    before = len(journal(config, "beta"))
    proc = subprocess.Popen([sys.executable, "-m", "gitguard.cli", "-c", str(config), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if any(r["action"] == "check" for r in journal(config, "beta")[before:]):
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the scheduler died"
        assert [r["status"] for r in journal(config, "beta")[before:]
                if r["action"] == "check"] == ["warning"]  # checked: nothing approved yet
        failed = [r for r in journal(config, "alpha") if r["action"] == "run"]
        assert [r["status"] for r in failed] == ["error"]
        assert "check failed: IsADirectoryError" in str(failed[0]["summary"])
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if "alpha" in line]
    assert line.startswith("gitguard: alpha: check failed: IsADirectoryError"), line


@pytest.mark.parametrize("args", [
    ["approve", "www", "-m", "x", "--key", "{key}", "--path", "[z-a]"],
    ["restore", "www", "--dry-run", "--path", "ok/**", "[z-a]"],
    ["report", "www", "--kind", "activity", "--since", "0001-01-01"],
    ["report", "www", "--kind", "activity", "--until", "9999-12-31T23:00-12:00"],
    ["report", "www", "--kind", "activity", "--since", "2026-02-01", "--until", "2026-01-01"],
    ["audit", "no/such\nsite"],
])
def test_bad_arguments_are_one_line_and_exit_3(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]], args: list[str]) -> None:
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "index.html").write_text(HOME)
    config = write_config(tmp_path, {"www": {"source": "html"}}, rina[1])
    run("init", config=config, expect=0)
    run("mirror", config=config, expect=0)
    run("approve", "www", "-m", "awal", "--key", str(rina[0]), config=config, expect=0)
    (tmp_path / "html" / "index.html").write_text(HOME + "<p>changed</p>\n")
    run("mirror", config=config, expect=0)
    proc = run(*[a.format(key=rina[0]) for a in args], config=config, expect=3)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_check_goes_on_after_a_site_that_fails_unexpectedly_and_exits_unknown(
        tmp_path: Path) -> None:
    config = alpha_broken_beta_fine(tmp_path)
    proc = raw_gitguard("check", "--json", config=config)
    # exit 1 would read as WARNING to Nagios: a failure nobody expected is UNKNOWN
    assert proc.returncode == 3
    results = {r["site"]: r for r in map(json.loads, proc.stdout.decode().splitlines())}
    assert results["alpha"]["status"] == "unknown"
    assert results["beta"]["status"] == "warning"  # still checked: nothing approved yet
    err = proc.stderr.decode()
    assert "Traceback" in err  # a bug stays visible ...
    assert err.strip().splitlines()[-1].startswith(
        "gitguard: alpha: unexpected IsADirectoryError")  # ... and named with its site
