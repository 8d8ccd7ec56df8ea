"""Plain time phrases as windows: what `since`, `until` and `as_of` accept.

A phrase names a period, `[start, end)`: "2024-07-21" the day, "2024-07" the month, "yesterday"
the day before `now`, "last week" the calendar week (Monday to Monday) before this one, "3 days
ago" that day, "last 7 days" the seven days up to `now`. `since` takes a period's start and
`until` its end, so "until yesterday" includes yesterday. Days are UTC days.

ISO 8601 and other absolute dates are read by python-dateutil (through `parse_datetime`); only
the relative phrases, a closed vocabulary, are matched here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta

from index.errors import InputError
from index.ingest.dates import has_time, parse_datetime
from index.models import SearchFilters, Sort

ACCEPTED_FORMS = (
    "an ISO date (2024-07-21, or 2024-07-21T18:00+02:00), a month (2024-07), a year (2024), "
    "or a phrase: today, yesterday, this week, last week, this month, last month, this year, "
    "last year, 3 days ago, 2 weeks ago, last 7 days, past 2 weeks"
)

_UNITS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_AGO_RE = re.compile(r"^(\d+|an?|one|two|three|four|five|six) (day|week|month|year)s? ago$")
_PAST_RE = re.compile(r"^(?:last|past) (\d+|two|three|four|five|six) (day|week|month|year)s?$")
_CALENDAR_RE = re.compile(r"^(this|last|past|previous) (week|month|year)$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR_RE = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, slots=True)
class Window:
    """A period `[start, end)`; `start == end` for a moment. Both timezone-aware."""

    start: datetime
    end: datetime


def day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def parse_when(text: str, now: datetime) -> Window:
    """The period `text` names, relative to `now` (aware); `InputError` naming the accepted
    forms when it names none."""
    phrase = " ".join(text.lower().split())
    window = _relative(phrase, now) or _absolute(phrase)
    if window is None:
        raise InputError(f"Cannot read “{text.strip()[:60]}” as a date. Use {ACCEPTED_FORMS}.")
    return window


def calendar_window(unit: str, back: int, now: datetime) -> Window:
    """The calendar `unit` (day, week, month, year) `back` periods before the one `now` is in."""
    today = day_start(now)
    if unit == "day":
        start = today - timedelta(days=back)
        return Window(start, start + timedelta(days=1))
    if unit == "week":
        start = today - timedelta(days=today.weekday(), weeks=back)
        return Window(start, start + timedelta(weeks=1))
    if unit == "month":
        start = today.replace(day=1) - relativedelta(months=back)
        return Window(start, start + relativedelta(months=1))
    start = today.replace(month=1, day=1) - relativedelta(years=back)
    return Window(start, start + relativedelta(years=1))


def _relative(phrase: str, now: datetime) -> Window | None:
    if phrase in ("today", "now"):
        return calendar_window("day", 0, now)
    if phrase == "yesterday":
        return calendar_window("day", 1, now)
    calendar = _CALENDAR_RE.match(phrase)
    if calendar:
        return calendar_window(calendar.group(2), 0 if calendar.group(1) == "this" else 1, now)
    ago = _AGO_RE.match(phrase)
    if ago:
        start = day_start(now - relativedelta(**{_UNITS[ago.group(2)]: _count(ago.group(1))}))
        return Window(start, start + timedelta(days=1))
    past = _PAST_RE.match(phrase)
    if past:
        return Window(now - relativedelta(**{_UNITS[past.group(2)]: _count(past.group(1))}), now)
    return None


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _absolute(phrase: str) -> Window | None:
    month = _MONTH_RE.match(phrase)
    if month and 1 <= int(month.group(2)) <= 12:
        start = datetime(int(month.group(1)), int(month.group(2)), 1, tzinfo=UTC)
        return Window(start, start + relativedelta(months=1))
    year = _YEAR_RE.match(phrase)
    if year and int(year.group(1)) >= 1:
        start = datetime(int(year.group(1)), 1, 1, tzinfo=UTC)
        return Window(start, start + relativedelta(years=1))
    moment = parse_datetime(phrase)
    if moment is None:
        return None
    if has_time(phrase):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return Window(aware, aware)
    start = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return Window(start, start + timedelta(days=1))


def search_filters(
    since: str | None = None,
    until: str | None = None,
    outlets: Sequence[str] = (),
    sort: str | Sort = Sort.RELEVANCE,
    as_of: str | None = None,
    now: datetime | None = None,
) -> SearchFilters:
    """`SearchFilters` from what a user typed; relative phrases count from `as_of` when given
    (an archive asked as its readers asked it), else from `now` (the clock by default)."""
    clock = now or datetime.now(UTC)
    as_of_moment = None
    if as_of and as_of.strip():
        period = parse_when(as_of, clock)
        # "As of 2024-07-21" is the end of that day: everything published on it is known.
        as_of_moment = (
            period.end - timedelta(microseconds=1) if period.end > period.start else period.end
        )
        clock = as_of_moment
    start = parse_when(since, clock).start if since and since.strip() else None
    end = parse_when(until, clock).end if until and until.strip() else None
    if start is not None and end is not None and start >= end:
        raise InputError(f"“since” ({since}) must come before “until” ({until}).")
    try:
        order = sort if isinstance(sort, Sort) else Sort(sort.strip().lower())
    except ValueError:
        raise InputError(f"Sort by relevance or newest, not “{sort}”.") from None
    return SearchFilters(
        since=start,
        until=end,
        outlets=tuple(o.strip() for o in outlets if o.strip()),
        sort=order,
        as_of=as_of_moment,
    )
