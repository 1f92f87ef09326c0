"""Markdown builders: the state and damage report, the repair report and the activity report.

Every value that comes from a server or the journal (paths, diffs, reason details, summaries)
goes through `escape`, `code` or `fence`, so it reads as text in any Markdown renderer and
cannot become a link, an image or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from gitguard import __version__
from gitguard.config import ROLES, Config
from gitguard.model import (
    SEVERITY_RANK,
    AuditResult,
    Change,
    Finding,
    LookShot,
    Picture,
    Reason,
    RestoreResult,
    RunRecord,
    Severity,
    Status,
)
from gitguard.report.texts import (
    describe,
    format_date,
    format_datetime,
    format_duration,
    format_short,
    join,
    local,
    number,
    role_name,
    size,
    t,
    tn,
    visible,
    zone_name,
)

MAX_DETAILS = 50  # changed files shown with their diff; the rest are in the history
MAX_ROWS = 500  # rows of a table; a whole-site incident is counted, its list is in git
SHORT_HASH = 12
BLANK_NAME = "(..............................)"  # a name to be written in by hand
DASH = "—"
CHECK_ACTIONS = ("check", "audit")
REPORT_ACTIONS = ("report", "send")
MISSED_FACTOR = 1.5  # a gap longer than this many schedule periods means a missed check

_PICTURE = re.compile(r"^look-[A-Za-z0-9._-]+\.png$")  # the names actions/look.py gives
_VIEWS = ("desktop", "mobile", "search", "googlebot")  # the look's views, by their text key
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINE_START = re.compile(r"^(?=[#+\-=>!])|^\d+(?=[.)])")


# --- escaping --------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Untrusted text as one line of inert Markdown prose (also safe inside a table cell)."""
    text = _ENTITY.sub("&amp;", visible(text))
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # A block marker at the start of a line (heading, list, quote) is escaped by its mark.
    return _LINE_START.sub(lambda m: m.group(0) + "\\", text, count=1)


def code(text: str) -> str:
    """Untrusted text as an inline code span: paths, hashes, commands.

    Spaces at either end are shown as \\x20: renderers trim them, and 'index.php ' must not
    pass for 'index.php'.
    """
    text = visible(text)
    core = text.strip(" ")
    start = len(text) - len(text.lstrip(" "))
    end = len(text) - len(text.rstrip(" ")) if core else 0
    text = "\\x20" * start + core + "\\x20" * end
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(body: str, info: str = "") -> list[str]:
    """Untrusted lines as a fenced code block whose fence no line of the body can close."""
    body = "\n".join("\t".join(visible(cell) for cell in line.rstrip("\r").split("\t"))
                     for line in body.rstrip("\n").split("\n"))
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{info}", body, ticks]


# --- document --------------------------------------------------------------------------------


