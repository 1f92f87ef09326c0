"""`gitguard report`: write (and with --send deliver) the state, repair and activity reports.

Every report written or sent is also kept in the site repository's journal, next to the
commits it describes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitguard.actions.audit import assess
from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.errors import DeliveryFailed, StoreError, UsageError
from gitguard.model import AuditResult, LookShot, Picture, RestoreResult, Status
from gitguard.output import write_atomic
from gitguard.report.markdown import (
    activity_report,
    activity_subject,
    repair_report,
    repair_subject,
    state_report,
    state_subject,
)
from gitguard.schedule import parse_schedule
from gitguard.store.repo import SNAPSHOTS, SiteRepo

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Report:
    """One report, ready to write or send."""

    kind: str
    site: str
    subject: str
    markdown: str
    status: Status | None
    pictures: tuple[Picture, ...] = ()  # the live look's, which the Markdown refers to by name

    def render(self, fmt: str, lang: str) -> str:
        """The report in one format."""
        from gitguard.report.html import render_html  # markdown's import: only when needed

        return self.markdown if fmt == "md" else render_html(
            self.markdown, lang=lang, status=self.status,
            images={p.name: p.png for p in self.pictures})

    def file_name(self, stamp: datetime, fmt: str = "md") -> str:
        """A name for the report inside the journal or an output folder."""
        return f"{self.kind}-{self.site}-{stamp:%Y%m%dT%H%M%SZ}.{fmt}"


def state(config: Config, site: Site, repo: SiteRepo) -> Report:
    """The state and damage report of the newest snapshot."""
    snapshot = repo.git.rev(SNAPSHOTS)
    if snapshot is None:
        raise StoreError(f"site {site.name} has no snapshot yet: run 'gitguard check' first")
    result = assess(config, site, repo, snapshot)
    if site.urls:  # the latest look, with its pictures
        from gitguard.actions.look import joined, latest

        result = joined(result, latest(repo, with_pictures=True))
    return state_of(config, result)


def state_of(config: Config, result: AuditResult) -> Report:
    """The state report of an audit result."""
    return Report("state", result.site, state_subject(result, config),
                  state_report(result, config, now()), result.status,
                  pictures_of(result.shots))


def repair_of(config: Config, result: RestoreResult) -> Report:
    """The repair report of a restore."""
    return Report("repair", result.site, repair_subject(result, config),
                  repair_report(result, config),
                  Status.OK if result.verified else Status.CRITICAL,
                  pictures_of(result.look_before + result.look_after))


def pictures_of(shots: tuple[LookShot, ...]) -> tuple[Picture, ...]:
    """Every picture of the live look's shots, once each."""
    found = {p.name: p for s in shots for p in (s.approved, s.current, s.diff) if p}
    return tuple(found.values())


def latest_repair(site: Site, repo: SiteRepo, since: datetime | None,
                  until: datetime | None) -> Report:
    """The newest repair report kept in the journal within the period."""
    found = sorted(n for n in repo.journal_paths("reports") if f"/repair-{site.name}-" in n)
    for name in reversed(found):
        when = re.search(r"-(\d{8}T\d{6}Z)", name.rsplit("/", 1)[-1])
        if when is None:
            continue
        stamp = datetime.strptime(when.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if (since and stamp < since) or (until and stamp >= until):
            continue
        text = (repo.journal_file(name) or b"").decode("utf-8")
        title = next((line.lstrip("# ").strip() for line in text.splitlines()
                      if line.startswith("#")), "repair report")
        from gitguard.actions.look import pictures_beside

        return Report("repair", site.name, f"{title}: {site.name}", text, None,
                      pictures_beside(repo, name, text))
    raise UsageError(f"no repair report for site {site.name} in that period "
                     "(a restore writes one)")


def activity(config: Config, site: Site, repo: SiteRepo, since: datetime,
             until: datetime) -> Report:
    """The activity report (laporan kegiatan) of a period, from the journal."""
    records = repo.journal_records(since, until)
    every = parse_schedule(site.schedule).period if site.schedule else None
    first = repo.first_record_time()
    return Report("activity", site.name, activity_subject(site.name, since, until, config),
                  activity_report(site.name, records, since, until, config, every,
                                  monitoring_since=first), None)


def build(config: Config, site: Site, kind: str, since: datetime | None,
          until: datetime | None) -> Report:
    """One report of the given kind."""
    repo = SiteRepo.open(config.repo_path(site))
    if kind == "state":
        return state(config, site, repo)
    if kind == "repair":
        return latest_repair(site, repo, since, until)
    end = until or now()
    return activity(config, site, repo, since or end - timedelta(days=7), end)


def keep_and_send(config: Config, repo: SiteRepo, report: Report, send: bool,
                  kind_for_routing: str | None = None) -> list[str]:
    """Journal the report; with send, deliver it by role and journal the outcome.

    Returns the failed channels (empty when all delivered, or when not sending).
    """
    started = now()
    files = {report.file_name(started): report.markdown.encode("utf-8")}
    if not send:
        repo.record("report", report.site, started, "ok", f"{report.kind} report written",
                    {"kind": report.kind, "sent_to": []}, files)
        return []
    # smtplib and email take 10 ms to import: a restore or check that sends nothing
    # does without them
    from gitguard.report.deliver import deliver, recipients

    to = recipients(config, kind_for_routing or report.kind)
    outcomes = deliver(config, to, report.subject, report.markdown,
                       report.render("html", config.language))
    failed = [f"{o.channel}: {o.error}" for o in outcomes if not o.delivered]
    if not outcomes:
        failed = ["no delivery channel configured ([notify] smtp_host or apprise)"]
    repo.record("send", report.site, started, "error" if failed else "ok",
                f"{report.kind} report " + ("not delivered: " + "; ".join(failed) if failed
                                            else f"delivered to {', '.join(to) or 'apprise'}"),
                {"kind": report.kind, "sent_to": to if not failed else [],
                 "outcomes": [{"channel": o.channel, "delivered": o.delivered,
                               "attempts": o.attempts, "error": o.error} for o in outcomes]},
                files)
    for failure in failed:
        log.warning("%s: delivery failed: %s", report.site, failure)
    return failed


def report(config: Config, site: Site, kinds: list[str], formats: list[str],
           since: datetime | None, until: datetime | None, output: Path | None,
           send: bool) -> list[tuple[Report, str, str]]:
    """Build, keep, write and optionally send reports; returns (report, format, text)."""
    repo = SiteRepo.open(config.repo_path(site))
    produced: list[tuple[Report, str, str]] = []
    failed: list[str] = []
    for kind in kinds:
        built = build(config, site, kind, since, until)
        with repo.lock():
            failed += keep_and_send(config, repo, built, send)
        produced += [(built, fmt, built.render(fmt, config.language)) for fmt in formats]
    if output is not None:
        for built, fmt, text in produced:
            target = output if len(produced) == 1 else output.with_name(
                f"{output.stem}-{built.kind}.{fmt}")
            write_atomic(target, text)
            if fmt == "md":  # the pictures it refers to, beside it
                for picture in built.pictures:
                    (target.parent / picture.name).write_bytes(picture.png)
    if failed:
        raise DeliveryFailed(f"{site.name}: the report was kept in the journal but not "
                             "delivered: " + "; ".join(failed))
    return produced
