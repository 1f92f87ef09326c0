"""Schedules on the `schedule` package (issue #14, item 1): the old phrases keep working,
the cron-like ones `schedule` offers are added, bad ones are refused when the config loads."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import schedule

from gitguard.config import ConfigError, validate
from gitguard.schedule import parse_schedule


@pytest.fixture(autouse=True)
def jakarta() -> Iterator[None]:
    """Local time in Asia/Jakarta, as `gitguard run` sets it from the config."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Jakarta"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = before
    time.tzset()


def next_run(text: str) -> datetime:
    job = parse_schedule(text).attach(schedule.Scheduler()).do(lambda: None)
    assert job.next_run is not None
    return job.next_run


@pytest.mark.parametrize(("text", "period"), [
    ("every 15 minutes", timedelta(minutes=15)),
    ("every 1 minute", timedelta(minutes=1)),
    ("hourly", timedelta(hours=1)),
    ("every 2 hours", timedelta(hours=2)),
    ("daily at 07:00", timedelta(days=1)),
    ("Daily at 7:30", timedelta(days=1)),
    ("monday at 07:00", timedelta(days=7)),
    # what `schedule` adds
    ("every minute", timedelta(minutes=1)),
    ("every hour at :30", timedelta(hours=1)),
    ("every day at 06:45", timedelta(days=1)),
    ("every 2 days at 06:45", timedelta(days=2)),
    ("every friday at 16:00", timedelta(days=7)),
    ("weekly", timedelta(days=7)),
    ("every 10 to 20 minutes", timedelta(minutes=20)),
])
def test_accepted_phrases_and_their_period(text: str, period: timedelta) -> None:
    assert parse_schedule(text).period == period
    first = next_run(text)
    assert datetime.now() < first <= datetime.now() + period + timedelta(days=7)


def test_times_of_day_are_wall_clock_times() -> None:
    daily = next_run("daily at 07:00")
    assert (daily.hour, daily.minute, daily.second) == (7, 0, 0)
    weekly = next_run("monday at 07:00")
    assert weekly.weekday() == 0 and (weekly.hour, weekly.minute) == (7, 0)
    half = next_run("every hour at :30")
    assert (half.minute, half.second) == (30, 0)
    interval = next_run("every 15 minutes") - datetime.now()
    assert timedelta(minutes=14) < interval <= timedelta(minutes=15)


@pytest.mark.parametrize(("text", "why"), [
    ("sometimes", "not understood"),
    ("every 0 minutes", "between 1 minute and 4 weeks"),
    ("every 40 days", "between 1 minute and 4 weeks"),
    ("every 5 seconds", "not understood"),
    ("every minute at :30", "'at' takes ':MM' with hours"),
    ("every hour at 07:00", "'at' takes ':MM' with hours"),
    ("every 2 weeks at 07:00", "'at' takes ':MM' with hours"),
    ("daily at 25:00", "not understood"),
    ("every 20 to 10 minutes", "M must be more than N"),
    ("every 2 monday", "not understood"),
])
def test_refused_phrases(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_schedule(text)


def test_a_bad_schedule_is_refused_when_the_config_loads(tmp_path: Path) -> None:
    raw = {"sites": {"www": {"source": str(tmp_path), "schedule": "every 2 monday"}},
           "notify": {"activity_schedule": "mondays"}}
    with pytest.raises(ConfigError) as caught:
        validate(raw, tmp_path / "gitguard.toml")
    assert "sites.www.schedule: schedule 'every 2 monday' not understood" in str(caught.value)
    assert "notify.activity_schedule: schedule 'mondays' not understood" in str(caught.value)
