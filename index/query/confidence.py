"""How sure the searcher is that a passage answers the question: the measure `min_score`
applies to. Why it mixes these measures, and in these shares: see `ConfidenceWeights`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from index.query.passage_text import PassageText
from index.query.tuning import ConfidenceWeights
from index.store.lexical import term_overlap


@dataclass(frozen=True, slots=True)
class Overlap:
    """Shares of the question's informative term weight found, each in [0, 1]."""

    # In the title and the whole passage.
    passage: float
    # In the title and the passage's best single sentence (0 for a passage without sentences).
    sentence: float


def overlap(terms: Mapping[str, float], found: PassageText) -> Overlap:
    """The question's `terms` (informativeness weights) found in `found`, title included."""
    title = found.title
    return Overlap(
        passage=term_overlap(terms, f"{title} {found.excerpt(found.passage)}"),
        sentence=max(
            (term_overlap(terms, f"{title} {found.excerpt(s)}") for s in found.sentences),
            default=0.0,
        ),
    )


def confidence(dense: float, found: Overlap, weights: ConfidenceWeights) -> float:
    """In [0, 1] when `dense` (cosine similarity) is, since the weights sum to 1."""
    return (
        weights.dense * dense + weights.passage * found.passage + weights.sentence * found.sentence
    )
