"""Dates shown relative and absolute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.dates_text import date_label

NOW = datetime(2024, 7, 24, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("iso", "label"),
    [
        ("2024-07-21", "3 days ago · 2024-07-21"),
        ("2024-07-24", "today · 2024-07-24"),
        ("2024-07-23", "yesterday · 2024-07-23"),
        ("2024-07-24T13:00:00+00:00", "2 hours ago · 2024-07-24"),
        ("2024-07-24T15:00:00Z", "30 minutes ago · 2024-07-24"),
        ("2024-07-24T10:00:00-04:00", "1 hour ago · 2024-07-24"),
        ("2024-06-20", "4 weeks ago · 2024-06-20"),
        ("2024-03-01", "4 months ago · 2024-03-01"),
        ("2021-06-28", "3 years ago · 2021-06-28"),
        ("2024-08-01", "upcoming · 2024-08-01"),
        ("June 2024", "June 2024"),
    ],
)
def test_relative_and_absolute(iso: str, label: str) -> None:
    assert date_label(iso, NOW) == label


def test_no_date() -> None:
    assert date_label(None, NOW) is None
    assert date_label(" ", NOW) is None
