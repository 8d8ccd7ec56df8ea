"""Filters applied inside retrieval: a filtered question gets k hits whenever k qualifying
passages exist, however many better matches the filter leaves out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from index.build import build_index
from index.models import Article, Mode, ParsedArticle, SearchFilters, Sort
from index.query.searcher import Searcher, SearchTuning
from index.text.passages import PassagePlan
from tests.unit.conftest import HashEmbedder

QUESTION = "When will the harbour wall repairs finish?"
# More better-matching articles than the searcher takes candidates from each side (50).
CROWD = 80
NUMBERS = ["one", "two", "three", "four", "five", "six"]


def parsed(article_id: str, text: str, date: str | None, source: str) -> ParsedArticle:
    article = Article(id=article_id, title=article_id, text=text, date=date, source=source)
    return ParsedArticle(article, (), "test")


@pytest.fixture
def searcher(tmp_path: Path, hash_embedder: HashEmbedder) -> Searcher:
    articles = [
        parsed(
            f"crowd-{i}",
            f"When will the harbour wall repairs finish? Crowd note {i}.",
            "2024-06-01",
            "Daily Tide",
        )
        for i in range(CROWD)
    ]
    # Four weaker matches from another outlet, a day apart, one undated.
    for day, word in zip((3, 5, 4, None), NUMBERS, strict=False):
        articles.append(
            parsed(
                f"post-{word}",
                f"The harbour repairs are nearly done, engineers say in bulletin {word}.",
                f"2024-07-0{day}" if day else None,
                "The Harbour Post",
            )
        )
    data_dir = tmp_path / "data"
    build_index(data_dir, articles, hash_embedder, PassagePlan(max_sentences=2))
    return Searcher.open(data_dir, hash_embedder, SearchTuning(min_score=0.0))


def ids(searcher: Searcher, k: int, filters: SearchFilters, mode: Mode = Mode.HYBRID) -> list[str]:
    result = searcher.search(QUESTION, k, mode=mode, filters=filters)
    return [h.article.id for h in result.hits]


@pytest.mark.parametrize("mode", list(Mode))
def test_outlet_filter_returns_k_hits_past_a_crowd_of_better_matches(
    searcher: Searcher, mode: Mode
) -> None:
    unfiltered = ids(searcher, 3, SearchFilters(), mode)
    assert all(i.startswith("crowd-") for i in unfiltered)
    filtered = ids(searcher, 3, SearchFilters(outlets=("the harbour POST",)), mode)
    assert len(filtered) == 3
    assert all(i.startswith("post-") for i in filtered)


def test_window_and_as_of(searcher: Searcher) -> None:
    july = SearchFilters(since=datetime(2024, 7, 4, tzinfo=UTC))
    assert sorted(ids(searcher, 5, july)) == ["post-three", "post-two"]
    before = SearchFilters(until=datetime(2024, 7, 4, tzinfo=UTC), outlets=("The Harbour Post",))
    found = ids(searcher, 5, before)
    assert found == ["post-one"]
    as_of = SearchFilters(as_of=datetime(2024, 6, 2, tzinfo=UTC), outlets=("The Harbour Post",))
    # Undated articles are not known to be later: as_of alone keeps them.
    assert ids(searcher, 5, as_of) == ["post-four"]


def test_newest_orders_the_matched_hits_by_date_undated_last(searcher: Searcher) -> None:
    newest = SearchFilters(outlets=("The Harbour Post",), sort=Sort.NEWEST)
    assert ids(searcher, 4, newest) == ["post-two", "post-three", "post-one", "post-four"]


def test_outlets_for_autocomplete(searcher: Searcher) -> None:
    assert searcher.outlets() == ["Daily Tide", "The Harbour Post"]
    assert searcher.outlets({"elsewhere"}) == []


def test_time_words_prefer_their_period_and_as_of_hides_the_later(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    # Weekly editions of one story; the words that differ do not appear in the question.
    editions = {
        "2024-07-01": "The harbour council approved the repair budget of five million euros.",
        "2024-07-08": "The harbour council approved the repair budget of six million euros now.",
        "2024-07-15": "The harbour council approved the repair budget of seven million euros too.",
    }
    articles = [parsed(d, text, d, "Port News") for d, text in editions.items()]
    data_dir = tmp_path / "data"
    build_index(data_dir, articles, hash_embedder, PassagePlan(max_sentences=2))
    searcher = Searcher.open(data_dir, hash_embedder, SearchTuning(min_score=0.0))
    question = "What repair budget did the harbour council approve this week?"

    def ranked(as_of: datetime) -> list[str]:
        result = searcher.search(question, 3, filters=SearchFilters(as_of=as_of))
        return [h.article.id for h in result.hits]

    assert ranked(datetime(2024, 7, 10, tzinfo=UTC)) == ["2024-07-08", "2024-07-01"]
    # Without the boost the closest wording wins, whatever the week.
    searcher.tuning = SearchTuning(min_score=0.0, time_boost=0.0)
    assert ranked(datetime(2024, 7, 10, tzinfo=UTC)) == ["2024-07-01", "2024-07-08"]
    searcher.tuning = SearchTuning(min_score=0.0)
    assert ranked(datetime(2024, 7, 3, tzinfo=UTC)) == ["2024-07-01"]
    assert ranked(datetime(2024, 7, 16, tzinfo=UTC))[0] == "2024-07-15"
