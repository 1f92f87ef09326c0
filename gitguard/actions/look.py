"""`gitguard look`: the live site as visitors and crawlers see it, against the approval's look.

`check`, `verify` and `restore` call `look_locked` under the site's lock; `approve` and
`look --baseline` call `take_baseline`. Nothing here runs (nor is Playwright imported)
for a site without URLs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.errors import GitguardError, SourceError, StoreError, UsageError
from gitguard.look.compare import Outcome, Shot, compare, picture_names, severity
from gitguard.look.model import VIEWS, Capture, Look, SitemapEntry, url_key
from gitguard.model import (
    SEVERITY_RANK,
    AuditResult,
    Baseline,
    LookShot,
    Picture,
    Reason,
    Severity,
    Status,
    printable,
)
from gitguard.store import baseline as looks
from gitguard.store.repo import JOURNAL, SiteRepo
from gitguard.trust import check_commit

log = logging.getLogger(__name__)

CURSOR = "look-cursor"  # which sitemap page the next run starts at: a position, never trusted
DEADLINE = 20.0  # seconds a look may take, plus PER_PAGE for each page, before it is killed
PER_PAGE = 8.0
HISTORY_DAYS = 2  # how far back the journal is read for the previous look
# Reasons that do not stop `verify` or a restore from passing: they are about the
# certificate's calendar or a missing baseline, not about what the site shows.
NOT_BLOCKING = frozenset({"look_cert_expiring", "look_no_baseline", "look_files_unchanged"})
# Reasons that say the served content changed (for "files unchanged: database or server").
CONTENT = frozenset({"defacement_text", "gambling_spam", "doorway_page", "hidden_links",
                     "redirect_injected", "look_cloaking", "look_new_origin",
                     "look_redirect_away", "look_title", "look_text", "look_pixels"})


@dataclass(frozen=True)
class LookResult:
    """A look's verdict: its reasons, the pictures the reports show, and how long down."""

    status: Status
    reasons: tuple[Reason, ...]
    shots: tuple[LookShot, ...]
    down_runs: int
    baseline: str | None  # the baseline look commit compared with

    @property
    def clean(self) -> bool:
        """Whether a verify or a restore may pass on this look."""
        return not blocking(self.reasons)


def blocking(reasons: tuple[Reason, ...]) -> list[Reason]:
    """The look's reasons that keep a verify or a restore from passing."""
    return [r for r in reasons
            if severity(r.code) is not Severity.INFO and r.code not in NOT_BLOCKING]


def status_of(reasons: tuple[Reason, ...]) -> Status:
    """The worst severity among the reasons as a site status."""
    worst = max((SEVERITY_RANK[severity(r.code)] for r in reasons), default=0)
    return (Status.OK, Status.WARNING, Status.CRITICAL)[worst]


# --- taking a look -----------------------------------------------------------------------


def _extra_pages(repo: SiteRepo, site: Site, sitemap: tuple[SitemapEntry, ...]) -> list[str]:
    """The next `sitemap_pages` sitemap pages on the site's own hosts, rotating run by run."""
    count = site.look.sitemap_pages
    hosts = {urlsplit(u).hostname for u in site.urls}
    pages = sorted({e.url for e in sitemap if urlsplit(e.url).scheme in ("http", "https")
                    and urlsplit(e.url).hostname in hosts} - set(site.urls))
    if not count or not pages:
        return []
    path = repo.private / CURSOR
    try:
        start = int(path.read_text(encoding="ascii").strip()[:12])
    except (OSError, ValueError):
        start = 0
    start %= len(pages)  # whatever the file says, only a position in today's list
    chosen = [pages[(start + n) % len(pages)] for n in range(min(count, len(pages)))]
    tmp = repo.tmp(CURSOR)
    tmp.write_text(f"{(start + len(chosen)) % len(pages)}\n", encoding="ascii")
    tmp.replace(path)
    return chosen


