"""The search backend over the local segments: FAISS for the dense side, exact BM25 over the
live passages for the lexical side, scopes as row masks (see `search_backend`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.store.lexical import LexicalIndex, QueryTerms
from index.store.search_backend import PoolScores, Scope
from index.store.segments import IndexState, LiveRows, SegmentedStore, load_postings, load_vectors
from index.store.vectors import VectorIndex


class LocalBackend:
    uses_row_masks = True

    def __init__(self, vectors: VectorIndex, lexical: LexicalIndex) -> None:
        self.vectors = vectors
        self.lexical = lexical

    def term_weights(self, terms: QueryTerms) -> dict[str, float]:
        return self.lexical.term_weights(terms)

    def question(self, vector: np.ndarray, terms: QueryTerms, lexical: bool) -> _LocalQuestion:
        # Every row's BM25 score at once, shared by the question's scopes and its pool.
        scores = self.lexical.scores(terms) if lexical else None
        return _LocalQuestion(self.vectors, vector, scores)

    def close(self) -> None:
        return None


def open_local(
    root: Path, state: IndexState, store: SegmentedStore, live: LiveRows, dimension: int
) -> LocalBackend:
    """The state's vectors, and its BM25 postings over the live passages."""
    return LocalBackend(
        load_vectors(root, state, dimension), load_postings(root, state, live.passages)
    )


@dataclass(frozen=True, slots=True)
class _LocalQuestion:
    vectors: VectorIndex
    vector: np.ndarray
    lexical: np.ndarray | None

    def dense_top(self, k: int, scope: Scope) -> np.ndarray:
        allowed = scope.rows.allowed if scope.rows is not None else None
        return self.vectors.search(self.vector, k, allowed).rows

    def lexical_top(self, k: int, scope: Scope) -> np.ndarray:
        if self.lexical is None:
            return np.empty(0, dtype=np.int64)
        masked = (
            self.lexical if scope.rows is None else np.where(scope.rows.mask, self.lexical, 0.0)
        )
        if not len(masked):
            return np.empty(0, dtype=np.int64)
        top = np.argpartition(-masked, min(k, len(masked) - 1))[:k]
        return top[masked[top] > 0]

    def pool_scores(self, rows: np.ndarray) -> PoolScores:
        dense = (
            self.vectors.similarities(rows, self.vector) if len(rows) else np.zeros(0, np.float32)
        )
        lexical = (
            self.lexical[rows] if self.lexical is not None else np.zeros(len(rows), np.float32)
        )
        return PoolScores(dense, lexical)
