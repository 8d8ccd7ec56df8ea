"""Pick the quote inside a passage: the sentence that best answers the question.

A sentence's score mixes its cosine similarity to the question with the share of the
question's (BM25-weighted) terms it contains: the dense side finds paraphrases, the lexical
side keeps the names and numbers a question asks about.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.lexical import term_overlap
from index.models import Span

LEXICAL_SHARE = 0.5


def best_sentence(
    sentences: Sequence[Span],
    texts: Sequence[str],
    vectors: np.ndarray | None,
    query: np.ndarray,
    question_terms: dict[str, float],
) -> Span:
    """The highest-scoring sentence; ties go to the earlier one."""
    if len(sentences) == 1:
        return sentences[0]
    dense = vectors @ query if vectors is not None else np.zeros(len(sentences))
    best = 0
    best_score = -np.inf
    for i, text in enumerate(texts):
        score = (1 - LEXICAL_SHARE) * float(dense[i]) + LEXICAL_SHARE * term_overlap(
            question_terms, text
        )
        if score > best_score:
            best, best_score = i, score
    return sentences[best]