def take(repo: SiteRepo, site: Site) -> Look:
    """Look at every URL in every view, read sitemap and robots.txt, check certificates."""
    from gitguard.look.browser import Browser
    from gitguard.look.fetch import certificate, crawl, unreachable
    from gitguard.look.sitemap import robots, sitemap

    started = time.monotonic()
    down = {url: why for url in site.urls if (why := unreachable(url))}
    if len(down) == len(site.urls):  # nothing answers: no browser, no sitemap, just that
        return Look(taken=now(), captures=tuple(Capture(url=url, view=view.name, error=why)
                                                for url, why in down.items() for view in VIEWS))
    rules, named = robots(site.urls[0])
    entries = tuple(sitemap(site.urls[0], named))
    extra = _extra_pages(repo, site, entries)
    captures: list[Capture] = []
    rendered = [v for v in VIEWS if v.rendered]
    plain = [v for v in VIEWS if not v.rendered]
    pages = len(site.urls) * len(rendered) + len(extra)
    jobs = [(url, view, site.look.for_url(url).ignore_selectors)
            for url in site.urls for view in rendered]
    # doorway pages: a visitor's render (no picture) and the crawler's fetch
    jobs += [(url, replace(rendered[0], screenshot=False), ()) for url in extra]
    with Browser(DEADLINE + PER_PAGE * pages) as browser:
        captures += browser.capture_all(jobs)
    for url in [*site.urls, *extra]:
        captures += [crawl(url, view.name, view.user_agent) for view in plain]
    hosts = {(p.hostname, p.port or 443) for p in map(urlsplit, site.urls)
             if p.scheme == "https" and p.hostname}
    certs = tuple(certificate(host, port, site.look.ca_file) for host, port in sorted(hosts))
    log.info("%s: looked at %d page(s) in %.1f s", site.name, len(site.urls) + len(extra),
             time.monotonic() - started)
    return Look(taken=now(), captures=tuple(captures), certificates=certs, sitemap=entries,
                robots=tuple(rules), extra_pages=tuple(extra))


# --- the baseline --------------------------------------------------------------------------


def load_baseline(config: Config, repo: SiteRepo,
                  approved: Baseline | None) -> tuple[Look | None, str | None, list[Reason]]:
    """The approval's look, its commit, and why there is none that can be trusted."""
    if approved is None:
        return None, None, []
    commit = repo.git.rev(looks.ref_for(approved.commit))
    if commit is None:
        return None, None, [Reason("look_no_baseline", approved.commit[:12])]
    verdict = check_commit(config, repo, commit)
    if verdict.signer is None or looks.approved_in(repo, commit) != approved.commit:
        why = verdict.reason or "it names another approved commit"
        return None, commit, [Reason("look_baseline_untrusted", f"{commit[:12]}: {why}")]
    try:
        return looks.load(repo, commit), commit, []
    except StoreError as exc:
        return None, commit, [Reason("look_baseline_untrusted", str(exc))]


def take_baseline(config: Config, site: Site, repo: SiteRepo, approved: str,
                  sign_with: list[str], env: dict[str, str] | None, message: str) -> str:
    """Look at the site and keep the look, signed, as the baseline of `approved`; refuse
    when the site is down or already shows something critical."""
    started = now()
    look = take(repo, site)
    outcome = compare(look, None, site.urls, site.look)
    if outcome.down:
        raise UsageError(f"{site.name}: the site cannot be reached, so its look was not kept "
                         "as the baseline: " + "; ".join(r.detail for r in outcome.reasons[:3]))
    bad = [r for r in outcome.reasons if severity(r.code) is Severity.CRITICAL]
    if bad:
        from gitguard.report.texts import describe

        raise UsageError(f"{site.name}: the site shows something critical, so its look was not "
                         "kept as the baseline: " + "; ".join(describe(r, "en") for r in bad[:3]))
    commit = looks.save(repo, approved, look, message, sign_with, env)
    repo.record("look-baseline", site.name, started, "ok",
                f"baseline look {commit[:12]} of approved {approved[:12]}: "
                f"{len(look.captures)} capture(s)",
                {"baseline": commit, "approved": approved, "urls": list(site.urls)})
    return commit


