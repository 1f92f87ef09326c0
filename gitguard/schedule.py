"""Schedules in plain words: 'every 15 minutes', 'hourly', 'daily at 07:00', 'monday at 07:00'."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EVERY = re.compile(r"^every (\d+) (minute|minutes|hour|hours)$")
_AT = re.compile(r"^(daily|" + "|".join(DAYS) + r") at ([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Schedule:
    """When something runs: a fixed interval, or a time of day (optionally on one weekday)."""

    text: str
    interval: timedelta | None = None
    weekday: int | None = None  # 0 = Monday; None with `at` = every day
    at: tuple[int, int] | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first due time strictly after `moment` (in moment's time zone)."""
        if self.interval is not None:
            step = int(self.interval.total_seconds())
            epoch = int(moment.timestamp())
            return moment + timedelta(seconds=step - epoch % step)
        assert self.at is not None
        hour, minute = self.at
        due = moment.replace(hour=hour, minute=minute, second=0, microsecond=0)
        while due <= moment or (self.weekday is not None and due.weekday() != self.weekday):
            due += timedelta(days=1)
        return due

    @property
    def period(self) -> timedelta:
        """The longest gap between two due times."""
        if self.interval is not None:
            return self.interval
        return timedelta(days=1 if self.weekday is None else 7)


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule, or raise ValueError saying what is accepted."""
    words = " ".join(text.lower().split())
    if words == "hourly":
        return Schedule(text, interval=timedelta(hours=1))
    if m := _EVERY.match(words):
        count = int(m.group(1))
        unit = timedelta(minutes=1) if m.group(2).startswith("minute") else timedelta(hours=1)
        if count < 1 or count * unit > timedelta(days=1):
            raise ValueError(f"schedule {text!r}: the interval must be between 1 minute "
                             "and 24 hours")
        return Schedule(text, interval=count * unit)
    if m := _AT.match(words):
        day = None if m.group(1) == "daily" else DAYS.index(m.group(1))
        return Schedule(text, weekday=day, at=(int(m.group(2)), int(m.group(3))))
    raise ValueError(f"schedule {text!r} not understood: use 'every N minutes', 'every N hours', "
                     "'hourly', 'daily at HH:MM' or 'monday at HH:MM'")
