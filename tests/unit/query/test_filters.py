"""The pure filter functions: which articles a window, outlets and `as_of` allow."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from index.models import ArticleRef, SearchFilters
from index.query.filters import (
    ArticleFacts,
    allowed_articles,
    article_moment,
    newest_first,
    outlet_names,
)


def ref(i: str, date: str | None, source: str | None, collection: str = "shared") -> ArticleRef:
    return ArticleRef(i, i, date, source, None, collection)


REFS = [
    ref("day", "2024-07-21", "The Harbour Post"),
    ref("timed", "2024-07-22T10:30:00+02:00", "Daily Tide"),
    ref("undated", None, "the harbour post"),
    ref("naive", "2024-07-20T23:00:00", None, "guild:1"),
]
FACTS = ArticleFacts.of(REFS)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def names(mask: object) -> list[str]:
    assert mask is not None
    return [r.id for r, keep in zip(REFS, mask, strict=True) if keep]  # type: ignore[call-overload]


def test_moment_of_stored_dates() -> None:
    assert article_moment("2024-07-21") == (at(2024, 7, 21), False)
    assert article_moment("2024-07-20T23:00:00") == (at(2024, 7, 20, 23), True)
    assert article_moment("June 2024") is None
    assert article_moment(None) is None


def test_nothing_restrictive_allows_everything() -> None:
    assert allowed_articles(FACTS, None, None) is None
    assert allowed_articles(FACTS, None, SearchFilters()) is None
    assert names(allowed_articles(FACTS, {"guild:1"}, None)) == ["naive"]


def test_window_overlaps_a_whole_day_and_drops_the_undated() -> None:
    # since is inclusive: a day-dated article is in from any moment of its day.
    since = SearchFilters(since=at(2024, 7, 21, 18))
    assert names(allowed_articles(FACTS, None, since)) == ["day", "timed"]
    # until is exclusive: the 22nd 08:30 UTC (10:30+02:00) is not before itself.
    until = SearchFilters(until=at(2024, 7, 22, 8, 30))
    assert names(allowed_articles(FACTS, None, until)) == ["day", "naive"]
    assert names(allowed_articles(FACTS, None, SearchFilters(until=at(2024, 7, 21)))) == ["naive"]


def test_as_of_excludes_only_what_came_after() -> None:
    mask = allowed_articles(FACTS, None, SearchFilters(as_of=at(2024, 7, 21, 12)))
    assert names(mask) == ["day", "undated", "naive"]


def test_outlets_match_in_any_case_and_spacing() -> None:
    mask = allowed_articles(FACTS, None, SearchFilters(outlets=("the  HARBOUR post",)))
    assert names(mask) == ["day", "undated"]
    both = allowed_articles(FACTS, {"shared"}, SearchFilters(outlets=("daily tide", "x")))
    assert names(both) == ["timed"]


def test_outlet_names_once_per_outlet_within_scope() -> None:
    assert outlet_names(REFS, None) == ["Daily Tide", "The Harbour Post"]
    assert outlet_names(REFS, allowed_articles(FACTS, {"guild:1"}, None)) == []


def test_newest_first_puts_undated_last() -> None:
    assert newest_first([1.0, math.nan, 3.0, 2.0, math.nan]) == [2, 3, 0, 1, 4]
