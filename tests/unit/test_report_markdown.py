"""The Markdown reports, compared exactly with the expected files under tests/golden/.

Regenerate the expected files after an intended change with GITGUARD_UPDATE_GOLDEN=1, then
read the diff before committing it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gitguard import __version__
from gitguard.config import Config, validate
from gitguard.model import (
    AuditResult,
    Baseline,
    Change,
    Finding,
    Reason,
    RestoredPath,
    RestoreResult,
    RunRecord,
    Severity,
    Signer,
    Snapshot,
    Status,
)
from gitguard.report import texts
from gitguard.report.markdown import (
    MAX_DETAILS,
    activity_report,
    activity_subject,
    code,
    escape,
    fence,
    missed_checks,
    repair_report,
    repair_subject,
    state_report,
    state_subject,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
HOSTILE = "a|b`c*d_[x](javascript:alert(1))<img src=x onerror=alert(1)>\n# h\x1b[31m\udcff.php"

REASON_ROWS = {
    "defacement_text": {"id": "Berisi teks defacement: \"{detail}\"",
                   "en": "Contains defacement text: \"{detail}\""},
    "webshell_marker": {"id": "Berisi pola webshell: {detail}",
                 "en": "Contains a webshell pattern: {detail}"},
    "gambling_spam": {"id": "Berisi kata kunci judi online: {detail}",
                 "en": "Contains online gambling keywords: {detail}"},
    "approved_unverified": {"id": "Tanda tangan keadaan acuan tidak sah: {detail}",
                            "en": "The approved tip's signature does not verify: {detail}"},
    "live_defaced": {"id": "Halaman {detail} menampilkan teks defacement",
                     "en": "The page {detail} shows defacement text"},
}


@pytest.fixture(autouse=True)
def reason_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed reason texts, so these files test the reports and not reasons.py's wording."""
    for code_, row in REASON_ROWS.items():
        monkeypatch.setitem(texts.TEXTS, f"reason.{code_}", row)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A November 2026 moment given in Jakarta time (UTC+7)."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC) - timedelta(hours=7)


def make_config(lang: str, people: bool = True) -> Config:
    raw: dict[str, Any] = {
        "gitguard": {"language": lang},
        "sites": {"www": {"source": "/srv/www", "urls": ["https://www.example.go.id/"]}},
    }
    if people:
        raw["people"] = {
            "ahmad": {"name": "Drs. H. Ahmad Fauzi, M.Si.", "role": "kabag",
                      "email": "ahmad@example.go.id"},
            "rina": {"name": "Rina Wulandari, S.Kom.", "role": "kasubbag",
                     "email": "rina@example.go.id"},
            "budi": {"name": "Budi Santoso", "role": "staf", "email": "budi@example.go.id"},
            "siti": {"name": "Siti Nurhaliza, A.Md.", "role": "staf"},
        }
    return validate(raw, Path("/etc/gitguard/gitguard.toml"))


SIGNER = Signer("rina", "Rina Wulandari, S.Kom.", "kasubbag", "SHA256:abcdef")
DIFF = """--- a/index.php
+++ b/index.php
@@ -1,4 +1,5 @@
 <?php
-/* Beranda Pemerintah Kabupaten Contoh */
+/* Hacked by Anonymous */
+echo '<script>alert(1)</script>';
 require __DIR__ . '/wp-blog-header.php';
\\ No newline at end of file"""