class _Doc:
    """A report being written: lettered sections, tables, paragraphs."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.lines: list[str] = []
        self._sections = 0

    def t(self, key: str, **kw: object) -> str:
        return t(key, self.lang, **kw)

    def title(self, text: str) -> None:
        self.lines += [f"# {text}", ""]

    def section(self, key: str) -> None:
        letter = chr(ord("A") + self._sections)
        self._sections += 1
        self.lines += [f"## {letter}. {self.t(key)}", ""]

    def heading(self, text: str) -> None:
        self.lines += [f"### {text}", ""]

    def para(self, text: str) -> None:
        self.lines += [text, ""]

    def bullets(self, items: Iterable[str]) -> None:
        self.lines += [f"- {item}" for item in items] + [""]

    def numbered(self, items: Iterable[str]) -> None:
        self.lines += [f"{n}. {item}" for n, item in enumerate(items, 1)] + [""]

    def block(self, lines: list[str]) -> None:
        self.lines += [*lines, ""]

    def table(self, header: Sequence[str], rows: Iterable[Sequence[str]], align: str,
              total: int | None = None) -> None:
        """A pipe table; align has one letter per column: l, r or c. With `total`, the rows
        given are the first of that many, and the rest is counted, not listed."""
        marks = {"l": "---", "r": "--:", "c": ":-:"}
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join(marks[a] for a in align) + "|")
        shown = len(self.lines)
        self.lines += ["| " + " | ".join(row) + " |" for row in rows]
        self.lines.append("")
        more = (total or 0) - (len(self.lines) - 1 - shown)
        if more > 0:
            self.para(self.t("table.more", n=number(more, self.lang)))

    def facts(self, rows: Sequence[tuple[str, str]]) -> None:
        self.table([self.t("col.item"), self.t("col.value")], rows, "ll")

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def _when(moment: datetime, config: Config) -> str:
    return format_datetime(moment, config.timezone, config.language)


def _short_when(moment: datetime | None, config: Config) -> str:
    return DASH if moment is None else format_short(moment, config.timezone, config.language)


def _arg(site: str) -> str:
    """A site name as it goes inside a command shown in a code span."""
    return visible(site).replace("`", "'")


def _hash(value: str | None, lang: str) -> str:
    return code(value[:SHORT_HASH]) if value else t("hash.absent", lang)


def _site_facts(doc: _Doc, site: str, config: Config) -> list[tuple[str, str]]:
    rows = [(doc.t("field.site"), escape(site))]
    configured = config.sites.get(site)
    if configured is not None:
        rows.append((doc.t("field.source"), escape(str(configured.source))))
        if configured.urls:
            rows.append((doc.t("field.urls"), ", ".join(escape(u) for u in configured.urls)))
    return rows


def _signatures(doc: _Doc, config: Config, date: datetime) -> None:
    """The signature block: kabag acknowledges, kasubbag reviews, staf report (left to right).

    One column per person (a blank name to fill in by hand where a role has nobody); the
    caption heads the first column of each role, and the date stands above the reporters.
    """
    captions: list[str] = []
    roles: list[str] = []
    names: list[str] = []
    dated = 0
    for role in ROLES:
        people = [f"**{escape(p.name)}**" for p in config.people.values() if p.role == role]
        if role == "staf":
            dated = len(names)
        for n, name in enumerate(people or [BLANK_NAME]):
            captions.append(doc.t(f"sign.{role}") if n == 0 else "")
            roles.append(role_name(role, doc.lang))
            names.append(name)
    header = [""] * len(names)
    header[dated] = format_date(date, config.timezone, doc.lang)
    space = [""] * len(names)
    doc.table(header, [captions, roles, space, space, names], "c" * len(names))


def _ending(doc: _Doc, config: Config, date: datetime, closing: str = "closing") -> str:
    doc.para(doc.t(closing))
    _signatures(doc, config, date)
    doc.para(doc.t("footer", version=__version__))
    return doc.text()


# --- findings --------------------------------------------------------------------------------


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Critical first, then warnings, then information; the audit's order within each."""
    return sorted(findings, key=lambda f: -SEVERITY_RANK[f.severity])


def _change(finding: Finding, lang: str) -> str:
    if finding.table is not None:  # a row of the CMS database: its own words, and its title
        word = t(f"change.row_{finding.change.value}", lang)
        return f"{word}: {escape(finding.title)}" if finding.title else word
    word = t(f"change.{finding.change.value}", lang)
    if finding.change is Change.MODE and finding.old_mode and finding.new_mode:
        return t("change.mode_detail", lang, change=word, old=escape(finding.old_mode),
                 new=escape(finding.new_mode))
    return word


def _reasons(finding: Finding, lang: str) -> str:
    return "; ".join(escape(describe(r, lang)) for r in finding.reasons) or DASH


def _counts(findings: Sequence[Finding], lang: str) -> str:
    """'Ditemukan 3 perubahan ...: 1 kritis, 1 peringatan, dan 1 informasi.'"""
    if not findings:
        return t("state.no_findings", lang)
    parts = []
    for severity in (Severity.CRITICAL, Severity.WARNING, Severity.INFO):
        n = sum(1 for f in findings if f.severity is severity)
        if n:
            parts.append(tn(f"count.{severity.value}", n, lang))
    return tn("state.findings", len(findings), lang, parts=join(parts, lang))


def _status(status: Status, lang: str) -> str:
    return f"**{t(f'status.{status.value}', lang)}**"


