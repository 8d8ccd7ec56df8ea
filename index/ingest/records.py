"""Article records as every reader makes them: fields normalised, text safe to store.

Text from files and JSON can hold lone surrogates (JSON "\\ud800" escapes, file names that are
not UTF-8); SQLite and UTF-8 output refuse them. Each becomes U+FFFD, one code point for one,
so offsets computed before or after stay exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from index.ingest import dates
from index.ingest.cleanup import boilerplate_spans
from index.models import Article, ParsedArticle, SourceProblem, Span

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD; the length is unchanged."""
    if text.isascii():
        return text
    return _SURROGATE_RE.sub("\ufffd", text)


def problem(origin: str, reason: str) -> SourceProblem:
    return SourceProblem(valid_unicode(origin), valid_unicode(reason))


def with_cleanup(
    article: Article, excluded: Iterable[Span], body_start: int, origin: str
) -> ParsedArticle:
    """The article, made safe to store, with its metadata and boilerplate spans excluded."""
    safe = Article(
        id=valid_unicode(article.id),
        title=valid_unicode(article.title),
        text=valid_unicode(article.text),
        date=_valid_or_none(article.date),
        source=_valid_or_none(article.source),
        url=_valid_or_none(article.url),
        collection=article.collection,
    )
    spans = [*excluded, *boilerplate_spans(safe.text, body_start)]
    return ParsedArticle(
        article=safe,
        excluded=tuple(sorted(spans, key=lambda s: s.start)),
        origin=valid_unicode(origin),
    )


def _valid_or_none(value: str | None) -> str | None:
    return None if value is None else valid_unicode(value)


def scalar_text(value: Any) -> str | None:
    """A metadata value as text when it is a string or a number; None for anything else
    (a nested list as a "title" would print as itself, and could be nested deep enough to
    overflow the stack while printing)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text or None


def normalise_date(value: Any) -> str | None:
    """ISO 8601 when the value is recognisably a date (index.ingest.dates); None otherwise."""
    text = scalar_text(value) if isinstance(value, str) else value
    return dates.normalise_date(text) if text is not None else None


def fallback_title(article_id: str) -> str:
    stem = (
        Path(article_id.split("#")[0]).stem
        if "/" in article_id or "." in article_id
        else article_id
    )
    return stem.replace("_", " ").replace("-", " ").strip() or article_id