def critical_audit() -> AuditResult:
    findings = (
        Finding("wp-content/uploads/2026/11/foto-kegiatan.jpg", Change.ADDED, Severity.INFO,
                new_blob="e" * 40, size=123456),
        Finding("index.php", Change.MODIFIED, Severity.CRITICAL,
                (Reason("defacement_text", "Hacked by Anonymous"),), "a" * 40, "b" * 40, diff=DIFF),
        Finding("wp-config.php", Change.MODE, Severity.WARNING, old_mode="0640 33:33",
                new_mode="0777 33:33"),
        Finding("wp-content/uploads/2026/11/shell.php", Change.ADDED, Severity.CRITICAL,
                (Reason("webshell_marker", "eval(base64_decode($_POST['x']))"),), None, "c" * 40,
                diff="--- /dev/null\n+++ b/wp-content/uploads/2026/11/shell.php\n"
                     "@@ -0,0 +1 @@\n+<?php eval(base64_decode($_POST['x'])); ?>"),
        Finding("slot-gacor/index.html", Change.ADDED, Severity.CRITICAL,
                (Reason("gambling_spam", "slot gacor, maxwin"), Reason("new_reason_code", "x")),
                None, "d" * 40,
                diff="--- /dev/null\n+++ b/slot-gacor/index.html\n@@ -0,0 +1,2 @@\n"
                     "+<title>Slot Gacor Maxwin Hari Ini</title>\n+<a href=\"https://spam\">"),
        Finding("tentang/sejarah.html", Change.DELETED, Severity.WARNING, old_blob="f" * 40),
        Finding("images/logo.png", Change.MODIFIED, Severity.WARNING, old_blob="1" * 40,
                new_blob="2" * 40, size=20480),
    )
    return AuditResult(
        site="www", status=Status.CRITICAL,
        snapshot=Snapshot("5" * 40, at(28, 7, 14), "snapshot"),
        baseline=Baseline("9" * 40, SIGNER, at(23, 9, 30), "Tampilan awal tahun 2026\n\nrinci"),
        findings=findings,
        live=(Reason("live_defaced", "https://www.example.go.id/"),),
    )


def no_baseline_audit() -> AuditResult:
    return AuditResult(
        site="www", status=Status.CRITICAL, snapshot=Snapshot("5" * 40, at(28, 7, 14), "s"),
        baseline=None,
        problems=(Reason("approved_unverified", "refs/heads/approved 8c1f2e3"),
                  Reason("unlisted_problem", "detail <b>here</b>")),
    )


def restore(verified: bool) -> RestoreResult:
    return RestoreResult(
        site="www", approved="9" * 40, evidence="7" * 40 if verified else None,
        incident=critical_audit(),
        paths=(RestoredPath("index.php", "write", "b" * 40, "a" * 40),
               RestoredPath("wp-content/uploads/2026/11/shell.php", "remove", "c" * 40, None),
               RestoredPath("slot-gacor/index.html", "remove", "d" * 40, None),
               RestoredPath("wp-config.php", "mode", None, None),
               RestoredPath("tentang/sejarah.html", "write", None, "f" * 40)),
        verified=verified,
        still_different=() if verified else ("index.php", "wp-content/.htaccess"),
        started=at(28, 7, 40), finished=at(28, 7, 42, 5),
    )


# what check records name (actions/audit.py's named_findings): path, severity, code, detail
FOUND_CRITICAL = [
    ["index.php", "critical", "defacement_text", "hacked by garuda cyber team"],
    ["wp-content/uploads/2026/11/sub/deeper/still/deeper/wso-shell.php", "critical",
     "code_from_request", "eval($_POST['x'])"],
    [".htaccess", "critical", "server_config", ".htaccess"],
    ["wp-content/themes/dinas/footer.php", "warning", "", ""],
]
FOUND_WARNING = [["berita/index.html", "warning", "", ""]]


