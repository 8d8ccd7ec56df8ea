"""Adjustments to the fused ranking score that come from outside the question: a server's
down-votes and a conversation's earlier answer.

The fused score is a mix of cosine similarity and normalised BM25, both in [0, 1], so the
adjustments are in the same units (their sizes, and why, are in `SearchTuning`):

- A passage demoted in a scope (enough distinct members of that server voted it down) loses
  a penalty: a close alternative overtakes it, yet it is still found when nothing else
  matches. It changes only the order; whether the question is answered at all (the
  confidence) is judged as before.
- A passage of an article the earlier answer quoted gains a bonus, enough to win a near tie,
  not to beat a clearly better match elsewhere.

Up-votes are not used in ranking at all: a passage can never be lifted above a better match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class RankingHints:
    demoted: frozenset[str] = frozenset()
    preferred_articles: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.demoted or self.preferred_articles)

    def adjust(
        self,
        fused: np.ndarray,
        passage_ids: Sequence[str],
        article_ids: Sequence[str],
        penalty: float,
        bonus: float,
    ) -> np.ndarray:
        """`fused` less `penalty` for demoted passages, plus `bonus` for preferred articles."""
        demoted = np.array([p in self.demoted for p in passage_ids], dtype=np.float32)
        preferred = np.array([a in self.preferred_articles for a in article_ids], np.float32)
        return fused - penalty * demoted + bonus * preferred