# --- state and damage report -----------------------------------------------------------------


def state_report(result: AuditResult, config: Config, now: datetime) -> str:
    """The laporan keadaan dan kerusakan website for one audit."""
    lang = config.language
    doc = _Doc(lang)
    doc.title(doc.t("state.title"))
    doc.facts([*_site_facts(doc, result.site, config),
               (doc.t("field.report_time"), _when(now, config)),
               (doc.t("field.status"), _status(result.status, lang))])

    doc.section("state.section.overview")
    doc.para(doc.t("state.overview", time=_when(now, config), site=f"**{escape(result.site)}**",
                   status=_status(result.status, lang),
                   sentence=doc.t(f"status_sentence.{result.status.value}")))
    if result.baseline is not None:
        doc.para(_counts(result.findings, lang))

    doc.section("state.section.baseline")
    rows: list[tuple[str, str]] = []
    if result.baseline is None:
        doc.para(doc.t("state.no_baseline"))
    else:
        base = result.baseline
        rows += [(doc.t("field.approved_commit"), code(base.commit)),
                 (doc.t("field.approved_by"),
                  doc.t("fmt.person", name=escape(base.signer.name),
                        role=role_name(base.signer.role, lang))),
                 (doc.t("field.approved_on"), _when(base.date, config))]
        note = base.message.strip().splitlines()[0] if base.message.strip() else ""
        if note:
            rows.append((doc.t("field.approval_note"), escape(note)))
    if result.snapshot is None:
        doc.para(doc.t("state.no_snapshot"))
    else:
        rows += [(doc.t("field.snapshot"), code(result.snapshot.commit)),
                 (doc.t("field.snapshot_time"), _when(result.snapshot.date, config))]
    if rows:
        doc.facts(rows)

    findings = _ordered(result.findings)
    if findings:
        doc.section("state.section.findings")
        _findings_tables(doc, findings)
        _details(doc, findings, result.site)
    if result.problems:
        doc.section("state.section.problems")
        doc.bullets(escape(describe(r, lang)) for r in result.problems)
    if result.live or result.shots:
        doc.section("state.section.live")
        if result.live:
            doc.para(doc.t("state.live_intro"))
            doc.bullets(escape(describe(r, lang)) for r in result.live)
        _look_pictures(doc, [(s, [("look.approved", s.approved), ("look.current", s.current),
                                  ("look.diff", s.diff)]) for s in result.shots])
    actions = _recommended(result)
    if actions:
        doc.section("section.action")
        doc.numbered(doc.t(f"action.{a}", site=_arg(result.site)) for a in actions)
    return _ending(doc, config, now)


def _look_pictures(doc: _Doc, shots: Sequence[tuple[LookShot, list[tuple[str, Picture | None]]]]
                   ) -> None:
    """Per page and view, its pictures side by side: a line of image references to files kept
    beside the report (gitguard's own names, never a server's), which the HTML embeds."""
    shown = [(shot, [(k, p) for k, p in parts if p is not None and _PICTURE.match(p.name)])
             for shot, parts in shots]
    shown = [(shot, parts) for shot, parts in shown if parts]
    if not shown:
        return
    doc.para(doc.t("look.pictures"))
    for shot, parts in shown:
        view = (doc.t(f"look.view.{shot.view}") if shot.view in _VIEWS else escape(shot.view))
        doc.heading(doc.t("look.shot", url=code(shot.url), view=view))
        if shot.ratio is not None:
            doc.para(doc.t("look.ratio", ratio=f"{shot.ratio:.1%}"))
        doc.para(" ".join(f"![{doc.t(key)}]({picture.name})" for key, picture in parts))


def _findings_tables(doc: _Doc, findings: list[Finding]) -> None:
    header = [doc.t("col.no"), doc.t("col.path"), doc.t("col.change"), doc.t("col.reasons")]
    number_of = {id(f): n for n, f in enumerate(findings, 1)}
    for severity in (Severity.CRITICAL, Severity.WARNING, Severity.INFO):
        group = [f for f in findings if f.severity is severity]
        if not group:
            continue
        doc.heading(f"{doc.t(f'severity.{severity.value}')} ({number(len(group), doc.lang)})")
        if severity is Severity.INFO:
            doc.para(doc.t("state.info_note"))
        doc.table(header, ([str(number_of[id(f)]), code(f.path), _change(f, doc.lang),
                            _reasons(f, doc.lang)] for f in group[:MAX_ROWS]), "rlll",
                  len(group))


