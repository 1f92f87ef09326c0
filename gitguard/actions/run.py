"""`gitguard run`: the long-running scheduler: `check` each site on its schedule, and send
the activity report to the kabag on notify.activity_schedule."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from types import FrameType

from gitguard.actions.check import check, notify_configured
from gitguard.actions.report import activity, keep_and_send
from gitguard.clock import now
from gitguard.config import Config, Site
from gitguard.errors import GitguardError
from gitguard.schedule import Schedule, parse_schedule
from gitguard.store.repo import SiteRepo

log = logging.getLogger(__name__)

DEFAULT = "every 15 minutes"


def plan_next(schedules: dict[str, Schedule], last: dict[str, datetime],
              moment: datetime) -> dict[str, datetime]:
    """When each job is next due: at once if it never ran, else after its last due time."""
    return {name: (moment if name not in last else schedule.next_after(last[name]))
            for name, schedule in schedules.items()}


def run(config: Config, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT: checks on schedule, activity reports on theirs."""
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.warning("signal %d: stopping after the current job", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    sites = {s.name: s for s in config.select(None)}
    schedules = {f"check:{n}": parse_schedule(s.schedule or DEFAULT) for n, s in sites.items()}
    if config.notify.activity_schedule and notify_configured(config):
        activity_every = parse_schedule(config.notify.activity_schedule)
        schedules.update({f"activity:{n}": activity_every for n in sites})
    last: dict[str, datetime] = {}
    tz = config.timezone
    started = now().astimezone(tz)
    for name in schedules:
        if name.startswith("activity:"):
            last[name] = started  # the first activity report covers a whole period
    while not stop.is_set():
        moment = now().astimezone(tz)
        due = plan_next(schedules, last, moment)
        name, when = min(due.items(), key=lambda item: item[1])
        if when > moment:
            stop.wait(min((when - moment).total_seconds(), 60.0))
            continue
        last[name] = when
        job, site_name = name.split(":", 1)
        _run_job(config, sites[site_name], job, schedules[name].period, moment)
    log.info("scheduler stopped")


def _run_job(config: Config, site: Site, job: str, period: timedelta,
             moment: datetime) -> None:
    """Run one job; any failure is logged and journaled, and never ends the scheduler, so
    one broken site leaves the others monitored."""
    started = now()
    try:
        if job == "check":
            result = check(config, site)
            log.warning("%s: %s", site.name, result.status.value)
        else:
            repo = SiteRepo.open(config.repo_path(site))
            report = activity(config, site, repo, moment - period, moment)
            with repo.lock():
                keep_and_send(config, repo, report, send=True)
    except Exception as exc:  # whatever one site does, the others go on
        why = str(exc) if isinstance(exc, GitguardError) else f"{type(exc).__name__}: {exc}"
        log.error("%s: %s failed: %s", site.name, job, why)
        log.debug("%s: %s", site.name, job, exc_info=not isinstance(exc, GitguardError))
        _journal_failure(config, site, job, started, why)


def _journal_failure(config: Config, site: Site, job: str, started: datetime, why: str) -> None:
    """Keep the failure in the site's journal when the repository can still take it."""
    try:
        SiteRepo.open(config.repo_path(site)).record("run", site.name, started, "error",
                                                     f"{job} failed: {why}", {"job": job})
    except Exception as exc:  # the log line above already reported it
        log.error("%s: the failure could not be journaled: %s", site.name, exc)
