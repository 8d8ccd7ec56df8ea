"""Time words in a question ("what did the council decide this week?"): the period they name,
and the question without them.

The period is relative to `now` (the clock, or the question's `as_of`), with the calendar
meanings of `when.py`; "recently" and "lately" are the last 14 days. The words are taken out of
the text that is matched: "week" or "yesterday" in a question says when, not what, and would
otherwise count as a term a passage has to contain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from index.query.when import Window, calendar_window

RECENT_DAYS = 14

_TIME_WORDS_RE = re.compile(
    r"\b(?:(today|tonight|this morning|this afternoon|this evening)"
    r"|(yesterday)"
    r"|(?:(this|last|past|previous) (week|month|year))"
    r"|(recently|lately|in recent days|these days))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TimeWords:
    """`window` is None when the question names no period; `topic` is the question without
    its time words (the question itself when nothing else is left)."""

    window: Window | None
    topic: str


def read_time_words(question: str, now: datetime) -> TimeWords:
    found = _TIME_WORDS_RE.search(question)
    if found is None:
        return TimeWords(None, question)
    today, yesterday, which, unit = found.groups()[:4]
    if today:
        window = calendar_window("day", 0, now)
    elif yesterday:
        window = calendar_window("day", 1, now)
    elif unit:
        back = 0 if which.lower() == "this" else 1
        if which.lower() == "past":
            # "the past week" is the last seven days, not the calendar week before this one.
            window = Window(now - calendar_span(unit), now)
        else:
            window = calendar_window(unit.lower(), back, now)
    else:
        window = Window(now - timedelta(days=RECENT_DAYS), now)
    topic = re.sub(r"\s+([?.!,;:])", r"\1", " ".join(_TIME_WORDS_RE.sub(" ", question).split()))
    return TimeWords(window, topic if re.search(r"\w", topic) else question)


def calendar_span(unit: str) -> timedelta:
    return {"week": timedelta(weeks=1), "month": timedelta(days=30)}.get(
        unit.lower(), timedelta(days=365)
    )
