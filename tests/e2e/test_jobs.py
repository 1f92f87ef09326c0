"""Many sites at once (issue #14, item 2): `check`, `mirror`, `audit` and `verify` without
names run every site, --jobs at once, one whole block per site as each ends, the worst exit;
a site that hangs is stopped at its time limit, journaled, and the others are not held up."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import gitguard, run, write_config
from sshd import SshServer


@pytest.fixture
def stalling_find(sshd: SshServer) -> Iterator[Path]:
    """The hostile server's `find`: GNU find for --version, otherwise it hangs (40 s, so
    that what the stopped client leaves on the server ends by itself)."""
    path = sshd.hostile_bin / "find"
    path.write_text('#!/bin/sh\nif [ "$1" = --version ]; then exec /usr/bin/find "$@"; fi\n'
                    "exec sleep 40\n")
    path.chmod(0o755)
    yield path
    path.unlink(missing_ok=True)


def local_sites(tmp_path: Path, count: int) -> dict[str, dict[str, object]]:
    """`count` small local sites, each a folder with a home page."""
    sites: dict[str, dict[str, object]] = {}
    for n in range(count):
        docroot = tmp_path / f"site{n}"
        (docroot / "css").mkdir(parents=True)
        (docroot / "index.html").write_text(f"<h1>Dinas {n}</h1>\n")
        (docroot / "css" / "style.css").write_text("body { color: #333 }\n")
        sites[f"opd{n}"] = {"source": str(docroot)}
    return sites


def approve_all(config: Path, key: Path, names: list[str]) -> None:
    """The first backup of each site, signed as its approved state."""
    run("check", config=config, expect=1)
    for name in names:
        run("approve", name, "-m", "awal", "--key", str(key), config=config)


def test_every_site_at_once_worst_exit_and_whole_lines(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    key, people = rina
    sites = local_sites(tmp_path, 5)
    config = write_config(tmp_path, sites, people, {"jobs": 3})
    run("init", config=config)
    approve_all(config, key, list(sites))
    (tmp_path / "site2" / "index.html").write_text("<h1>Hacked by Tim Uji</h1>\n")
    (tmp_path / "site4" / "css" / "style.css").write_text("body { color: red }\n")

    proc = run("check", "--json", "--jobs", "4", config=config, expect=2)
    lines = proc.stdout.splitlines()
    objects = [json.loads(line) for line in lines]  # every line a whole JSON object
    assert sorted(o["site"] for o in objects) == sorted(sites)
    status = {o["site"]: o["status"] for o in objects}
    assert status == {"opd0": "ok", "opd1": "ok", "opd2": "critical", "opd3": "ok",
                      "opd4": "warning"}

    text = run("audit", config=config, expect=2).stdout
    blocks = [line for line in text.splitlines() if not line.startswith("  ")]
    assert sorted(b.split(":")[0] for b in blocks) == sorted(sites)  # one head line a site
    assert "index.html" in text.split("opd2:")[1].split("\nopd")[0]  # its findings follow it

    out = run("mirror", "--jobs", "2", config=config).stdout.splitlines()
    assert sorted(line.split(":")[0] for line in out) == sorted(sites)

    verified = run("verify", config=config, expect=2)
    assert "opd0: verified: the site equals the approved tree" in verified.stdout
    assert "opd2: 1 path(s) differ from the approved tree:\n  index.html" in verified.stdout
    run("verify", "opd0", "opd1", config=config)


def test_a_hanging_site_is_stopped_and_journaled_the_others_finish(
        tmp_path: Path, sshd: SshServer, stalling_find: Path,
        rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    key, people = rina
    sites = local_sites(tmp_path, 3)
    docroot = sshd.make_docroot()
    (docroot / "index.html").write_text("<h1>Pemkot</h1>\n")
    sshd.chown_to_user(docroot)
    sites["hangs"] = {"source": sshd.url(docroot), "identity_file": str(sshd.hostile_identity),
                      "known_hosts": str(sshd.known_hosts)}
    config = write_config(tmp_path, sites, people)
    run("init", config=config)
    for name in ("opd0", "opd1", "opd2"):
        run("check", name, config=config, expect=1)
        run("approve", name, "-m", "awal", "--key", str(key), config=config)

    started = time.monotonic()
    # the limit leaves a loaded machine time for the others; the stalled one needs 40 s
    proc = gitguard("check", "--json", "--jobs", "2", "--timeout", "12", config=config,
                    timeout=120)
    took = time.monotonic() - started
    assert proc.returncode == 3, proc
    assert "Traceback" not in proc.stderr
    assert took < 38, took  # 12 s for the stalled site, the others beside it
    objects = {o["site"]: o for o in map(json.loads, proc.stdout.splitlines())}
    assert {n: o["status"] for n, o in objects.items()} == {
        "opd0": "ok", "opd1": "ok", "opd2": "ok", "hangs": "unknown"}
    assert objects["hangs"]["error"].startswith("check timed out after 12 s")
    assert "gitguard: hangs: check timed out after 12 s and was stopped" in proc.stderr

    runs = json.loads(run("log", "hangs", "--json", config=config).stdout)["runs"]
    stopped = [r for r in runs if r["action"] == "check"]
    assert stopped and stopped[-1]["status"] == "unknown"
    assert "timed out" in stopped[-1]["summary"]
    # the killed run released the site's lock: the next one takes it
    proc = gitguard("mirror", "hangs", "--timeout", "2", config=config, timeout=60)
    assert proc.returncode == 3 and "busy" not in proc.stderr, proc.stderr


def test_jobs_and_timeout_are_checked(tmp_path: Path) -> None:
    config = write_config(tmp_path, local_sites(tmp_path, 1), None,
                          {"jobs": 0, "site_timeout": "long"})
    proc = gitguard("check", config=config)
    assert proc.returncode == 3
    assert "gitguard.jobs: expected a whole number from 1 to 64" in proc.stderr
    assert "gitguard.site_timeout: expected a whole number from 10 to 86400" in proc.stderr
    config = write_config(tmp_path, local_sites(tmp_path / "b", 1))
    proc = gitguard("check", "--jobs", "0", config=config)
    assert proc.returncode == 3
    assert proc.stderr.strip() == ("gitguard: check: argument --jobs: '0' is not a whole "
                                   "number from 1 up")
