"""`gitguard report`, alerts from check and restore, and `gitguard run`, end to end: real
git, real SSH signatures, a real SMTP server on loopback."""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from helpers import git, gitguard, make_key, write_config
from mailserver import Mailbox

PEOPLE_EMAILS = {"ani": ("Ani Setiawati", "kabag", "kabag@contoh.go.id"),
                 "rina": ("Rina Wulandari", "kasubbag", "kasubbag@contoh.go.id"),
                 "budi": ("Budi Santoso", "staf", "staf@contoh.go.id")}


class Guarded:
    """An approved local site with a configured mail server."""

    def __init__(self, tmp: Path, port: int | None, language: str = "id",
                 notify: dict[str, Any] | None = None) -> None:
        self.docroot = tmp / "htdocs"
        (self.docroot / "wp-content" / "uploads").mkdir(parents=True)
        (self.docroot / "index.html").write_text("<h1>Pemerintah Kabupaten Contoh</h1>\n")
        (self.docroot / "profil.html").write_text("<p>Profil daerah</p>\n")
        key, public = make_key(tmp, "rina-key")
        people: dict[str, dict[str, Any]] = {
            k: {"name": n, "role": r, "email": e} for k, (n, r, e) in PEOPLE_EMAILS.items()}
        people["rina"]["signing_key"] = public
        settings = notify if notify is not None else (
            {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
             "smtp_from": "gitguard@contoh.go.id", "retries": 1} if port else None)
        self.config = write_config(tmp, {"www": {"source": str(self.docroot),
                                                 "schedule": "every 15 minutes"}},
                                   people, {"language": language}, settings)
        self.repo = tmp / "gitguard-data" / "www.git"
        assert self.run("init").returncode == 0
        assert self.run("check").returncode == 1
        assert self.run("approve", "www", "-m", "awal", "--key", str(key)).returncode == 0

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = gitguard(*args, config=self.config)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def deface(self) -> None:
        (self.docroot / "index.html").write_text("<title>Hacked by Anonymous</title>\n")
        (self.docroot / "wp-content" / "uploads" / "x.php").write_text(
            "<?php eval($_POST['c']); ?>\n")

    def journal_reports(self) -> list[str]:
        names = git(self.repo, "ls-tree", "-r", "--name-only", "refs/heads/journal")
        return [n for n in names.splitlines() if n.startswith("reports/")]


def messages(mailbox: Mailbox) -> list[tuple[list[str], EmailMessage]]:
    return [(to, email.message_from_bytes(raw, policy=default))  # type: ignore[misc]
            for to, raw in mailbox.messages]


def test_state_report_in_both_languages_and_formats(tmp_path: Path) -> None:
    site = Guarded(tmp_path / "id", None)
    site.deface()
    assert site.run("check").returncode == 2
    proc = site.run("report", "www")
    assert proc.returncode == 0
    assert "LAPORAN KEADAAN" in proc.stdout.upper()
    assert "index.html" in proc.stdout and "Rina Wulandari" in proc.stdout
    out = tmp_path / "laporan.html"
    assert site.run("report", "www", "--format", "html", "-o", str(out)).returncode == 0
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table" in html and 'lang="id"' in html
    assert any("/state-www-" in name for name in site.journal_reports())

    english = Guarded(tmp_path / "en", None, language="en")
    english.deface()
    english.run("check")
    proc = english.run("report", "www", "--kind", "state,activity")
    assert proc.returncode == 0
    assert "STATE AND DAMAGE" in proc.stdout.upper() and "ACTIVITY" in proc.stdout.upper()


def test_bad_report_arguments_exit_3(tmp_path: Path) -> None:
    site = Guarded(tmp_path, None)
    for args in (("--kind", "bogus"), ("--since", "yesterday"), ("--format", "pdf")):
        proc = site.run("report", "www", *args)
        assert proc.returncode == 3 and proc.stderr.count("\n") == 1
    proc = site.run("report", "www", "--kind", "repair")
    assert proc.returncode == 3 and "no repair report" in proc.stderr


