"""The search backend over Milvus (see `index/store/search_backend.py`).

Milvus's hybrid search returns only a fused score, and the ranking above needs each side's
own: so each side is a search of its own (the question's vector; its analysed terms through
the BM25 function), each within the scope's filter expression, and the pool they found is
scored on both sides by searches restricted to its keys. The pool's BM25 scores and their
normaliser (the best score each term reaches) come from one search over the same rows:
Milvus Lite computes BM25's statistics over the rows a filter leaves, so scores from
differently filtered searches are not comparable, while scores of one search are.

Rows come back as passage keys, mapped to the loaded state's global rows; a key the state
does not hold live (a row written for a state not yet published, or deleted by one
published since) is left out.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import MilvusUnavailableError
from index.store.lexical import QueryTerms
from index.store.milvus.collection import (
    ID,
    MAX_LIMIT,
    SPARSE,
    VECTOR,
    MilvusTarget,
    open_collection,
)
from index.store.milvus.expressions import keys_expression, scope_expression
from index.store.search_backend import PoolScores, Scope
from index.store.segments import IndexState, LiveRows, SegmentedStore

# Quote weights are asked for every question; a term's weight is its best BM25 score over the
# collection, so it is kept per opened state and costs a Milvus search once. Bounded so a
# long-running process asked about everything does not grow without end.
_TERM_WEIGHTS_KEPT = 50_000

_DENSE = {"metric_type": "IP"}
_BM25 = {"metric_type": "BM25"}


class MilvusBackend:
    uses_row_masks = False

    def __init__(self, target: MilvusTarget, keys: np.ndarray, live: np.ndarray | None) -> None:
        self.target = target
        self._client = open_collection(target)
        self._keys = keys
        rows = np.arange(len(keys), dtype=np.int64)
        if live is not None:
            rows = rows[live]
        order = np.argsort(keys[rows], kind="stable")
        self._sorted_keys = keys[rows][order]
        self._sorted_rows = rows[order]
        # A Milvus Lite file is one embedded engine: its calls are taken one at a time.
        self._lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if target.lite else contextlib.nullcontext()
        )
        self._term_weights: dict[str, float] = {}

    def rows_of(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The live rows of `keys`, and which of `keys` have one."""
        at = np.searchsorted(self._sorted_keys, keys)
        at = np.minimum(at, max(len(self._sorted_keys) - 1, 0))
        known = (
            self._sorted_keys[at] == keys if len(self._sorted_keys) else np.zeros(len(keys), bool)
        )
        return self._sorted_rows[at[known]], known

    def search(
        self, data: list[Any], field: str, limit: int, expression: str, params: dict[str, str]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each query's hits as (keys, scores), best first. BM25 distances are negative in
        Milvus Lite and positive in Milvus: their size is the score either way."""
        limit = min(limit, MAX_LIMIT)
        if limit <= 0 or not data:
            return [(np.empty(0, np.int64), np.empty(0, np.float32)) for _ in data]
        with self._lock, self._failures():
            found = self._client.search(
                self.target.collection,
                data=data,
                anns_field=field,
                limit=limit,
                filter=expression,
                search_params=params,
                output_fields=[ID],
            )
        out = []
        for hits in found:
            keys = np.fromiter((h[ID] for h in hits), dtype=np.int64, count=len(hits))
            scores = np.fromiter((h["distance"] for h in hits), dtype=np.float32, count=len(hits))
            out.append((keys, np.abs(scores) if params is _BM25 else scores))
        return out

    @contextlib.contextmanager
    def _failures(self) -> Iterator[None]:
        from pymilvus.exceptions import MilvusException

        try:
            yield
        except MilvusException as exc:
            raise MilvusUnavailableError(self.target.uri, str(exc.message)) from None

    def term_weights(self, terms: QueryTerms) -> dict[str, float]:
        known = self._term_weights
        weights = {t: known[t] for t in terms.stems if t in known}
        missing = [t for t in dict.fromkeys(terms.stems) if t not in weights]
        if missing:
            found = self.search(missing, SPARSE, 1, "", _BM25)
            for term, (_, scores) in zip(missing, found, strict=True):
                weights[term] = float(scores[0]) if len(scores) else 0.0
            if len(known) + len(missing) > _TERM_WEIGHTS_KEPT:
                known.clear()
            known.update((t, weights[t]) for t in missing)
        return {t: weights[t] for t in terms.stems}

    def question(self, vector: np.ndarray, terms: QueryTerms, lexical: bool) -> _MilvusQuestion:
        return _MilvusQuestion(self, vector, terms if lexical and terms.stems else None)

    def close(self) -> None:
        return None


class _MilvusQuestion:
    def __init__(self, backend: MilvusBackend, vector: np.ndarray, terms: QueryTerms | None):
        self._backend = backend
        self._vector = [float(x) for x in vector]
        self._terms = terms

    def dense_top(self, k: int, scope: Scope) -> np.ndarray:
        return self._top([self._vector], VECTOR, k, scope, _DENSE)

    def lexical_top(self, k: int, scope: Scope) -> np.ndarray:
        if self._terms is None:
            return np.empty(0, dtype=np.int64)
        return self._top([" ".join(self._terms.stems)], SPARSE, k, scope, _BM25)

    def _top(
        self, data: list[Any], field: str, k: int, scope: Scope, params: dict[str, str]
    ) -> np.ndarray:
        expression = scope_expression(scope.collections, scope.filters)
        if expression.empty:
            return np.empty(0, dtype=np.int64)
        ((keys, scores),) = self._backend.search(data, field, k, expression.text, params)
        rows, _ = self._backend.rows_of(keys[scores > 0] if params is _BM25 else keys)
        return rows

    def pool_scores(self, rows: np.ndarray) -> PoolScores:
        backend = self._backend
        keys = backend._keys[rows]
        where = keys_expression(keys)
        dense = np.zeros(len(rows), dtype=np.float32)
        lexical = np.zeros(len(rows), dtype=np.float32)
        if not len(rows):
            return PoolScores(dense, lexical)
        position = {int(k): i for i, k in enumerate(keys)}
        ((found, scores),) = backend.search([self._vector], VECTOR, len(rows), where, _DENSE)
        dense[[position[int(k)] for k in found]] = scores
        if self._terms is not None:
            stems = self._terms.stems
            unique = list(dict.fromkeys(stems))
            answers = backend.search([" ".join(stems), *unique], SPARSE, len(rows), where, _BM25)
            best = {
                t: float(s[0]) if len(s) else 0.0
                for t, (_, s) in zip(unique, answers[1:], strict=True)
            }
            ceiling = sum(best[t] for t in stems)
            found, scores = answers[0]
            if ceiling > 0:
                lexical[[position[int(k)] for k in found]] = np.clip(scores / ceiling, 0.0, 1.0)
        return PoolScores(dense, lexical)


def milvus_opener(target: MilvusTarget) -> Any:
    """The searcher's backend opener for `target`."""

    def open_milvus(
        root: Path, state: IndexState, store: SegmentedStore, live: LiveRows, dimension: int
    ) -> MilvusBackend:
        return MilvusBackend(target, store.passage_keys(), live.passages)

    return open_milvus
