"""No question breaks a search: any string gets a typed `SearchResult`, never an exception."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from index.build import build_index
from index.models import Article, Mode, ParsedArticle, SearchResult
from index.query.searcher import Searcher, SearchTuning
from index.text.passages import PassagePlan
from tests.unit.conftest import HashEmbedder

LIMIT = 300

hostile = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=300),
    st.text(st.sampled_from("\x00\ud800\udfff\u202e\u200d\ufeff \n🚀é中אa?"), max_size=200),
    st.lists(st.sampled_from(["the", "of", "who", "what", "is", "and", "a"]), max_size=30).map(
        " ".join
    ),
)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Searcher]:
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    text = (
        "The harbour reopened on Tuesday after a week of repairs. Fishermen said the new wall "
        "held during the spring tides. The port authority expects traffic to double."
    )
    article = ParsedArticle(Article(id="harbour", title="Harbour reopens", text=text), (), "t")
    embedder = HashEmbedder()
    build_index(data_dir, [article], embedder, PassagePlan(max_sentences=2))
    opened = Searcher.open(data_dir, embedder, SearchTuning(max_question_chars=LIMIT))
    yield opened
    opened.close()


def assert_typed(result: SearchResult) -> None:
    assert isinstance(result, SearchResult)
    assert len(result.question) <= LIMIT
    result.question.encode("utf-8")
    if not result.matched:
        assert result.hits == ()


@settings(max_examples=200, deadline=None)
@given(hostile, st.sampled_from(list(Mode)), st.booleans())
@example("", Mode.HYBRID, True)
@example("\x00", Mode.HYBRID, True)
@example("\ud800 harbour \udfff", Mode.HYBRID, True)
@example("who is the and of what", Mode.HYBRID, False)
@example("\u202eruobrah eht\u202c 🚀🚀", Mode.LEXICAL, True)
def test_any_string_gets_a_typed_result(
    searcher: Searcher, question: str, mode: Mode, threshold: bool
) -> None:
    assert_typed(searcher.search(question, 3, mode=mode, apply_threshold=threshold))


def test_a_lone_surrogate_beside_real_words_still_finds_them(searcher: Searcher) -> None:
    result = searcher.search("harbour\ud800 reopened\x00 Tuesday", 3, apply_threshold=False)
    assert result.hits and result.hits[0].article.id == "harbour"


def test_a_100k_question_is_cut_to_the_limit(searcher: Searcher) -> None:
    result = searcher.search("harbour repairs " * 6_250, 3, apply_threshold=False)
    assert len("harbour repairs " * 6_250) == 100_000
    assert len(result.question) == LIMIT
    assert result.hits[0].article.id == "harbour"


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\x02", "the of and is", "?!…"])
def test_nothing_to_search_for_is_no_match(searcher: Searcher, question: str) -> None:
    result = searcher.search(question, 3)
    assert_typed(result)
    assert not result.matched
