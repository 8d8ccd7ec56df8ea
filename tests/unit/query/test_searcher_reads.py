"""A search analyses its question once and reads each hit's article from SQLite once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import index.query.analysis
import index.query.features
import index.query.searcher
import index.store.lexical
import index.store.segments
from index.models import BuildReport, SearchFilters, Sort, Span
from index.query.searcher import Searcher, SearchTuning
from index.store.database import Store
from index.store.lexical import LexicalIndex, QueryTerms, query_terms
from tests.unit.conftest import HashEmbedder

QUESTION = "When did the harbour reopen after the repairs?"


class CountingStore(Store):
    """The real store, counting the reads a search makes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.texts: Counter[int] = Counter()
        self.sentences: Counter[int] = Counter()

    def article_text(self, article_row: int) -> str:
        self.texts[article_row] += 1
        return super().article_text(article_row)

    def passage_sentences(self, row: int) -> tuple[Span, ...]:
        self.sentences[row] += 1
        return super().passage_sentences(row)


class RecordingLexical(LexicalIndex):
    """The real BM25 index, keeping the analysed terms it is asked about."""

    seen: list[QueryTerms]

    def scores(self, terms: QueryTerms) -> np.ndarray:
        self.seen.append(terms)
        return super().scores(terms)

    def term_weights(self, terms: QueryTerms) -> dict[str, float]:
        self.seen.append(terms)
        return super().term_weights(terms)


@pytest.fixture
def searcher(
    built_index: tuple[Path, BuildReport],
    hash_embedder: HashEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> Searcher:
    monkeypatch.setattr(index.store.segments, "Store", CountingStore)
    monkeypatch.setattr(index.store.segments, "LexicalIndex", RecordingLexical)
    RecordingLexical.seen = []
    return Searcher.open(built_index[0], hash_embedder, SearchTuning(min_score=0.0))


def test_the_question_is_tokenised_once_and_its_terms_passed_to_every_step(
    searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysed: list[QueryTerms] = []
    tokenised: list[str] = []

    def counted_query_terms(text: str) -> QueryTerms:
        analysed.append(query_terms(text))
        return analysed[-1]

    real_tokenize = index.store.lexical.tokenize

    def recorded_tokenize(text: str) -> list[str]:
        tokenised.append(text)
        return real_tokenize(text)

    monkeypatch.setattr(index.store.lexical, "tokenize", recorded_tokenize)
    # The learned ranker's features tokenise passages and sentences themselves.
    monkeypatch.setattr(index.query.features, "tokenize", recorded_tokenize)
    monkeypatch.setattr(index.query.analysis, "query_terms", counted_query_terms)

    result = searcher.search(QUESTION, 3)

    assert result.matched and result.hits
    assert len(analysed) == 1
    # BM25 and the quote weights read the one analysis; only passages and sentences are
    # tokenised later (for the overlap measures), never the question again.
    assert len(RecordingLexical.seen) == 2
    assert all(terms is analysed[0] for terms in RecordingLexical.seen)
    assert tokenised and QUESTION not in tokenised


@pytest.mark.parametrize("sort", [Sort.RELEVANCE, Sort.NEWEST])
def test_each_hit_is_read_from_sqlite_once(searcher: Searcher, sort: Sort) -> None:
    (part,) = searcher._store._parts
    store = part.store
    assert isinstance(store, CountingStore)
    result = searcher.search(QUESTION, 3, filters=SearchFilters(sort=sort))
    assert result.matched and len(result.hits) >= 2
    assert store.texts and max(store.texts.values()) == 1
    assert store.sentences and max(store.sentences.values()) == 1
