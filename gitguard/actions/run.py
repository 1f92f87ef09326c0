"""`gitguard run`: the long-running scheduler on the `schedule` package: `check` each site on
its schedule and send the activity report on notify.activity_schedule, each job in its own
process with a time limit, at most `jobs` at once, never two on one site."""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from types import FrameType

import schedule

from gitguard.actions.check import check, notify_configured
from gitguard.actions.report import activity, keep_and_send
from gitguard.clock import now
from gitguard.config import Config, Site, SshSource, load
from gitguard.errors import ExitCode, GitguardError
from gitguard.jobs import JobResult, Pool
from gitguard.model import Status
from gitguard.schedule import Schedule, parse_schedule
from gitguard.store.repo import SiteRepo

log = logging.getLogger(__name__)

DEFAULT = "every 15 minutes"
STOP_GRACE = 60.0  # seconds running jobs get to finish after SIGTERM (systemd waits 90)
TICK = 1.0  # the loop's longest sleep: how soon a signal is acted upon
EXIT_OF = {Status.OK: ExitCode.OK, Status.WARNING: ExitCode.WARNING,
           Status.CRITICAL: ExitCode.CRITICAL, Status.UNKNOWN: ExitCode.UNKNOWN}


@dataclass(frozen=True)
class Due:
    """A job whose time came: which job, for which site, and when."""

    job: str  # check | activity
    site: str
    at: datetime
    period: Schedule

    @property
    def key(self) -> str:
        """The job's name in the pool and the logs."""
        return f"{self.job}:{self.site}"


class Scheduler:
    """Due jobs from `schedule`, a queue for them, and the pool that runs them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pool = Pool(config.jobs, config.site_timeout, capture=False, freeze=False)
        self.waiting: list[Due] = []
        self.running: dict[str, Due] = {}
        self.clock = schedule.Scheduler()
        self.plan(config)

    def plan(self, config: Config) -> None:
        """(Re)build the timetable from a config; jobs queued or running go on, and a site
        new in it is checked at once."""
        new = set(config.sites) - set(self.config.sites)
        self.config = config
        self.pool.size, self.pool.timeout = config.jobs, config.site_timeout
        self.clock.clear()
        activity_every = (parse_schedule(config.notify.activity_schedule)
                          if config.notify.activity_schedule and notify_configured(config)
                          else None)
        for site in config.select(None):
            every = parse_schedule(site.schedule or DEFAULT)
            every.attach(self.clock).do(self.due, "check", site.name, every)
            if activity_every is not None:
                activity_every.attach(self.clock).do(self.due, "activity", site.name,
                                                     activity_every)
            if site.name in new:
                self.due("check", site.name, every)

    def start_all(self) -> None:
        """Every site's check at once: a scheduler (re)started has not looked for a while."""
        for job in self.clock.get_jobs():
            site_job, site, every = job.job_func.args  # type: ignore[union-attr]
            if site_job == "check":
                self.due(site_job, site, every)

    def due(self, job: str, site: str, every: Schedule) -> None:
        """A job's time came: queue it, or journal it as missed while the last one runs."""
        due = Due(job, site, now(), every)
        if due.key in self.running or any(w.key == due.key for w in self.waiting):
            at = due.at.astimezone(self.config.timezone)
            why = (f"{job} missed at {at:%Y-%m-%d %H:%M:%S %Z}: the previous one was "
                   "still running" if due.key in self.running
                   else f"{job} missed: the previous one was still waiting for a free slot")
            log.warning("%s: %s", site, why)
            _journal(self.config, site, "run", due.at, "error", why,
                     {"job": job, "missed": True})
            return
        self.waiting.append(due)

    def dispatch(self) -> None:
        """Start what waits, oldest first, while slots are free; one job per site."""
        busy = {d.site for d in self.running.values()}
        for due in list(self.waiting):
            if not self.pool.free:
                return
            if due.site in busy or due.site not in self.config.sites:
                if due.site not in self.config.sites:  # removed from the config on reload
                    self.waiting.remove(due)
                continue
            self.waiting.remove(due)
            site = self.config.site(due.site)
            self.pool.start(due.key, functools.partial(_work, self.config, site, due))
            self.running[due.key] = due
            busy.add(due.site)

    def finished(self, results: list[JobResult]) -> None:
        """Journal jobs that failed to end on their own; the others journaled themselves."""
        for result in results:
            due = self.running.pop(result.name)
            if result.failure:
                why = f"{due.job} {result.failure}"
                log.error("%s: %s", due.site, why)
                _journal(self.config, due.site, "check" if due.job == "check" else "run",
                         due.at, Status.UNKNOWN.value, why,
                         {"job": due.job, "status": Status.UNKNOWN.value})

    def step(self, wait: float) -> None:
        """Queue what is due, start what can start, and wait up to `wait` seconds."""
        self.clock.run_pending()
        self.dispatch()
        idle = self.clock.idle_seconds
        wait = max(0.0, min(wait, idle if idle is not None else wait))
        if self.running:
            self.finished(self.pool.wait(wait))
        else:
            time.sleep(wait)

    def stop(self, grace: float) -> None:
        """Let running jobs finish for `grace` seconds, then stop them."""
        self.waiting.clear()
        deadline = time.monotonic() + grace
        while self.running and time.monotonic() < deadline:
            self.finished(self.pool.wait(min(TICK, deadline - time.monotonic())))
        if self.running:
            log.warning("stopping %d job(s) still running: %s", len(self.running),
                        ", ".join(sorted(self.running)))
            self.finished(self.pool.stop())


