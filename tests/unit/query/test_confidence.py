"""The confidence that a passage answers: word overlap with the question, and its bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.models import Span
from index.query.confidence import Overlap, confidence, overlap
from index.query.passage_text import PassageText
from index.query.tuning import ConfidenceWeights
from index.store.lexical import query_terms

TEXT = "The harbour reopened on Tuesday. Fishermen said the wall held. Traffic will double."
SENTENCES = (Span(0, 32), Span(33, 62), Span(63, 84))


def _passage(sentences: tuple[Span, ...] = SENTENCES, title: str = "Port news") -> PassageText:
    return PassageText(0, title, TEXT, Span(0, len(TEXT)), sentences)


def test_overlap_is_measured_over_the_passage_and_its_best_sentence() -> None:
    terms = query_terms("When did the harbour wall reopen?").informativeness
    found = overlap(terms, _passage())
    # Every word is in the passage, but never all in one sentence.
    assert found.passage == pytest.approx(1.0)
    assert 0.0 < found.sentence < 1.0


def test_the_title_counts_for_the_passage_and_every_sentence() -> None:
    terms = query_terms("port traffic").informativeness
    found = overlap(terms, _passage())
    assert found.passage == pytest.approx(1.0)
    assert found.sentence == pytest.approx(1.0)


def test_a_passage_without_sentences_has_no_sentence_overlap() -> None:
    terms = query_terms("harbour").informativeness
    assert overlap(terms, _passage(sentences=())).sentence == 0.0


def test_the_weights_mix_the_three_measures() -> None:
    weights = ConfidenceWeights()
    assert weights.dense + weights.passage + weights.sentence == 1.0
    assert confidence(0.8, Overlap(0.4, 0.2), weights) == pytest.approx(0.5 * 0.8 + 0.1 + 0.05)
    assert confidence(0.8, Overlap(0.0, 0.0), ConfidenceWeights(1.0, 0.0, 0.0)) == 0.8


_words = st.sampled_from(["harbour", "wall", "the", "Kirby", "said", "tides", "what", "9"])


@given(
    st.lists(_words, max_size=8).map(" ".join),
    st.lists(_words, max_size=20).map(" ".join),
    st.floats(0.0, 1.0),
)
def test_confidence_stays_within_zero_and_one(question: str, text: str, dense: float) -> None:
    sentences = (Span(0, len(text) // 2), Span(len(text) // 2, len(text)))
    found = overlap(
        query_terms(question).informativeness,
        PassageText(0, "", text, Span(0, len(text)), sentences),
    )
    assert 0.0 <= found.passage <= 1.0 and 0.0 <= found.sentence <= 1.0
    assert 0.0 <= confidence(dense, found, ConfidenceWeights()) <= 1.0 + 1e-12