def _details(doc: _Doc, findings: list[Finding], site: str) -> None:
    """A section per changed file: its diff, or for a binary its size and blob hashes."""
    shown = [(n, f) for n, f in enumerate(findings, 1) if f.diff or f.size is not None]
    if not shown:
        return
    doc.section("state.section.details")
    for n, finding in shown[:MAX_DETAILS]:
        doc.heading(f"{n}. {code(finding.path)}")
        doc.para(doc.t("state.detail_line", change=_change(finding, doc.lang),
                       severity=doc.t(f"severity.{finding.severity.value}").lower()))
        if finding.diff:
            doc.block(fence(finding.diff, "diff"))
        else:
            doc.para(doc.t("state.binary", size=size(finding.size or 0, doc.lang)) + " "
                     + doc.t("state.blobs", old=_full_hash(finding.old_blob, doc.lang),
                             new=_full_hash(finding.new_blob, doc.lang)))
    rest = len(shown) - MAX_DETAILS
    if rest > 0:
        doc.para(tn("state.more_details", rest, doc.lang, site=_arg(site)))


def _full_hash(value: str | None, lang: str) -> str:
    return code(value) if value else t("hash.absent", lang)


def _recommended(result: AuditResult) -> list[str]:
    """Which `action.*` texts apply to this audit's outcome, in order."""
    if result.status is Status.OK:
        return []
    if result.status is Status.UNKNOWN:
        return ["unknown"]
    if result.baseline is None:
        return ["baseline_problem"] if result.status is Status.CRITICAL else ["first_approval"]
    if result.status is Status.CRITICAL:
        return ["restore", "verify", "secure"]
    return ["approve", "restore", "verify"]


# --- repair report ---------------------------------------------------------------------------


def repair_report(result: RestoreResult, config: Config) -> str:
    """The laporan perbaikan for one restore, ending in its verification."""
    lang = config.language
    doc = _Doc(lang)
    verdict = _verdict(result)
    doc.title(doc.t("repair.title"))
    doc.facts([*_site_facts(doc, result.site, config),
               (doc.t("field.started"), _when(result.started, config)),
               (doc.t("field.finished"), _when(result.finished, config)),
               (doc.t("field.duration"), format_duration(result.finished - result.started, lang)),
               (doc.t("field.approved_commit"), code(result.approved)),
               (doc.t("field.evidence"), code(result.evidence) if result.evidence else DASH),
               (doc.t("field.result"), f"**{doc.t(f'repair.result.{verdict}')}**")])

    incident = result.incident
    doc.section("repair.section.incident")
    if incident.snapshot is not None:
        doc.para(doc.t("repair.incident", time=_when(incident.snapshot.date, config),
                       commit=_hash(incident.snapshot.commit, lang),
                       status=_status(incident.status, lang)))
    else:
        doc.para(doc.t("repair.incident_unknown_time", status=_status(incident.status, lang)))
    findings = _ordered(incident.findings)
    doc.para(_counts(findings, lang))
    if findings:
        doc.table([doc.t("col.no"), doc.t("col.path"), doc.t("col.change"),
                   doc.t("col.severity"), doc.t("col.reasons")],
                  ([str(n), code(f.path), _change(f, lang),
                    doc.t(f"severity.{f.severity.value}"), _reasons(f, lang)]
                   for n, f in enumerate(findings[:MAX_ROWS], 1)), "rllll", len(findings))

    doc.section("repair.section.evidence")
    if result.evidence:
        doc.para(doc.t("repair.evidence", commit=code(result.evidence)))
    else:
        doc.para(doc.t("repair.no_evidence"))

    doc.section("repair.section.actions")
    if result.paths:
        doc.para(doc.t("repair.actions_intro", commit=_hash(result.approved, lang)))
        doc.table([doc.t("col.no"), doc.t("col.path"), doc.t("col.action"),
                   doc.t("col.before"), doc.t("col.after")],
                  ([str(n), code(p.path), _restore_action(p.action, lang),
                    _hash(p.before, lang), _hash(p.after, lang)]
                   for n, p in enumerate(result.paths[:MAX_ROWS], 1)), "rllll",
                  len(result.paths))
    else:
        doc.para(doc.t("repair.no_actions"))

    if result.look_before or result.look_after:
        doc.section("repair.section.look")
        before = {(s.url, s.view): s for s in result.look_before}
        after = {(s.url, s.view): s for s in result.look_after}
        _look_pictures(doc, [(after.get(k) or before[k],
                              [("look.before", before[k].current if k in before else None),
                               ("look.after", after[k].current if k in after else None)])
                             for k in dict.fromkeys([*before, *after])])

    doc.section("repair.section.verification")
    if result.look_problems:
        doc.para(doc.t("repair.look_unclean"))
        doc.bullets(escape(describe(r, lang)) for r in result.look_problems)
    elif result.look_after:
        doc.para(doc.t("repair.look_clean"))
    if result.verified:
        doc.para(f"{doc.t('repair.verified')} **{doc.t(f'repair.verdict.{verdict}')}**")
    else:
        doc.para(tn("repair.not_verified", len(result.still_different), lang))
        doc.bullets(code(path) for path in result.still_different)
        doc.para(f"**{doc.t('repair.verdict.failed')}**")

    actions = [] if result.verified else ["restore_again"]
    if incident.status is Status.CRITICAL:
        actions.append("secure")
    if actions:
        doc.section("section.action")
        doc.numbered(doc.t(f"action.{a}", site=_arg(result.site)) for a in actions)
    return _ending(doc, config, result.finished)


