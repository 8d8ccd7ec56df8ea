"""Pick the quote inside a passage: the sentence that best answers the question.

With the fused ranking a sentence scores the share of the question's BM25-weighted terms it
contains. Scoring sentences with the embedding model as well was measured (`articlebot eval`,
quote@1 0.692 against 0.691 with terms alone) and tripled query time, so terms alone decide.
With the learned ranker, the quote model of `python -m bench.train_ranker` scores each
sentence from `features.sentence_features`: those terms, and whether the sentence holds the
kind of thing the question asks for (a date for "when", a number for "how many").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.models import Span
from index.query.features import AnswerType, sentence_features
from index.query.passage_text import PassageText
from index.store.lexical import term_overlap


class ScoresRows(Protocol):
    def logits(self, features: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class LearnedQuotes:
    """The quote model with what it reads about the question."""

    model: ScoresRows
    # The question's terms weighted by informativeness.
    terms: Mapping[str, float]
    kind: AnswerType

    def scores(self, texts: Sequence[str], weights: Mapping[str, float]) -> list[float]:
        return self.model.logits(sentence_features(texts, weights, self.terms, self.kind)).tolist()


def best_sentence(
    sentences: Sequence[Span],
    texts: Sequence[str],
    question_terms: Mapping[str, float],
    already_quoted: Collection[Span] = (),
    learned: LearnedQuotes | None = None,
) -> Span:
    """The highest-scoring sentence, ties to the earlier one.

    Sentences another hit already quotes are passed over while any other is left, so two
    neighbouring windows of one article never show the same quote twice.
    """
    fresh = [i for i, s in enumerate(sentences) if s not in already_quoted]
    pool = fresh or list(range(len(sentences)))
    if learned is not None:
        scores = learned.scores(texts, question_terms)
    else:
        scores = [term_overlap(question_terms, t) for t in texts]
    best = max(pool, key=lambda i: (scores[i], -i))
    return sentences[best]


def pick_quotes(
    hits: Sequence[PassageText],
    question_terms: Mapping[str, float],
    learned: LearnedQuotes | None = None,
) -> list[Span]:
    """The quote of each hit, in order; a later hit of the same article quotes another
    sentence than the earlier ones while it has one."""
    quoted: dict[int, set[Span]] = {}
    quotes: list[Span] = []
    for hit in hits:
        taken = quoted.setdefault(hit.article, set())
        quote = best_sentence(
            hit.sentences,
            [hit.excerpt(s) for s in hit.sentences],
            question_terms,
            taken,
            learned,
        )
        taken.add(quote)
        quotes.append(quote)
    return quotes
