"""The search backend contract: what the searcher's candidate step asks of an index.

A question's candidates come from two sides, dense (the question's vector against passage
vectors) and lexical (BM25 over the passages' analysed text), each retrieving its top `k`
within a scope (collections and filters) before top-k, so `k` rows come back whenever `k`
qualify. The pool the two sides found is then scored on both sides at once. Rows are the
loaded state's global passage rows; a backend never returns a row the state does not hold
live. Everything after the candidate step (fusion, confidence, quotes, demotion, time words)
is the same whichever backend answers.

Two implementations: the local segments (`index/store/local_search.py`, FAISS and exact BM25
over the data directory) and Milvus (`index/store/milvus/`, when `ARTICLEBOT_MILVUS_URI` is
set).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.models import SearchFilters
from index.store.lexical import QueryTerms
from index.store.segments import IndexState, LiveRows, SegmentedStore
from index.store.vectors import AllowedRows


@dataclass(frozen=True, slots=True)
class RowFilter:
    """The passage rows a scope allows, as a mask over global rows and FAISS's selector."""

    mask: np.ndarray
    allowed: AllowedRows


@dataclass(frozen=True, slots=True)
class Scope:
    """What a question may retrieve: its collections (all when None) and filters. `rows` is
    the same scope as a row mask, given to backends that ask for one (`uses_row_masks`);
    None there means every live row."""

    collections: Collection[str] | None
    filters: SearchFilters | None
    rows: RowFilter | None = None


@dataclass(frozen=True, slots=True)
class PoolScores:
    """Both sides' scores of a candidate pool, position i for row i of the pool: cosine
    similarity, and BM25 normalised per question to [0, 1] (0 when the lexical side is off)."""

    dense: np.ndarray
    lexical: np.ndarray


class QuestionSearch(Protocol):
    """One question's searches: its vector and terms are given once."""

    def dense_top(self, k: int, scope: Scope) -> np.ndarray:
        """The `k` rows nearest the question's vector within `scope`, best first."""
        ...

    def lexical_top(self, k: int, scope: Scope) -> np.ndarray:
        """Up to `k` rows with the best BM25 scores within `scope` (only rows that hold a
        term of the question)."""
        ...

    def pool_scores(self, rows: np.ndarray) -> PoolScores:
        """Both sides' scores of `rows`."""
        ...


class SearchBackend(Protocol):
    # Whether `Scope.rows` must be given (the local backend filters by row masks; Milvus by
    # expressions over the scope's collections and filters).
    uses_row_masks: bool

    def term_weights(self, terms: QueryTerms) -> dict[str, float]:
        """Each of the question's terms weighted by the best BM25 score it reaches in a live
        passage (0 for a term no passage holds): the quote picker's weights."""
        ...

    def question(self, vector: np.ndarray, terms: QueryTerms, lexical: bool) -> QuestionSearch:
        """The searches of one question; `lexical` False leaves the BM25 side out."""
        ...

    def close(self) -> None: ...


class OpensBackend(Protocol):
    def __call__(
        self, root: Path, state: IndexState, store: SegmentedStore, live: LiveRows, dimension: int
    ) -> SearchBackend:
        """The backend answering for `state` (its segments under `root`), whose passages
        `store` holds and `live` says which are live."""
        ...
