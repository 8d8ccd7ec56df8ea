"""Time phrases for since/until/as_of as typed windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from index.errors import InputError
from index.models import Sort
from index.query.when import Window, parse_when, search_filters

# A Wednesday afternoon.
NOW = datetime(2024, 7, 24, 15, 30, tzinfo=UTC)


def day(m: int, d: int, y: int = 2024) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("today", day(7, 24), day(7, 25)),
        ("Yesterday", day(7, 23), day(7, 24)),
        ("this week", day(7, 22), day(7, 29)),
        ("last week", day(7, 15), day(7, 22)),
        ("this month", day(7, 1), day(8, 1)),
        ("last month", day(6, 1), day(7, 1)),
        ("last year", day(1, 1, 2023), day(1, 1, 2024)),
        ("3 days ago", day(7, 21), day(7, 22)),
        ("two weeks ago", day(7, 10), day(7, 11)),
        ("last 7 days", NOW - timedelta(days=7), NOW),
        ("past 2 weeks", NOW - timedelta(weeks=2), NOW),
        ("2024-07-21", day(7, 21), day(7, 22)),
        ("July 21, 2024", day(7, 21), day(7, 22)),
        ("2024-07", day(7, 1), day(8, 1)),
        ("2024-12", day(12, 1), day(1, 1, 2025)),
        ("2023", day(1, 1, 2023), day(1, 1, 2024)),
    ],
)
def test_phrases_name_periods(phrase: str, start: datetime, end: datetime) -> None:
    assert parse_when(phrase, NOW) == Window(start, end)


def test_a_moment_with_its_zone() -> None:
    moment = datetime(2024, 7, 21, 18, 0, tzinfo=timezone(timedelta(hours=2)))
    assert parse_when("2024-07-21T18:00+02:00", NOW) == Window(moment, moment)


@pytest.mark.parametrize("bad", ["soon", "2024-13", "last fortnight", "June", "3 parsecs ago"])
def test_bad_values_name_the_accepted_forms(bad: str) -> None:
    with pytest.raises(InputError, match=r"ISO date .* yesterday, this week, last week"):
        parse_when(bad, NOW)


def test_filters_since_takes_the_start_and_until_the_end() -> None:
    filters = search_filters(since="last week", until="yesterday", outlets=[" BBC ", ""], now=NOW)
    assert (filters.since, filters.until) == (day(7, 15), day(7, 24))
    assert filters.outlets == ("BBC",)
    assert filters.sort is Sort.RELEVANCE and filters.as_of is None


def test_as_of_is_the_end_of_its_day_and_the_clock_for_phrases() -> None:
    filters = search_filters(since="yesterday", as_of="2024-03-05", sort="newest", now=NOW)
    assert filters.as_of == day(3, 6) - timedelta(microseconds=1)
    assert filters.since == day(3, 4)
    assert filters.sort is Sort.NEWEST


def test_inverted_window_and_bad_sort_are_refused() -> None:
    with pytest.raises(InputError, match="must come before"):
        search_filters(since="today", until="last week", now=NOW)
    with pytest.raises(InputError, match="relevance or newest"):
        search_filters(sort="oldest", now=NOW)
