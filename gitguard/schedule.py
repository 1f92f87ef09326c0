"""Schedules in plain words, run by the `schedule` package.

Accepted: 'every 15 minutes', 'every 2 hours', 'hourly', 'daily at 07:00', 'monday at 07:00',
and what `schedule` offers beyond them: 'every minute', 'every hour at :30',
'every day at 07:00', 'every 2 days at 07:00', 'every monday at 07:00', 'every week',
'every 10 to 20 minutes' (a random interval, to spread many sites over time).
Times are wall-clock times in the configured time zone (`gitguard run` runs in it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import schedule

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UNITS = {"minute": "minutes", "hour": "hours", "day": "days", "week": "weeks"}
_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d"
_PHRASE = re.compile(
    r"^every (?:(?P<n>\d+) (?:to (?P<m>\d+) )?)?(?P<unit>minute|hour|day|week)s?"
    r"(?: at (?P<at>" + _TIME + r"|:[0-5]\d))?$"
    r"|^(?:every )?(?P<day>" + "|".join(DAYS) + r")(?: at (?P<day_at>" + _TIME + r"))?$")
ACCEPTED = ("'every N minutes', 'every N hours', 'hourly', 'daily at HH:MM', "
            "'monday at HH:MM', 'every hour at :MM', 'every N days at HH:MM', "
            "'every N to M minutes'")
LONGEST = timedelta(days=28)


@dataclass(frozen=True)
class Schedule:
    """When a job runs, as `schedule` understands it."""

    text: str
    unit: str  # minutes | hours | days | weeks
    interval: int = 1
    latest: int | None = None  # 'every 10 to 20 minutes': a random interval up to this
    at: str | None = None  # 'HH:MM' (days, weeks) or ':MM' (hours)
    weekday: str | None = None

    def attach(self, scheduler: schedule.Scheduler) -> schedule.Job:
        """A job on `scheduler` at these times; the caller gives it its work with .do()."""
        job = scheduler.every(self.interval)
        if self.latest is not None:
            job = job.to(self.latest)
        job.unit = self.unit
        if self.weekday is not None:
            job = getattr(job, self.weekday)
        return job.at(self.at) if self.at is not None else job

    @property
    def period(self) -> timedelta:
        """The longest gap between two due times."""
        return timedelta(**{self.unit: self.latest or self.interval})


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule, or raise ValueError saying what is accepted."""
    words = " ".join(text.lower().split())
    words = {"hourly": "every hour", "daily": "every day", "weekly": "every week"}.get(
        words, words)
    words = re.sub(r"^daily at ", "every day at ", words)
    match = _PHRASE.match(words)
    if match is None:
        raise ValueError(f"schedule {text!r} not understood: use {ACCEPTED}")
    if match["day"]:
        found = Schedule(text, "weeks", weekday=match["day"], at=_padded(match["day_at"]))
    else:
        unit = UNITS[match["unit"]]
        at = _padded(match["at"])
        if at is not None and (unit in ("minutes", "weeks")
                               or (unit == "hours") != at.startswith(":")):
            raise ValueError(f"schedule {text!r}: 'at' takes ':MM' with hours, 'HH:MM' with "
                             "days or a weekday ('monday at 07:00')")
        interval = int(match["n"] or 1)
        latest = int(match["m"]) if match["m"] else None
        if latest is not None and latest <= interval:
            raise ValueError(f"schedule {text!r}: in 'every N to M', M must be more than N")
        found = Schedule(text, unit, interval, latest, at)
    if found.interval < 1 or found.period > LONGEST:
        raise ValueError(f"schedule {text!r}: the interval must be between 1 minute and "
                         "4 weeks")
    try:  # what `schedule` itself refuses is refused here, when the config loads
        found.attach(schedule.Scheduler()).do(lambda: None)
    except (schedule.ScheduleError, ValueError) as exc:
        raise ValueError(f"schedule {text!r}: {exc}") from None
    return found


def _padded(at: str | None) -> str | None:
    """'7:00' as `schedule` wants it: '07:00'."""
    return f"0{at}" if at is not None and len(at) == 4 and at[1] == ":" else at
