"""Time words in questions: the period they name and the question left for matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from index.query.timewords import read_time_words
from index.query.when import Window

NOW = datetime(2024, 7, 24, 15, 30, tzinfo=UTC)


def day(m: int, d: int) -> datetime:
    return datetime(2024, m, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("question", "window", "topic"),
    [
        (
            "What did the council decide this week?",
            Window(day(7, 22), day(7, 29)),
            "What did the council decide?",
        ),
        ("Who resigned yesterday", Window(day(7, 23), day(7, 24)), "Who resigned"),
        (
            "Which ferry was cancelled TODAY?",
            Window(day(7, 24), day(7, 25)),
            "Which ferry was cancelled?",
        ),
        (
            "What happened last month in the port?",
            Window(day(6, 1), day(7, 1)),
            "What happened in the port?",
        ),
        (
            "What did the mayor say recently?",
            Window(NOW - timedelta(days=14), NOW),
            "What did the mayor say?",
        ),
        (
            "How much was spent this year?",
            Window(day(1, 1), datetime(2025, 1, 1, tzinfo=UTC)),
            "How much was spent?",
        ),
        (
            "What changed over the past week?",
            Window(NOW - timedelta(weeks=1), NOW),
            "What changed over the?",
        ),
    ],
)
def test_time_words_name_a_period_and_leave_the_topic(
    question: str, window: Window, topic: str
) -> None:
    found = read_time_words(question, NOW)
    assert found.window == window
    assert found.topic == topic


def test_questions_without_time_words_are_unchanged() -> None:
    question = "Who won the Player of the Year award?"
    assert read_time_words(question, NOW).window is None
    assert read_time_words(question, NOW).topic == question
    # Nothing but time words: the question is matched as it is.
    assert read_time_words("today?", NOW).topic == "today?"