def baseline_at_approval(config: Config, site: Site, repo: SiteRepo, approved: str,
                         sign_with: list[str], env: dict[str, str], signer: str) -> str | None:
    """The baseline look of a new approval; the approval stands when it cannot be taken,
    and the warning says how to take it later."""
    try:
        return take_baseline(config, site, repo, approved, sign_with, env,
                             f"Look at approved {approved[:12]} by {signer}")
    except GitguardError as exc:
        log.warning("%s: approved, but the baseline look was not taken: %s; take it with "
                    "'gitguard look %s --baseline'", site.name, exc, site.name)
        return None


# --- comparing and keeping ---------------------------------------------------------------


def _previous(repo: SiteRepo) -> dict[str, Any] | None:
    """The details of the newest look journaled in the last days."""
    since = now() - timedelta(days=HISTORY_DAYS)
    records = [r for r in repo.journal_records(since) if r.action == "look"]
    return records[-1].details if records else None


def _kept_today(repo: SiteRepo, day: str) -> set[str]:
    """The names of the look pictures the journal holds for one day (YYYY/MM/DD)."""
    tip = repo.git.rev(JOURNAL)
    if tip is None:
        return set()
    out = repo.git.run(["ls-tree", "--name-only", "-z", tip, f"reports/{day}/"], check=False)
    return {n.rsplit("/", 1)[-1] for n in out.decode("utf-8", "replace").split("\0")
            if "/look-" in n}


def _to_keep(repo: SiteRepo, site: Site, stamp: datetime, shots: tuple[Shot, ...],
             every: bool = False, flagged: frozenset[str] | set[str] = frozenset()
             ) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    """Which pictures go into the journal: all three of a shot over its threshold or of a
    page with findings (`flagged` URLs), the current one of every shot with `every`, and
    otherwise the current picture once a day, so that a look every 15 minutes does not
    grow the repository by megabytes a day."""
    kept = _kept_today(repo, f"{stamp:%Y/%m/%d}")
    files: dict[str, bytes] = {}
    listed: list[dict[str, Any]] = []
    for shot in shots:
        names = picture_names(site.name, f"{stamp:%Y%m%dT%H%M%SZ}", shot)
        marker = f"-{url_key(shot.url)}-{shot.view}-current-"
        row: dict[str, Any] = {"url": shot.url, "view": shot.view, "ratio": shot.ratio}
        if shot.over or shot.url in flagged:
            for part in ("approved", "current", "diff"):
                data = getattr(shot, part)
                if data is not None:
                    files[names[part]] = data
                    row[part] = names[part]
        elif shot.current is not None and (every or not any(marker in n for n in kept)):
            files[names["current"]] = shot.current
            row["current"] = names["current"]
        listed.append(row)
    return files, listed


def _journal_names(repo: SiteRepo, commit: str, stamp: datetime) -> dict[str, str]:
    """The names the journal gave this run's pictures (it adds the run's token)."""
    out = repo.git.run(["ls-tree", "--name-only", "-z", commit, f"reports/{stamp:%Y/%m/%d}/"],
                       check=False).decode("utf-8", "replace")
    names: dict[str, str] = {}
    for path in out.split("\0"):
        base = path.rsplit("/", 1)[-1]
        stem, _, _ = base.rpartition("-")  # "<name>-<token>.png" -> "<name>"
        names[f"{stem}.png"] = base
    return names