def _verdict(result: RestoreResult) -> str:
    if not result.verified:
        return "failed"
    return "back" if result.paths else "normal"


def _restore_action(action: str, lang: str) -> str:
    try:
        return t(f"restore_action.{action}", lang)
    except KeyError:
        return escape(action)


# --- activity report -------------------------------------------------------------------------


def _int(details: dict[str, Any], key: str) -> int:
    value = details.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(details: dict[str, Any], key: str) -> str | None:
    value = details.get(key)
    return value if isinstance(value, str) and value else None


def _check_status(record: RunRecord) -> str:
    value = _str(record.details, "status") or record.status
    return value if value in {s.value for s in Status} else Status.UNKNOWN.value


@dataclass
class _Incident:
    """One incident as the journal shows it (see `activity_report`)."""

    detected: datetime | None
    started: datetime
    critical: int = 0
    warning: int = 0
    status: str | None = None  # worst check status; None when a restore opened it
    restored: datetime | None = None
    verified: datetime | None = None
    restore_failed: bool = False
    approved_by: str | None = None
    resolved: datetime | None = None
    outcome: str = "open"
    # what the checks named (path or problem code -> (path, reason code, detail)), first first
    found: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def _incidents(records: Sequence[RunRecord]) -> list[_Incident]:
    """Walk the journal in order and cut it into incidents."""
    found: list[_Incident] = []
    current: _Incident | None = None

    def close(outcome: str, at: datetime) -> None:
        nonlocal current
        assert current is not None
        current.outcome, current.resolved = outcome, at
        current = None

    for record in records:
        details = record.details
        if record.action in CHECK_ACTIONS:
            status = _check_status(record)
            if status in (Status.WARNING.value, Status.CRITICAL.value):
                if current is None:
                    current = _Incident(detected=record.finished, started=record.finished)
                    found.append(current)
                if current.status != Status.CRITICAL.value:
                    current.status = status
                current.critical = max(current.critical, _int(details, "critical"))
                current.warning = max(current.warning, _int(details, "warning"))
                _note_found(current, details.get("found"))
            elif status == Status.OK.value and current is not None:
                if current.restored is not None:
                    current.verified = current.verified or record.finished
                    close("restored", record.finished)
                else:
                    close("cleared", record.finished)
        elif record.action == "restore":
            if current is None:
                current = _Incident(detected=None, started=record.started)
                found.append(current)
            current.restored = record.finished
            if details.get("verified") is True:
                current.verified = record.finished
                close("restored", record.finished)
            else:
                current.restore_failed = True
        elif record.action == "verify" and current is not None and current.restored:
            if details.get("verified") is True:
                current.verified = record.finished
                close("restored", record.finished)
        elif record.action == "approve" and current is not None:
            current.approved_by = _str(details, "signer") or DASH
            close("approved", record.finished)
    return found


