"""Article dates normalised to ISO 8601 from the forms feeds, pages, front matter and date lines
carry."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from index.ingest.dates import normalise_date
from index.ingest.plaintext import parse_date, parse_head
from index.ingest.readers import article_from_record, parse_html, parse_markdown


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Feed dates (RSS's RFC 822, Atom's RFC 3339) keep their time and zone.
        ("Mon, 21 Jul 2024 10:30:00 +0200", "2024-07-21T10:30:00+02:00"),
        ("Sun, 21 Jul 2024 08:30:00 GMT", "2024-07-21T08:30:00+00:00"),
        ("2024-07-21T10:30:00Z", "2024-07-21T10:30:00+00:00"),
        ("2024-07-21T10:30:00.250-04:00", "2024-07-21T10:30:00-04:00"),
        ("Sunday, July 21, 2024 at 3:04 pm EDT", "2024-07-21T15:04:00-04:00"),
        # A time without a zone stays without one; a naive midnight is a day.
        ("2024-07-21 10:30", "2024-07-21T10:30:00"),
        ("2024-07-21T00:00:00", "2024-07-21"),
        # Days as news pages and text files print them.
        ("2024-07-21", "2024-07-21"),
        ("June 28, 2021", "2021-06-28"),
        ("Sept. 3rd, 2020", "2020-09-03"),
        ("21 July 2024", "2024-07-21"),
        ("07/21/2024", "2024-07-21"),
        ("Published: March 3, 2024", "2024-03-03"),
        ("Updated on 3 Mar 2024", "2024-03-03"),
    ],
)
def test_strings_become_iso_8601(value: str, expected: str) -> None:
    assert normalise_date(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "hello world", "2 min read", "2024", "June 2024", "3 Mar", "12 34", "The year 2024", None],
)
def test_what_is_not_a_whole_day_is_no_date(value: str | None) -> None:
    assert normalise_date(value) is None


def test_typed_values_from_feeds_and_yaml() -> None:
    assert normalise_date(date(2024, 7, 21)) == "2024-07-21"
    assert normalise_date(datetime(2024, 7, 21, 8, 30, tzinfo=UTC)) == "2024-07-21T08:30:00+00:00"
    plus2 = timezone(timedelta(hours=2))
    assert normalise_date(datetime(2024, 7, 21, 10, 30, tzinfo=plus2)) == (
        "2024-07-21T10:30:00+02:00"
    )
    # feedparser's *_parsed fields are UTC struct_times.
    parsed = time.strptime("2024-07-21 08:30:00", "%Y-%m-%d %H:%M:%S")
    assert normalise_date(parsed) == "2024-07-21T08:30:00+00:00"


def test_plain_text_date_line() -> None:
    assert parse_date("Posted on June 3rd, 2024") == date(2024, 6, 3)
    assert parse_date("Harbour reopens after repairs") is None
    head = parse_head("Mon, 21 Jul 2024 10:30:00 +0200\nHarbour reopens\n\nThe harbour reopened.\n")
    assert (head.date, head.title) == ("2024-07-21T10:30:00+02:00", "Harbour reopens")


def test_readers_normalise_json_front_matter_and_html_dates() -> None:
    record = {"text": "The harbour reopened.", "date": "Mon, 21 Jul 2024 10:30:00 +0200"}
    assert article_from_record(record, "a", "t", "shared").article.date == (
        "2024-07-21T10:30:00+02:00"
    )
    unreadable = {"text": "The harbour reopened.", "date": "sometime in spring"}
    assert article_from_record(unreadable, "a", "t", "shared").article.date is None
    md = "---\ndate: 2024-07-21 10:30:00\n---\nThe harbour reopened.\n"
    assert parse_markdown(md, "a", "t", "shared").article.date == "2024-07-21T10:30:00"
    body = "<p>" + "The harbour reopened on Tuesday after a week of repairs. " * 8 + "</p>"
    page = (
        '<html><head><meta property="article:published_time" '
        f'content="2024-07-21T10:30:00+02:00"></head><body><article>{body}</article></body></html>'
    )
    assert parse_html(page, "a", "t", "shared").article.date == "2024-07-21T10:30:00+02:00"
    day_only = page.replace("2024-07-21T10:30:00+02:00", "2024-07-21")
    assert parse_html(day_only, "a", "t", "shared").article.date == "2024-07-21"