def look_locked(config: Config, site: Site, repo: SiteRepo, approved: Baseline | None,
                started: datetime | None = None,
                keep_pictures: bool = False) -> LookResult | None:
    """Look at the site (the caller holds its lock), compare with the approval's look,
    journal the run with the pictures worth keeping (all with `keep_pictures`); None when
    no URL is configured."""
    if not site.urls:
        return None
    started = started or now()
    base, base_commit, problems = load_baseline(config, repo, approved)
    try:
        look = take(repo, site)
    except SourceError as exc:  # no browser: the audit stands, and says the look is missing
        log.warning("%s: %s", site.name, exc)
        look = None
        problems.append(Reason("look_failed", str(exc)))
    clock = time.monotonic()
    outcome = compare(look, base, site.urls, site.look) if look is not None \
        else Outcome((), (), down=False)
    log.debug("%s: compared in %.2f s", site.name, time.monotonic() - clock)
    previous = _previous(repo)
    before = previous.get("down_runs", 0) if previous else 0
    down_runs = (before if isinstance(before, int) and before >= 0 else 0) + 1 \
        if outcome.down else 0
    reasons = list(problems) + list(outcome.reasons)
    if outcome.down and down_runs >= site.look.down_critical_after:
        reasons = [Reason("look_down_long", f"{down_runs}x: {r.detail}")
                   if r.code == "look_down" else r for r in reasons]
    result = tuple(dict.fromkeys(reasons))
    status = status_of(result)
    # a page with findings keeps all its pictures: they are the evidence
    flagged = {r.detail.split(" ", 1)[0] for r in result
               if severity(r.code) is not Severity.INFO}
    files, listed = _to_keep(repo, site, started, outcome.shots, keep_pictures, flagged)
    commit = repo.record("look", site.name, started, status.value,
                         f"{status.value.upper()}: {len(result)} finding(s) in the look at "
                         f"{len(site.urls)} URL(s)" + (f", down {down_runs}x" if down_runs
                                                      else ""),
                         {"status": status.value, "down_runs": down_runs,
                          "baseline": base_commit,
                          "reasons": [{"code": r.code, "detail": r.detail,
                                       "severity": severity(r.code).value} for r in result],
                          "pictures": listed,
                          "extra_pages": list(look.extra_pages) if look else []}, files)
    real = _journal_names(repo, commit, started) if files else {}
    shots = tuple(_shot(row, files, real) for row in listed)
    return LookResult(status, result, tuple(s for s in shots if s.current or s.diff),
                      down_runs, base_commit)


def _shot(row: dict[str, Any], files: dict[str, bytes], real: dict[str, str]) -> LookShot:
    def picture(part: str) -> Picture | None:
        name = row.get(part)
        if not isinstance(name, str) or name not in files:
            return None
        return Picture(real.get(name, name), files[name])

    ratio = row.get("ratio")
    return LookShot(str(row["url"]), str(row["view"]),
                    float(ratio) if isinstance(ratio, int | float) else None,
                    picture("approved"), picture("current"), picture("diff"))


def latest(repo: SiteRepo, with_pictures: bool = False) -> LookResult | None:
    """The newest look the journal holds from the last days (for audit and reports)."""
    details = _previous(repo)
    if details is None:
        return None
    reasons = tuple(Reason(str(r.get("code", "")), str(r.get("detail", "")))
                    for r in details.get("reasons", []) if isinstance(r, dict))
    shots: list[LookShot] = []
    for row in details.get("pictures", []) if with_pictures else []:
        if not isinstance(row, dict):
            continue
        files: dict[str, bytes] = {}
        real: dict[str, str] = {}
        for part in ("approved", "current", "diff"):
            name = row.get(part)
            found = _journal_picture(repo, name, _day_of(name)) if isinstance(name, str) \
                else None
            if isinstance(name, str) and found is not None:
                files[name], real[name] = found
        shot = _shot(row, files, real)
        if shot.current or shot.diff:
            shots.append(shot)
    down = details.get("down_runs", 0)
    return LookResult(status_of(reasons), reasons, tuple(shots),
                      down if isinstance(down, int) else 0,
                      details.get("baseline") if isinstance(details.get("baseline"), str)
                      else None)


def _day_of(name: str) -> str | None:
    """YYYY/MM/DD from a picture name look-SITE-YYYYMMDDTHHMMSSZ-..."""
    for part in name.split("-"):
        if len(part) == 16 and part[8] == "T" and part[:8].isdigit():
            return f"{part[:4]}/{part[4:6]}/{part[6:8]}"
    return None


def _journal_picture(repo: SiteRepo, name: str, day: str | None) -> tuple[bytes, str] | None:
    """A picture kept in the journal under its day: (PNG, the name the journal gave it)."""
    if day is None:
        return None
    stem = name.removesuffix(".png")
    for path in repo.journal_paths(f"reports/{day}"):
        base = path.rsplit("/", 1)[-1]
        if base.startswith(f"{stem}-") and base.endswith(".png"):
            data = repo.journal_file(path)
            return (data, base) if data else None
    return None


