"""Pick the quote inside a passage: the sentence that best answers the question.

A sentence scores the share of the question's BM25-weighted terms it contains. Scoring
sentences with the embedding model as well was measured (`articlebot eval`, quote@1 0.692
against 0.691 with terms alone) and tripled query time, so terms alone decide.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from index.models import Span
from index.store.lexical import term_overlap


def best_sentence(
    sentences: Sequence[Span],
    texts: Sequence[str],
    question_terms: dict[str, float],
    already_quoted: Collection[Span] = (),
) -> Span:
    """The highest-scoring sentence, ties to the earlier one.

    Sentences another hit already quotes are passed over while any other is left, so two
    neighbouring windows of one article never show the same quote twice.
    """
    fresh = [i for i, s in enumerate(sentences) if s not in already_quoted]
    pool = fresh or list(range(len(sentences)))
    best = max(pool, key=lambda i: (term_overlap(question_terms, texts[i]), -i))
    return sentences[best]