def _outcome(incident: _Incident, lang: str) -> str:
    if incident.resolved is None:
        return t("outcome.restore_failed" if incident.restore_failed else "outcome.open", lang)
    took = format_duration(incident.resolved - (incident.detected or incident.started), lang)
    return t(f"outcome.{incident.outcome}", lang, duration=took,
             name=escape(incident.approved_by or DASH))


def _findings_cell(incident: _Incident, lang: str) -> str:
    parts = [tn(f"count.{key}", n, lang)
             for key, n in (("critical", incident.critical), ("warning", incident.warning)) if n]
    counted = join(parts, lang) if parts else (
        t(f"status.{incident.status}", lang) if incident.status else DASH)
    named = [_found_text(*item, lang) for item in list(incident.found.values())[:FOUND_SHOWN]]
    if len(incident.found) > FOUND_SHOWN:
        named.append(t("activity.found_more", lang, n=len(incident.found) - FOUND_SHOWN))
    return f"{counted}: {'; '.join(named)}" if named else counted


FOUND_SHOWN = 3  # findings an incident's row names; the state report lists them all
FOUND_PATH = 48  # characters of a path in that row, its end kept
FOUND_REASON = 60  # characters of a reason in that row


def _note_found(incident: _Incident, found: object) -> None:
    """Keep what a check record named ([path, severity, code, detail] lists), once each."""
    for item in found if isinstance(found, list) else []:
        if (isinstance(item, list) and len(item) == 4
                and all(isinstance(v, str) for v in item)):
            path, _severity, code_, detail = item
            incident.found.setdefault(path or code_, (path, code_, detail))


def _found_text(path: str, code_: str, detail: str, lang: str) -> str:
    """A path and its reason, both shortened, for one table cell."""
    reason = describe(Reason(code_, detail), lang) if code_ else ""
    if len(reason) > FOUND_REASON:
        reason = reason[:FOUND_REASON - 1] + "…"
    shown = visible(path)
    if len(shown) > FOUND_PATH:
        shown = "…" + shown[-(FOUND_PATH - 1):]
    if not shown:
        return escape(reason) or DASH
    return f"{code(shown)} ({escape(reason)})" if reason else code(shown)


def missed_checks(times: Sequence[datetime], since: datetime, until: datetime,
                  every: timedelta) -> list[tuple[datetime, datetime, int]]:
    """Gaps without a check longer than 1.5 periods, with the number of checks they missed.

    The period's start and end count as edges, so a period with no check at all is one gap.
    """
    points = [since, *sorted(times), until]
    gaps = []
    for start, end in pairwise(points):
        if end - start > every * MISSED_FACTOR:
            gaps.append((start, end, max(1, round((end - start) / every) - 1)))
    return gaps