# --- what an audit makes of it ---------------------------------------------------------


def joined(result: AuditResult, look: LookResult | None) -> AuditResult:
    """The audit result with the look's reasons and pictures, its status raised to match;
    served content that changed while the files did not is said to point elsewhere."""
    if look is None:
        return result
    reasons = list(look.reasons)
    changed = [r for r in reasons if r.code in CONTENT]
    if changed and not result.findings and result.baseline is not None:
        reasons.append(Reason("look_files_unchanged", result.site))
    status = result.status
    worse = status_of(tuple(reasons))
    if status is not Status.UNKNOWN and _rank(worse) > _rank(status):
        status = worse
    return replace(result, live=tuple(reasons), shots=look.shots, status=status)


def _rank(status: Status) -> int:
    return {Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2}.get(status, 3)


# --- the command -------------------------------------------------------------------------


def look(config: Config, site: Site, take_new_baseline: bool = False,
         key: Path | None = None) -> tuple[LookResult | None, str | None]:
    """`gitguard look SITE [--baseline]`: (the look, the new baseline commit if taken)."""
    from gitguard.trust import (
        approver_for,
        signing_args,
        signing_key_from_agent,
        signing_key_from_file,
        trusted_baseline,
    )

    if not site.urls:
        raise UsageError(f"site {site.name} has no urls to look at")
    repo = SiteRepo.open(config.repo_path(site))
    if take_new_baseline:
        signing = signing_key_from_file(key) if key else signing_key_from_agent(config)
        person = approver_for(config, signing)
        with repo.lock():
            approved = trusted_baseline(config, repo, "take the baseline look")
            env = {"GIT_AUTHOR_NAME": person.name, "GIT_COMMITTER_NAME": person.name,
                   "GIT_AUTHOR_EMAIL": person.email or f"{person.key}@gitguard",
                   "GIT_COMMITTER_EMAIL": person.email or f"{person.key}@gitguard"}
            commit = take_baseline(config, site, repo, approved.commit,
                                   signing_args(config, repo, signing), env,
                                   f"Look at approved {approved.commit[:12]} by {person.name}")
            return None, commit
    with repo.lock():
        from gitguard.trust import check_baseline

        check = check_baseline(config, repo)
        return look_locked(config, site, repo, check.baseline), None


def render_text(site: str, result: LookResult) -> str:
    """The look for a terminal: one line, then each finding."""
    from gitguard.report.texts import describe

    lines = [f"{site}: {result.status.value.upper()}: {len(result.reasons)} finding(s) in the "
             "live look" + (f"; unreachable {result.down_runs} time(s) in a row"
                            if result.down_runs else "")]
    lines += [f"  {severity(r.code).value:8} {printable(describe(r, 'en'))}"
              for r in result.reasons]
    return "\n".join(lines)


def as_json(site: str, result: LookResult) -> dict[str, Any]:
    """The look as one JSON object."""
    from gitguard.report.texts import describe

    return {"site": site, "status": result.status.value, "baseline": result.baseline,
            "down_runs": result.down_runs,
            "findings": [{"code": r.code, "severity": severity(r.code).value,
                          "reason": describe(r, "en")} for r in result.reasons],
            "pictures": [{"url": s.url, "view": s.view, "ratio": s.ratio,
                          **{part: getattr(s, part).name for part in ("approved", "current",
                                                                       "diff")
                             if getattr(s, part) is not None}} for s in result.shots]}


def pictures_beside(repo: SiteRepo, report: str, markdown: str) -> tuple[Picture, ...]:
    """The look pictures a report kept in the journal refers to, from its folder there."""
    from gitguard.report.html import PICTURE_REF

    folder = report.rpartition("/")[0]
    found: list[Picture] = []
    for name in dict.fromkeys(n for _, n in PICTURE_REF.findall(markdown)):
        data = repo.journal_file(f"{folder}/{name}")
        if data:
            found.append(Picture(name, data))
    return tuple(found)