def journal() -> list[RunRecord]:
    """Two days of a site checked every 15 minutes, with an outage, a defacement and more."""
    records = []
    for i in range(4 * 48):
        start = at(26, 0) + timedelta(minutes=15 * i)
        if 40 <= i < 49:  # the monitoring host was down
            continue
        critical = i in (4 * 32 + 1, 4 * 32 + 2)
        warning = i in (100, 101, 150)
        status = "critical" if critical else "warning" if warning else "ok"
        snapshot = "3" * 40 if i in (7, 100, 4 * 32 + 1) else None
        records.append(RunRecord("mirror", "www", start, start + timedelta(seconds=20), "ok",
                                 "mirrored", {"snapshot": snapshot, "added": 2 if snapshot else 0,
                                              "modified": 1 if snapshot else 0, "deleted": 0}))
        records.append(RunRecord("check", "www", start, start + timedelta(seconds=30), status,
                                 status, {"status": status, "critical": 3 if critical else 0,
                                          "warning": 1 if critical or warning else 0,
                                          "snapshot": "3" * 40, "approved": "9" * 40,
                                          "found": FOUND_CRITICAL if critical
                                          else FOUND_WARNING if warning else []}))
    records += [
        RunRecord("approve", "www", at(27, 1, 20), at(27, 1, 21), "ok", "approved",
                  {"commit": "8" * 40, "signer": "Rina Wulandari, S.Kom.", "role": "kasubbag",
                   "snapshot": "3" * 40}),
        RunRecord("report", "www", at(27, 8, 16), at(27, 8, 16), "ok", "sent",
                  {"kind": "critical",
                   "sent_to": ["Rina Wulandari <rina@example.go.id>", "budi@example.go.id"]}),
        RunRecord("restore", "www", at(27, 8, 40), at(27, 8, 42), "warning", "restored",
                  {"evidence": "7" * 40, "verified": False, "paths": 3}),
        RunRecord("verify", "www", at(27, 8, 50), at(27, 8, 51), "ok", "verified",
                  {"verified": True}),
        RunRecord("check", "www", at(26, 13, 0, 5), at(26, 13, 0, 35), "unknown",
                  "ssh: connect to web1.example.go.id port 22: Connection refused", {}),
        RunRecord("mirror", "other", at(26, 9), at(26, 9), "error", "another site", {}),
        RunRecord("check", "www", at(25, 9), at(25, 9), "critical", "before the period", {}),
        RunRecord("report", "www", at(28, 0, 5), at(28, 0, 5), "ok", "sent",
                  {"kind": "activity", "sent_to": ["Drs. H. Ahmad Fauzi <ahmad@example.go.id>"]}),
    ]
    return records


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME (the gitguard version written as VERSION)."""
    text = text.replace(f"gitguard {__version__}", "gitguard VERSION")
    path = GOLDEN / name
    if os.environ.get("GITGUARD_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with GITGUARD_UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["id", "en"])
def test_state_report(lang: str) -> None:
    text = state_report(critical_audit(), make_config(lang), at(28, 7, 15))
    check_golden(f"state_{lang}.md", text)


def test_state_report_without_a_trusted_baseline() -> None:
    text = state_report(no_baseline_audit(), make_config("id"), at(28, 7, 15))
    check_golden("state_no_baseline_id.md", text)


def test_state_report_ok_has_no_recommended_action_and_blank_signatures() -> None:
    audit = AuditResult("www", Status.OK, Snapshot("5" * 40, at(28, 7), "s"),
                        Baseline("9" * 40, SIGNER, at(23, 9), ""))
    text = state_report(audit, make_config("en", people=False), at(28, 7, 15))
    assert "No change from the approved state was found." in text
    assert "Recommended Action" not in text
    assert "Approval note" not in text
    assert text.count("(..............................)") == 3


@pytest.mark.parametrize("lang", ["id", "en"])
def test_repair_report(lang: str) -> None:
    check_golden(f"repair_{lang}.md", repair_report(restore(True), make_config(lang)))


def test_repair_report_failed_verification() -> None:
    check_golden("repair_failed_id.md", repair_report(restore(False), make_config("id")))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_activity_report(lang: str) -> None:
    text = activity_report("www", journal(), at(26, 0), at(28, 0), make_config(lang),
                           timedelta(minutes=15))
    check_golden(f"activity_{lang}.md", text)


def test_activity_report_empty_period_without_schedule() -> None:
    text = activity_report("www", [], at(26, 0), at(28, 0), make_config("en"), None)
    assert "There was no incident in this period." in text
    assert "No check schedule is set, so missed checks are not counted." in text
    assert "| Website checks | 0 |" in text
    assert "Failed Runs" not in text


def test_activity_report_tolerates_junk_details() -> None:
    junk: list[dict[str, Any]] = [
        {"status": 3, "critical": "many", "warning": None},
        {"snapshot": 5, "added": True},
        {"signer": ["x"], "verified": "yes", "sent_to": "not a list", "kind": 7},
    ]
    records = [RunRecord(action, "www", at(27, 1 + n), at(27, 1 + n), "ok", "", details)
               for n, details in enumerate(junk)
               for action in ("check", "mirror", "approve", "restore", "verify", "report",
                              "unheard-of")]
    text = activity_report("www", records, at(26, 0), at(28, 0), make_config("id"),
                           timedelta(hours=1))
    assert "LAPORAN KEGIATAN" in text


def test_activity_incidents_with_no_check_in_the_period_is_one_missed_gap() -> None:
    gaps = missed_checks([], at(26, 0), at(26, 1), timedelta(minutes=15))
    assert gaps == [(at(26, 0), at(26, 1), 3)]
    assert missed_checks([at(26, 0, 10), at(26, 0, 25)], at(26, 0), at(26, 0, 40),
                         timedelta(minutes=15)) == []


def test_subjects() -> None:
    id_config, en_config = make_config("id"), make_config("en")
    assert state_subject(critical_audit(), id_config) == \
        "[KRITIS] Laporan Keadaan dan Kerusakan Website www"
    assert repair_subject(restore(True), en_config) == \
        "[WEBSITE BACK TO NORMAL] Website Repair Report: www"
    assert activity_subject("www", at(26, 0), at(28, 0), id_config) == \
        "Laporan Kegiatan Pengamanan Website www, 26 November 2026 s.d. 28 November 2026"


# --- hostile input -----------------------------------------------------------------------------


def test_escape_makes_markdown_inert() -> None:
    out = escape(HOSTILE)
    assert "\n" not in out and "\x1b" not in out
    assert "\\x0a" in out and "\\x1b" in out and "\\xff" in out
    for char in "|`*_[]<>":
        assert re.search(rf"(?<!\\){re.escape(char)}", out) is None, char
    assert escape("# heading") == "\\# heading"
    assert escape("1. item") == "1\\. item"
    assert escape("AT&amp;T &lt;b&gt; & co") == "AT&amp;amp;T &amp;lt;b&amp;gt; & co"


def test_code_span_survives_backticks() -> None:
    assert code("index.php") == "`index.php`"
    assert code("a`b") == "``a`b``"
    assert code("``x``") == "``` ``x`` ```"
    assert code("x\ny") == "`x\\x0ay`"
    assert code(" index.php  ") == "`\\x20index.php\\x20\\x20`"
    assert code("  ") == "`\\x20\\x20`"


def test_names_cannot_hide_or_reorder_text() -> None:
    rlo = "foto\u202egpj.php"  # shows as 'fotophp.jpg'
    assert code(rlo) == "`foto\\u202egpj.php`"
    # Markdown shows \\u200b for the escaped backslash: the reader sees \u200b.
    assert escape("a\u200bb\u2028c\x85d") == "a\\\\u200bb\\\\u2028c\\\\u0085d"
    assert fence("+x\u202ey")[1] == "+x\\u202ey"


def test_fence_cannot_be_closed_by_the_diff() -> None:
    body = "+```\n+````\n ``` \n+\x1b[2J\r\n\tx"
    lines = fence(body, "diff")
    assert lines[0] == "`````diff" and lines[-1] == "`````"
    assert lines[1] == "+```\n+````\n ``` \n+\\x1b[2J\n\tx"


def test_hostile_names_are_escaped_in_the_report() -> None:
    audit = AuditResult(
        "www", Status.CRITICAL, Snapshot("5" * 40, at(28, 7), "s"),
        Baseline("9" * 40, Signer("x", "Evil *Name*", "kabag", "f"), at(23, 9), "<b>hi</b>"),
        findings=(Finding(HOSTILE, Change.ADDED, Severity.CRITICAL,
                          (Reason("defacement_text", "<script>alert(1)</script> | x"),),
                          diff="+<script>alert(1)</script>\n+```\n+x"),),
        problems=(Reason("bogus", "[link](javascript:alert(1))"),),
    )
    text = state_report(audit, make_config("en"), at(28, 7, 15))
    assert "<script>" not in text.replace("+<script>alert(1)</script>", "")
    assert "Evil \\*Name\\*" in text
    assert "\\<b\\>hi\\</b\\>" in text
    assert "bogus: \\[link\\](javascript:alert(1))" in text
    assert "\\<script\\>alert(1)\\</script\\> \\| x" in text
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert row.count(" | ") == 3  # the name did not add a column
    assert "````diff" in text


def test_details_are_capped() -> None:
    findings = tuple(Finding(f"spam/{n:03}.html", Change.ADDED, Severity.CRITICAL,
                             diff=f"+slot {n}") for n in range(MAX_DETAILS + 7))
    audit = AuditResult("www", Status.CRITICAL, None, Baseline("9" * 40, SIGNER, at(23, 9), ""),
                        findings)
    text = state_report(audit, make_config("id"), at(28, 7, 15))
    assert text.count("```diff") == MAX_DETAILS
    assert "Rincian 7 berkas lainnya tidak ditampilkan" in text
    assert f"| {MAX_DETAILS + 7} | `spam/{MAX_DETAILS + 6:03}.html` |" in text