def activity_report(site: str, records: Sequence[RunRecord], since: datetime, until: datetime,
                    config: Config, expected_every: timedelta | None,
                    monitoring_since: datetime | None = None) -> str:
    """The laporan kegiatan for one site over [since, until], built from the run journal.

    Records of other sites or starting outside the period are ignored. Each record is read by
    its action; a missing or mistyped detail counts as absent (0, None or False), never an error:

    - ``mirror``: ``snapshot`` (commit or None; a commit means the backup recorded changes),
      ``added``, ``modified``, ``deleted`` (counts).
    - ``check`` / ``audit`` (both count as checks, and their start times are the check times
      for missed-check gaps): ``status`` (ok|warning|critical|unknown; the record's status
      when absent), ``critical`` and ``warning`` (finding counts).
    - ``approve``: ``commit``, ``signer`` (name), ``role``, ``snapshot``.
    - ``restore``: ``evidence``, ``verified`` (bool), ``paths`` (count).
    - ``verify``: ``verified`` (bool).
    - ``report`` / ``send``: ``kind`` (state|repair|activity|critical), ``sent_to`` (list).
    - any action with status ``error`` or ``unknown`` is listed as a failed run with its
      summary.

    An incident opens at a check whose status is warning or critical (or at a restore with
    none open) and closes at a verified restore (or a restore followed by a verify or an ok
    check), at an approval, or at an ok check without a restore.
    """
    lang = config.language
    tz = config.timezone
    mine = sorted((r for r in records if r.site == site and since <= r.started <= until),
                  key=lambda r: r.started)
    checks = [r for r in mine if r.action in CHECK_ACTIONS]
    mirrors = [r for r in mine if r.action == "mirror"]
    snapshots = [r for r in mirrors if _str(r.details, "snapshot")]
    approvals = [r for r in mine if r.action == "approve"]
    restores = [r for r in mine if r.action == "restore"]
    verifies = [r for r in mine if r.action == "verify"]
    reports = [r for r in mine if r.action in REPORT_ACTIONS]
    failures = [r for r in mine if r.status in ("error", Status.UNKNOWN.value)]
    incidents = _incidents(mine)
    # Checks cannot have been missed before gitguard began guarding the site.
    watched_from = max(since, monitoring_since) if monitoring_since else since
    gaps = (missed_checks([r.started for r in checks], watched_from, until, expected_every)
            if expected_every else [])
    by_status = {s: sum(1 for r in checks if _check_status(r) == s.value) for s in Status}

    doc = _Doc(lang)
    doc.title(doc.t("activity.title"))
    every = (doc.t("activity.every", every=format_duration(expected_every, lang))
             if expected_every else doc.t("activity.no_schedule"))
    doc.facts([(doc.t("field.to"), doc.t("activity.to", who=role_name("kabag", lang))),
               *_site_facts(doc, site, config),
               (doc.t("field.period"), doc.t("fmt.range", start=_when(since, config),
                                             end=_when(until, config))),
               (doc.t("field.schedule"), every),
               (doc.t("field.time_zone"), zone_name(local(until, tz)))])

    doc.section("activity.section.summary")
    counts = [("checks", len(checks)), ("checks_ok", by_status[Status.OK]),
              ("checks_warning", by_status[Status.WARNING]),
              ("checks_critical", by_status[Status.CRITICAL]),
              ("checks_failed", by_status[Status.UNKNOWN]),
              ("backups", len(mirrors)), ("snapshots", len(snapshots)),
              ("incidents", len(incidents)), ("restores", len(restores)),
              ("verifications", len(verifies)), ("approvals", len(approvals))]
    if expected_every:
        counts.append(("missed", sum(g[2] for g in gaps)))
    counts.append(("reports", len(reports)))
    doc.table([doc.t("col.activity"), doc.t("col.count")],
              ([doc.t(f"activity.row.{key}"), number(n, lang)] for key, n in counts), "lr")

    doc.section("activity.section.incidents")
    if incidents:
        doc.para(doc.t("activity.incident_note"))
        doc.table([doc.t("col.no"), doc.t("col.detected"), doc.t("col.findings"),
                   doc.t("col.restored"), doc.t("col.verified"), doc.t("col.outcome")],
                  ([str(n), _short_when(i.detected, config), _findings_cell(i, lang),
                    _short_when(i.restored, config), _short_when(i.verified, config),
                    _outcome(i, lang)] for n, i in enumerate(incidents, 1)), "rlllll")
    else:
        doc.para(doc.t("activity.no_incidents"))

    doc.section("activity.section.approvals")
    if approvals:
        doc.table([doc.t("col.no"), doc.t("col.time"), doc.t("col.approver"),
                   doc.t("col.commit"), doc.t("col.snapshot")],
                  ([str(n), _short_when(r.finished, config), _approver(r, lang),
                    _hash(_str(r.details, "commit"), lang),
                    _hash(_str(r.details, "snapshot"), lang)]
                   for n, r in enumerate(approvals, 1)), "rllll")
    else:
        doc.para(doc.t("activity.no_approvals"))

    doc.section("activity.section.backups")
    if mirrors:
        doc.para(tn("activity.backups", len(mirrors), lang, changed=number(len(snapshots), lang)))
    else:
        doc.para(doc.t("activity.no_backups"))
    if snapshots:
        doc.table([doc.t("col.no"), doc.t("col.time"), doc.t("col.snapshot"),
                   doc.t("col.added"), doc.t("col.modified"), doc.t("col.deleted")],
                  ([str(n), _short_when(r.finished, config), _hash(_str(r.details, "snapshot"),
                                                                   lang),
                    number(_int(r.details, "added"), lang),
                    number(_int(r.details, "modified"), lang),
                    number(_int(r.details, "deleted"), lang)]
                   for n, r in enumerate(snapshots, 1)), "rllrrr")

    doc.section("activity.section.missed")
    if expected_every is None:
        doc.para(doc.t("activity.no_schedule_missed"))
    elif gaps:
        doc.para(tn("activity.missed", len(gaps), lang,
                    every=format_duration(expected_every, lang),
                    limit=format_duration(expected_every * MISSED_FACTOR, lang)))
        doc.table([doc.t("col.no"), doc.t("col.from"), doc.t("col.until"), doc.t("col.gap"),
                   doc.t("col.missed")],
                  ([str(n), _short_when(start, config), _short_when(end, config),
                    format_duration(end - start, lang), number(missed, lang)]
                   for n, (start, end, missed) in enumerate(gaps, 1)), "rlllr")
    else:
        doc.para(doc.t("activity.no_missed"))

    if failures:
        doc.section("activity.section.failures")
        doc.table([doc.t("col.no"), doc.t("col.time"), doc.t("col.activity"),
                   doc.t("col.summary")],
                  ([str(n), _short_when(r.started, config), _run_name(r.action, lang),
                    escape(r.summary) or DASH] for n, r in enumerate(failures, 1)), "rlll")

    doc.section("activity.section.reports")
    if reports:
        doc.table([doc.t("col.no"), doc.t("col.time"), doc.t("col.kind"),
                   doc.t("col.recipients")],
                  ([str(n), _short_when(r.finished, config), _report_kind(r, lang),
                    _recipients(r)] for n, r in enumerate(reports, 1)), "rlll")
    else:
        doc.para(doc.t("activity.no_reports"))
    return _ending(doc, config, until, "activity.closing")


