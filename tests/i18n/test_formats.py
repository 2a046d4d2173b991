"""Dates and times as each language writes them (config/formats): English day first on the 24-hour
clock, Italian and French month names in lower case, and never an "a.m."/"p.m." whose full stop
doubles at the end of a sentence."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import formats, translation

PARIS = ZoneInfo("Europe/Paris")
EVENING = dt.datetime(2026, 4, 12, 22, 5, tzinfo=PARIS)
MORNING = dt.datetime(2026, 12, 4, 9, 30, tzinfo=PARIS)
NAMED_FORMATS = (
    "DATE_FORMAT",
    "DATETIME_FORMAT",
    "SHORT_DATE_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "TIME_FORMAT",
    "MONTH_DAY_FORMAT",
)


def shown(value, fmt, language):
    with translation.override(language):
        return formats.date_format(value, fmt)


@pytest.mark.parametrize(
    ("language", "fmt", "expected"),
    [
        ("en", "SHORT_DATETIME_FORMAT", "12 Apr 2026, 22:05"),
        ("en", "DATETIME_FORMAT", "12 April 2026, 22:05"),
        ("en", "DATE_FORMAT", "12 April 2026"),
        ("en", "TIME_FORMAT", "22:05"),
        ("fr", "SHORT_DATETIME_FORMAT", "12/04/2026 22:05"),
        ("fr", "DATETIME_FORMAT", "12 avril 2026 22:05"),
        ("it", "SHORT_DATETIME_FORMAT", "12/04/2026 22:05"),
        ("it", "DATETIME_FORMAT", "12 aprile 2026, 22:05"),
        ("it", "DATE_FORMAT", "12 aprile 2026"),
        ("it", "MONTH_DAY_FORMAT", "12 aprile"),
    ],
)
def test_named_formats(language, fmt, expected):
    assert shown(EVENING, fmt, language) == expected


@pytest.mark.parametrize("language", ["en", "fr", "it"])
@pytest.mark.parametrize("fmt", NAMED_FORMATS)
def test_no_format_writes_am_or_pm(language, fmt):
    for value in (MORNING, EVENING):
        text = shown(value, fmt, language)
        assert "a.m." not in text and "p.m." not in text and not text.endswith(".")


@pytest.mark.parametrize("language", ["fr", "it"])
def test_month_names_are_lower_case_inside_a_date(language):
    for month in range(1, 13):
        day = dt.date(2026, month, 4)
        for fmt in ("F", "E", "DATE_FORMAT", "l j F Y"):
            text = shown(day, fmt, language)
            assert text == text.lower(), f"{language} {fmt}: {text}"


def test_the_templates_long_dates_in_italian():
    with translation.override("it"):
        text = Template('{{ when|date:"l j F Y" }}, {{ when|time:"H:i" }}').render(Context({"when": MORNING}))
    assert text == "venerdì 4 dicembre 2026, 09:30"