def test_critical_check_alerts_kasubbag_and_staff_once(tmp_path: Path, mailbox: Mailbox,
                                                       smtp_port: int) -> None:
    site = Guarded(tmp_path, smtp_port)
    assert mailbox.messages == []
    site.deface()
    assert site.run("check").returncode == 2
    sent = messages(mailbox)
    assert len(sent) == 1
    to, message = sent[0]
    assert sorted(to) == ["kasubbag@contoh.go.id", "staf@contoh.go.id"]
    assert "Kritis" in message["Subject"] or "KRITIS" in message["Subject"].upper()
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "index.html" in plain.get_content()
    # The same incident found again is not sent again; a new critical change is.
    assert site.run("check").returncode == 2
    assert len(mailbox.messages) == 1
    (site.docroot / "wp-content" / "uploads" / "y.php").write_text("<?php system($_GET[1]);\n")
    assert site.run("check").returncode == 2
    assert len(mailbox.messages) == 2


def test_restore_sends_the_repair_report(tmp_path: Path, mailbox: Mailbox,
                                         smtp_port: int) -> None:
    site = Guarded(tmp_path, smtp_port)
    site.deface()
    assert site.run("restore", "www", "--yes").returncode == 0
    repair = [m for to, m in messages(mailbox) if "kabag@contoh.go.id" in to]
    assert len(repair) == 1
    body = repair[0].get_body(("plain",))
    assert body is not None and "normal" in body.get_content().lower()
    assert any("/repair-www-" in name for name in site.journal_reports())
    proc = site.run("report", "www", "--kind", "repair")
    assert proc.returncode == 0 and "PERBAIKAN" in proc.stdout.upper()


def test_activity_report_goes_to_the_kabag(tmp_path: Path, mailbox: Mailbox,
                                           smtp_port: int) -> None:
    site = Guarded(tmp_path, smtp_port)
    proc = site.run("report", "www", "--kind", "activity", "--send")
    assert proc.returncode == 0, proc.stderr
    [(to, message)] = messages(mailbox)
    assert to == ["kabag@contoh.go.id"]
    assert "Ani Setiawati" in message["To"]
    body = message.get_body(("plain",))
    assert body is not None and "Rina Wulandari" in body.get_content()
    runs = json.loads(site.run("log", "www", "--json").stdout)["runs"]
    assert runs[-1]["action"] == "send" and runs[-1]["status"] == "ok"


def test_failed_delivery_keeps_the_report_and_exits_3(tmp_path: Path) -> None:
    site = Guarded(tmp_path, 1)  # nothing listens on port 1
    proc = site.run("report", "www", "--kind", "activity", "--send")
    assert proc.returncode == 3
    # each attempt is logged; the last line says what was lost: nothing but the delivery
    assert "attempt 1 failed, retrying" in proc.stderr
    assert "kept in the journal but not delivered" in proc.stderr.splitlines()[-1]
    assert any("/activity-www-" in name for name in site.journal_reports())
    runs = json.loads(site.run("log", "www", "--json").stdout)["runs"]
    assert runs[-1]["action"] == "send" and runs[-1]["status"] == "error"


def test_run_checks_at_once_and_stops_cleanly(tmp_path: Path) -> None:
    site = Guarded(tmp_path, None)
    site.deface()
    before = len(json.loads(site.run("log", "www", "--json").stdout)["runs"])
    proc = subprocess.Popen([sys.executable, "-m", "gitguard.cli", "-c", str(site.config),
                             "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    try:
        deadline = time.monotonic() + 30
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = json.loads(site.run("log", "www", "--json").stdout)["runs"]
            if any(r["action"] == "check" for r in runs[before:]):
                break
            time.sleep(0.2)
        assert [r["status"] for r in runs[before:] if r["action"] == "check"] == ["critical"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_a_report_written_with_o_is_kept_in_the_journal_even_when_ok(tmp_path: Path) -> None:
    site = Guarded(tmp_path, None)
    assert site.run("audit").returncode == 0
    before = [n for n in site.journal_reports() if "/state-www-" in n]
    out = tmp_path / "keadaan.md"
    assert site.run("audit", "-o", str(out)).returncode == 0
    assert "NORMAL" in out.read_text().upper()
    after = [n for n in site.journal_reports() if "/state-www-" in n]
    assert len(after) == len(before) + 1
