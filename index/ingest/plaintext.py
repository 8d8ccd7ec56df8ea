"""Metadata at the head of plain-text articles: a date line, a title, a reading-time line.

News text pasted or exported to .txt usually starts like:

    June 28, 2021
    U.S. strikes ... after drone attacks
    2 min read

Those lines become the article's date and title and are excluded from passages by span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from index.ingest.dates import normalise_date, parse_datetime
from index.models import Span

_READ_TIME_RE = re.compile(r"^\s*\d+\s*(?:min(?:ute)?s?|m)\.?\s+read\s*$", re.IGNORECASE)
_MAX_TITLE_CHARS = 250


@dataclass(frozen=True, slots=True)
class Head:
    title: str | None
    date: str | None
    excluded: tuple[Span, ...]
    body_start: int


def parse_date(line: str) -> date | None:
    """A whole line that is a date, in the forms news sites print; None otherwise."""
    parsed = parse_datetime(line)
    return parsed.date() if parsed is not None else None


def _lines(text: str, limit: int) -> list[tuple[int, int, str]]:
    out = []
    for m in re.finditer(r"[^\n]*", text):
        if m.group().strip():
            out.append((m.start(), m.end(), m.group()))
        if len(out) >= limit:
            break
    return out


def parse_head(text: str) -> Head:
    """Recognise the date, title and reading-time lines among the first lines of `text`."""
    found_date: str | None = None
    title: str | None = None
    excluded: list[Span] = []
    body_start = 0
    for start, end, line in _lines(text, 4):
        parsed = normalise_date(line)
        if parsed is not None and found_date is None:
            found_date = parsed
        elif _READ_TIME_RE.match(line):
            pass
        elif title is None and len(line.strip()) <= _MAX_TITLE_CHARS and not _is_prose(line):
            title = line.strip()
        else:
            break
        excluded.append(Span(start, end))
        body_start = end
    if title is not None and not text[body_start:].strip():
        # Nothing follows the "title": that line is the whole article, not its heading.
        title = None
    if title is None:
        # No heading line: the article opens with prose; nothing of it is metadata but the date.
        excluded = [s for s in excluded if parse_date(text[s.start : s.end]) is not None]
        body_start = excluded[-1].end if excluded else 0
    return Head(title=title, date=found_date, excluded=tuple(excluded), body_start=body_start)


_ABBREVIATION_END_RE = re.compile(
    r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:Inc|Co|Corp|Ltd|Jr|Sr|St|Dr|Mr|Mrs|Ms|No|vs)\.)$"
)


def _is_prose(line: str) -> bool:
    """A line that reads as body text: several sentences, or one ending in a full stop.

    Headlines carry no full stop, so even a short opening sentence like "The council met
    on Tuesday." is body text; a trailing abbreviation ("... in the U.S.") is not a full stop.
    """
    stripped = line.strip()
    sentences = re.findall(r"[.!?][\"')\]]?(?:\s|$)", stripped)
    if len(sentences) >= 2:
        return True
    return (
        stripped.endswith(".")
        and not stripped.endswith("..")
        and not _ABBREVIATION_END_RE.search(stripped)
    )