def _approver(record: RunRecord, lang: str) -> str:
    name = _str(record.details, "signer")
    if name is None:
        return DASH
    role = _str(record.details, "role")
    if role is None:
        return escape(name)
    return t("fmt.person", lang, name=escape(name), role=escape(role_name(role, lang)))


def _run_name(action: str, lang: str) -> str:
    try:
        return t(f"run.{action}", lang)
    except KeyError:
        return escape(action)


def _report_kind(record: RunRecord, lang: str) -> str:
    kind = _str(record.details, "kind")
    if kind is None:
        return DASH
    try:
        return t(f"kind.{kind}", lang)
    except KeyError:
        return escape(kind)


def _recipients(record: RunRecord) -> str:
    sent_to = record.details.get("sent_to")
    if not isinstance(sent_to, list):
        return DASH
    return ", ".join(escape(str(x)) for x in sent_to) or DASH


# --- subjects --------------------------------------------------------------------------------


def state_subject(result: AuditResult, config: Config) -> str:
    """The e-mail subject of a state and damage report: status word first."""
    lang = config.language
    return t("subject.state", lang, status=t(f"status.{result.status.value}", lang),
             site=result.site)


def repair_subject(result: RestoreResult, config: Config) -> str:
    """The e-mail subject of a repair report: its verdict first."""
    lang = config.language
    return t("subject.repair", lang, status=t(f"repair.result.{_verdict(result)}", lang),
             site=result.site)


def activity_subject(site: str, since: datetime, until: datetime, config: Config) -> str:
    """The e-mail subject of an activity report: site and period."""
    lang = config.language
    period = t("fmt.range", lang, start=format_date(since, config.timezone, lang),
               end=format_date(until, config.timezone, lang))
    return t("subject.activity", lang, site=site, period=period)
