"""The report text table: complete in every language, dates and numbers as an office writes them."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gitguard.config import LANGUAGES
from gitguard.model import Reason
from gitguard.report import texts
from gitguard.report.reasons import REASONS
from gitguard.report.texts import (
    TEXTS,
    describe,
    format_date,
    format_datetime,
    format_duration,
    format_short,
    join,
    number,
    size,
    t,
)

MOMENT = datetime(2026, 11, 28, 0, 15, tzinfo=UTC)  # 07.15 in Jakarta


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_key_has_every_language(key: str) -> None:
    row = TEXTS[key]
    for lang in LANGUAGES:
        assert row.get(lang, "").strip(), f"{key} has no {lang!r} text"


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_language_fills_the_same_placeholders(key: str) -> None:
    row = TEXTS[key]
    assert len({frozenset(_fields(row[lang])) for lang in LANGUAGES}) == 1, key


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_reads_in_every_language(code: str) -> None:
    for lang in LANGUAGES:
        text = describe(Reason(code, "DETAIL-42"), lang)
        assert "DETAIL-42" in text or "{detail}" not in REASONS[code][lang], (code, lang)
        assert describe(Reason(code), lang).strip()


def test_reasons_are_part_of_the_one_table() -> None:
    for code, row in REASONS.items():
        assert TEXTS[f"reason.{code}"] == row


@pytest.mark.parametrize(("zone", "lang", "expected"), [
    ("Asia/Jakarta", "id", "Sabtu, 28 November 2026 pukul 07.15 WIB"),
    ("Asia/Jakarta", "en", "Saturday, 28 November 2026 at 07:15 WIB"),
    ("Asia/Pontianak", "id", "Sabtu, 28 November 2026 pukul 07.15 WIB"),
    ("Asia/Makassar", "id", "Sabtu, 28 November 2026 pukul 08.15 WITA"),
    ("Asia/Jayapura", "id", "Sabtu, 28 November 2026 pukul 09.15 WIT"),
    ("Asia/Jayapura", "en", "Saturday, 28 November 2026 at 09:15 WIT"),
    ("Europe/Amsterdam", "en", "Saturday, 28 November 2026 at 01:15 CET"),
    ("UTC", "id", "Sabtu, 28 November 2026 pukul 00.15 UTC"),
])
def test_datetime_in_the_configured_zone(zone: str, lang: str, expected: str) -> None:
    assert format_datetime(MOMENT, ZoneInfo(zone), lang) == expected


def test_every_day_and_month_name() -> None:
    jakarta = ZoneInfo("Asia/Jakarta")
    days = [format_datetime(MOMENT + timedelta(days=n), jakarta, "id").split(",")[0]
            for n in range(7)]
    assert days == ["Sabtu", "Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat"]
    months = [format_date(datetime(2026, m, 10, tzinfo=UTC), jakarta, "id").split()[1]
              for m in range(1, 13)]
    assert months == ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli",
                      "Agustus", "September", "Oktober", "November", "Desember"]


def test_naive_time_is_taken_as_utc_and_midnight_crosses_the_date() -> None:
    naive = datetime(2026, 12, 31, 17, 5)
    assert format_datetime(naive, ZoneInfo("Asia/Jakarta"), "id") == \
        "Jumat, 1 Januari 2027 pukul 00.05 WIB"
    assert format_date(naive, ZoneInfo("Asia/Jakarta"), "en") == "1 January 2027"
    assert format_short(naive, ZoneInfo("Asia/Jakarta"), "id") == "01-01-2027 00.05"
    assert format_short(naive, ZoneInfo("Asia/Jakarta"), "en") == "2027-01-01 00:05"


@pytest.mark.parametrize(("seconds", "lang", "expected"), [
    (0.4, "id", "kurang dari 1 detik"),
    (0.4, "en", "less than a second"),
    (1, "en", "1 second"),
    (125, "id", "2 menit 5 detik"),
    (125, "en", "2 minutes 5 seconds"),
    (3600, "en", "1 hour"),
    (3725, "id", "1 jam 2 menit 5 detik"),
    (90061, "en", "1 day 1 hour 1 minute"),
    (2 * 86400 + 7200, "id", "2 hari 2 jam"),
])
def test_durations(seconds: float, lang: str, expected: str) -> None:
    assert format_duration(timedelta(seconds=seconds), lang) == expected


def test_numbers_sizes_and_lists() -> None:
    assert number(1234567, "id") == "1.234.567"
    assert number(1234567, "en") == "1,234,567"
    assert size(1, "en") == "1 byte"
    assert size(123456, "id") == "123.456 bita"
    assert join(["a"], "id") == "a"
    assert join(["a", "b"], "id") == "a dan b"
    assert join(["a", "b", "c"], "en") == "a, b, and c"


def test_t_fills_placeholders_and_falls_back_to_english() -> None:
    assert t("activity.every", "id", every="15 menit") == "setiap 15 menit"
    assert t("role.kabag", "jv") == "Head of Department"
    with pytest.raises(KeyError):
        t("no.such.key", "id")


@pytest.fixture
def reason_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(texts.TEXTS, "reason.test_defacement",
                        {"id": "Berisi teks defacement: \"{detail}\"",
                         "en": "Contains defacement text: \"{detail}\""})
    monkeypatch.setitem(texts.TEXTS, "reason.test_broken", {"id": "Rusak {other}",
                                                            "en": "Broken {0}"})
    monkeypatch.setitem(texts.TEXTS, "reason.test_count", {"id": "{detail} berkas baru",
                                                           "en": "{detail} new files"})
    monkeypatch.setitem(texts.TEXTS, "reason.test_eval", {"id": "Memakai eval() ({detail})",
                                                          "en": "Uses eval() ({detail})"})


@pytest.mark.usefixtures("reason_rows")
def test_describe() -> None:
    assert describe(Reason("test_defacement", "Hacked by X"), "id") == \
        'Berisi teks defacement: "Hacked by X"'
    assert describe(Reason("test_defacement", "Hacked by X"), "en") == \
        'Contains defacement text: "Hacked by X"'
    # An empty detail leaves no dangling quotes or colon.
    assert describe(Reason("test_defacement"), "id") == "Berisi teks defacement"
    assert describe(Reason("test_count", "120"), "id") == "120 berkas baru"
    assert describe(Reason("test_eval"), "en") == "Uses eval()"
    assert describe(Reason("test_eval", "x"), "id") == "Memakai eval() (x)"
    long = describe(Reason("test_count", "x" * 500), "en")
    assert len(long) == len("x" * 200 + " new files") and "x…" in long


@pytest.mark.usefixtures("reason_rows")
def test_describe_never_crashes() -> None:
    assert describe(Reason("no_such_code", "some detail"), "id") == "no_such_code: some detail"
    assert describe(Reason("no_such_code"), "en") == "no_such_code"
    assert describe(Reason("test_broken", "x"), "id") == "test_broken: x"
    assert describe(Reason("test_broken", "x"), "en") == "test_broken: x"
    # Control bytes and undecodable bytes from a server never reach the report raw.
    hostile = describe(Reason("test_defacement", "a\nb\x1b[31m\udcff"), "en")
    assert hostile == 'Contains defacement text: "a\\x0ab\\x1b[31m\\xff"'
