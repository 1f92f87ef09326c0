"""`gitguard run` (issue #14, item 1): the scheduler on `schedule`, each job in its own
process with a time limit, at most N at once; failures, crashes, overruns and missed runs
are journaled and the loop goes on; SIGHUP reloads, SIGTERM stops."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import run, write_config
from sshd import SshServer

from gitguard.actions.run import Due, Scheduler
from gitguard.clock import now
from gitguard.config import load
from gitguard.schedule import parse_schedule


@pytest.fixture
def stalling_find(sshd: SshServer) -> Iterator[Path]:
    """The hostile server's `find` hangs (for 40 s, so what is left on the server ends)."""
    path = sshd.hostile_bin / "find"
    path.write_text('#!/bin/sh\nif [ "$1" = --version ]; then exec /usr/bin/find "$@"; fi\n'
                    "exec sleep 40\n")
    path.chmod(0o755)
    yield path
    path.unlink(missing_ok=True)


class Daemon:
    """A real `gitguard run` process, its log read as it grows; always stopped."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gitguard.cli", "-c", str(config), "run"],
            stdin=subprocess.DEVNULL, stdout=self.handle, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str | Callable[[str], bool], timeout: float = 60) -> str:
        """The log once it holds `what`; fails with the log after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if (what in text) if isinstance(what, str) else what(text):
                return text
            assert self.process.poll() is None, f"gitguard run ended:\n{text}"
            time.sleep(0.2)
        raise AssertionError(f"no {what!r} within {timeout} s:\n{self.text()}")

    def children(self) -> list[int]:
        """The processes `gitguard run` started: its jobs."""
        found: list[int] = []
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                found += map(int, (task / "children").read_text().split())
        return found

    def jobs(self) -> dict[int, str]:
        """The running jobs' processes, by the site repository each has open."""
        found = {}
        for pid in self.children():
            try:
                links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
            except OSError:
                continue
            for link in links:
                if "/gitguard-data/" in link:
                    found[pid] = link.split("/gitguard-data/")[1].split(".git/")[0]
        return found

    def stop(self) -> None:
        """A second SIGTERM stops the running jobs too; what still lives is killed, the jobs
        (process groups of their own) first."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                for pid in self.children():
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait(timeout=30)
        self.handle.close()


def journal(config: Path, site: str) -> list[dict[str, object]]:
    runs: list[dict[str, object]] = json.loads(run("log", site, "--json",
                                                   config=config).stdout)["runs"]
    return runs


@pytest.mark.slow
def test_jobs_fail_crash_overrun_and_the_loop_goes_on(
        tmp_path: Path, sshd: SshServer, stalling_find: Path) -> None:
    sites: dict[str, dict[str, object]] = {}
    for name in ("ok1", "ok2", "broken"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(f"<h1>{name}</h1>\n")
        sites[name] = {"source": str(tmp_path / name)}
    for name in ("hang1", "hang2"):
        docroot = sshd.make_docroot()
        (docroot / "index.html").write_text("<h1>Pemkot</h1>\n")
        sshd.chown_to_user(docroot)
        sites[name] = {"source": sshd.url(docroot), "identity_file": str(sshd.hostile_identity),
                       "known_hosts": str(sshd.known_hosts)}
    main = {"jobs": 3, "site_timeout": 15}
    config = write_config(tmp_path, sites, None, main)
    stalling_find.rename(stalling_find.with_name("find.off"))  # init lists nothing
    try:
        run("init", config=config)
    finally:
        stalling_find.with_name("find.off").rename(stalling_find)
    (tmp_path / "broken").rename(tmp_path / "broken.gone")

    daemon = Daemon(config, tmp_path / "run.log")
    try:
        daemon.wait_for("scheduler started: 5 site(s), 3 job(s) at once, 15 s per job")
        # one hanging job is killed from outside, as the OOM killer would
        deadline = time.monotonic() + 30
        while "hang1" not in daemon.jobs().values():
            assert time.monotonic() < deadline, daemon.text()
            time.sleep(0.1)
        victim = next(pid for pid, site in daemon.jobs().items() if site == "hang1")
        os.kill(victim, signal.SIGKILL)
        text = daemon.wait_for(lambda t: all(s in t for s in (
            "hang1: check crashed (killed by SIGKILL)", "ok1: warning", "ok2: warning",
            "broken: check failed", "hang2: check timed out after 15 s")), timeout=90)
        assert "Traceback" not in text

        # SIGHUP with a broken config: the old one stays
        good = config.read_text()
        config.write_text(good.replace('jobs = 3', 'jobs = "many"'))
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for("the new config is not used, the old one stays: ")
        assert "gitguard.jobs: expected a whole number" in daemon.text()
        # SIGHUP with a new site: it is checked at once
        (tmp_path / "late").mkdir()
        (tmp_path / "late" / "index.html").write_text("<h1>late</h1>\n")
        config.write_text(good + f'[sites.late]\nsource = "{tmp_path / "late"}"\n')
        late = write_config(tmp_path / "late", {"late": {"source": str(tmp_path / "late")}},
                            None, {"data_dir": str(tmp_path / "gitguard-data")})
        run("init", config=late)
        daemon.process.send_signal(signal.SIGHUP)
        daemon.wait_for("read again: 6 site(s)")
        daemon.wait_for("late: warning")

        started = time.monotonic()
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=30) == 0
        assert time.monotonic() - started < 10
        assert "scheduler stopped" in daemon.text()
    finally:
        daemon.stop()

    for site, summary in (("hang1", "check crashed (killed by SIGKILL)"),
                          ("hang2", "check timed out after 15 s and was stopped")):
        last = [r for r in journal(config, site) if r["action"] == "check"][-1]
        assert last["status"] == "unknown" and str(last["summary"]).startswith(summary), last
    failed = [r for r in journal(config, "broken") if r["action"] == "run"]
    assert failed and failed[-1]["status"] == "error"
    assert str(failed[-1]["summary"]).startswith("check failed: ")
    assert [r["status"] for r in journal(config, "ok1") if r["action"] == "check"] == \
        ["warning"]


def test_a_missed_run_is_journaled_and_reported(tmp_path: Path) -> None:
    """A check due while the last one of the site still runs is missed: journaled, shown in
    the activity report; and a site never runs two jobs at once."""
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "htdocs" / "index.html").write_text("<h1>Dinas</h1>\n")
    config_path = write_config(tmp_path, {"www": {"source": str(tmp_path / "htdocs"),
                                                  "schedule": "every 5 minutes"}},
                               None, {"language": "en"})
    run("init", config=config_path)
    run("check", config=config_path, expect=1)
    scheduler = Scheduler(load(config_path))
    every = parse_schedule("every 5 minutes")
    scheduler.running["check:www"] = Due("check", "www", now(), every)
    scheduler.due("check", "www", every)
    assert scheduler.waiting == []
    missed = [r for r in journal(config_path, "www") if r["action"] == "run"]
    assert len(missed) == 1 and missed[0]["status"] == "error"
    assert str(missed[0]["summary"]).startswith("check missed at ")
    assert str(missed[0]["summary"]).endswith(": the previous one was still running")

    scheduler.waiting.append(Due("activity", "www", now(), every))
    scheduler.dispatch()  # the site is busy: the activity report waits
    assert [d.key for d in scheduler.waiting] == ["activity:www"]
    assert not scheduler.pool.busy

    report = run("report", "www", "--kind", "activity", config=config_path).stdout
    assert "check missed at" in report
