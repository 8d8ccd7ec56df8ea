"""The quote of a hit: the sentence with most of the question's term weight."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from index.models import Span
from index.query.features import SENTENCE_FEATURE_NAMES, AnswerType
from index.query.learned import LinearModel
from index.query.passage_text import PassageText
from index.query.quotes import LearnedQuotes, best_sentence, pick_quotes
from index.store.lexical import term_overlap

TERMS = {"harbour": 2.0, "reopen": 1.0, "wall": 1.0}
TEXT = "The harbour reopened. The wall held. A harbour wall. Nothing here."
SENTENCES = (Span(0, 21), Span(22, 36), Span(37, 52), Span(53, 66))


def _texts(sentences: tuple[Span, ...] = SENTENCES) -> list[str]:
    return [TEXT[s.start : s.end] for s in sentences]


def test_the_sentence_with_most_term_weight_is_quoted() -> None:
    assert best_sentence(SENTENCES, _texts(), TERMS) == SENTENCES[0]


def test_ties_go_to_the_earlier_sentence() -> None:
    assert best_sentence(SENTENCES, _texts(), {"harbour": 1.0}) == SENTENCES[0]


def test_a_quoted_sentence_is_passed_over_while_another_is_left() -> None:
    assert best_sentence(SENTENCES, _texts(), TERMS, {SENTENCES[0]}) == SENTENCES[2]
    assert best_sentence(SENTENCES[:1], _texts()[:1], TERMS, {SENTENCES[0]}) == SENTENCES[0]


_words = st.sampled_from(["harbour", "reopened", "wall", "held", "the", "tides", "nothing"])


@given(
    st.lists(st.lists(_words, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=6),
    st.sets(st.integers(0, 5)),
)
def test_the_quote_has_the_most_overlap_among_the_sentences_it_may_take(
    texts: list[str], quoted: set[int]
) -> None:
    spans, at = [], 0
    for text in texts:
        spans.append(Span(at, at + len(text)))
        at += len(text) + 1
    already = {spans[i] for i in quoted if i < len(spans)}
    chosen = best_sentence(spans, texts, TERMS, already)
    allowed = [i for i, s in enumerate(spans) if s not in already] or list(range(len(spans)))
    best = max(term_overlap(TERMS, texts[i]) for i in allowed)
    assert spans.index(chosen) in allowed
    assert term_overlap(TERMS, texts[spans.index(chosen)]) == best


def test_hits_of_one_article_quote_different_sentences_other_articles_do_not_care() -> None:
    whole = Span(0, len(TEXT))
    first = PassageText(1, "", TEXT, whole, SENTENCES)
    again = PassageText(1, "", TEXT, whole, SENTENCES)
    other = PassageText(2, "", TEXT, whole, SENTENCES)
    assert pick_quotes([first, again, other], TERMS) == [SENTENCES[0], SENTENCES[2], SENTENCES[0]]


def test_the_learned_quote_model_can_prefer_the_sentence_holding_the_asked_type() -> None:
    text = "The harbour wall was built. The harbour opened in 1921."
    sentences = (Span(0, 27), Span(28, 55))
    texts = [text[s.start : s.end] for s in sentences]
    terms = {"harbour": 1.0, "wall": 1.0}
    assert best_sentence(sentences, texts, terms) == sentences[0]
    holds_type = SENTENCE_FEATURE_NAMES.index("holds_type")
    n = len(SENTENCE_FEATURE_NAMES)
    model = LinearModel(np.zeros(n), np.ones(n), np.eye(n)[holds_type], 0.0)
    chooser = LearnedQuotes(model, terms, AnswerType.DATE)
    assert best_sentence(sentences, texts, terms, (), chooser) == sentences[1]
    # A question asking for nothing particular leaves the type out of the choice.
    other = LearnedQuotes(model, terms, AnswerType.OTHER)
    assert best_sentence(sentences, texts, terms, (), other) == sentences[0]