def preload(sites: list[Site]) -> None:
    """Import in the parent what every forked job imports on first use, so that each job
    does not pay for it again (GitPython alone was over half of a steady check's CPU)."""
    from gitguard.remote import local  # noqa: F401
    from gitguard.store import history  # noqa: F401

    if any(isinstance(site.source, SshSource) for site in sites):
        from gitguard.remote import ssh  # noqa: F401


def run(config: Config, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (a second one: without waiting for running jobs); SIGHUP
    reads the config again and keeps the old one when the new one is wrong."""
    stop = stop or threading.Event()
    reload = threading.Event()
    signals = 0

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal signals
        signals += 1
        log.warning("signal %d: stopping %s", signum, "now" if signals > 1 else
                    f"after the running jobs (at most {STOP_GRACE:.0f} s)")
        stop.set()

    def _reload(_signum: int, _frame: FrameType | None) -> None:
        reload.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGHUP, _reload)
    _use_time_zone(config)
    preload(config.select(None))
    scheduler = Scheduler(config)
    scheduler.start_all()
    log.warning("scheduler started: %d site(s), %d job(s) at once, %d s per job",
                len(config.sites), config.jobs, config.site_timeout)
    try:
        while not stop.is_set():
            if reload.is_set():
                reload.clear()
                _reload_config(scheduler)
            scheduler.step(TICK)
    finally:
        scheduler.stop(0.0 if signals > 1 else STOP_GRACE)
        while scheduler.running:
            scheduler.finished(scheduler.pool.stop())
    log.warning("scheduler stopped")


def _reload_config(scheduler: Scheduler) -> None:
    """SIGHUP: the new config, or the old one kept with one line saying why."""
    try:
        config = load(scheduler.config.path)
    except GitguardError as exc:
        log.error("SIGHUP: the new config is not used, the old one stays: %s", exc)
        return
    _use_time_zone(config)
    scheduler.plan(config)
    log.warning("SIGHUP: config %s read again: %d site(s)", config.path, len(config.sites))


def _use_time_zone(config: Config) -> None:
    """Make local time the configured zone: `schedule` reads times as local wall-clock time."""
    os.environ["TZ"] = config.timezone.key
    time.tzset()


def _work(config: Config, site: Site, due: Due) -> int:
    """One job, in its own process: a check, or the activity report of the last period.

    Any failure is logged and journaled here; the scheduler journals only what ends a job
    from outside (the time limit, a crash)."""
    started = now()
    try:
        if due.job == "check":
            result = check(config, site)
            log.warning("%s: %s", site.name, result.status.value)
            return int(EXIT_OF[result.status])
        repo = SiteRepo.open(config.repo_path(site))
        report = activity(config, site, repo, due.at - due.period.period, due.at)
        with repo.lock():
            keep_and_send(config, repo, report, send=True)
        return int(ExitCode.OK)
    except Exception as exc:  # whatever one site does, the others go on
        why = str(exc) if isinstance(exc, GitguardError) else f"{type(exc).__name__}: {exc}"
        log.error("%s: %s failed: %s", site.name, due.job, why)
        log.debug("%s: %s", site.name, due.job, exc_info=not isinstance(exc, GitguardError))
        _journal(config, site.name, "run", started, "error", f"{due.job} failed: {why}",
                 {"job": due.job})
        return int(getattr(exc, "exit_code", ExitCode.UNKNOWN))


def _journal(config: Config, site: str, action: str, started: datetime, status: str,
             summary: str, details: dict[str, object]) -> None:
    """Keep a run in the site's journal when the repository can still take it."""
    try:
        SiteRepo.open(config.repo_path(config.site(site))).record(
            action, site, started, status, summary, dict(details))
    except Exception as exc:  # the log line before this already reported it
        log.error("%s: this could not be journaled: %s", site, exc)


def journal_failure(config: Config, site: Site, action: str, started: datetime,
                    why: str) -> None:
    """Journal a job that was stopped or crashed (the CLI's many-site runs use it too)."""
    _journal(config, site.name, action, started, Status.UNKNOWN.value, why,
             {"status": Status.UNKNOWN.value, "failure": why})
