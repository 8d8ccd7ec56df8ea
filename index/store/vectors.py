"""The dense vector index: inner-product search over unit vectors with FAISS.

Up to a size set by the operator the index is exact (flat), which keeps results identical to
brute force and costs a few milliseconds at 100k passages. Past it the index is HNSW over the
same flat storage: exact search grows linearly and passes 10 ms per question short of a
million passages on two cores. The row number of a vector is the passage's index in the store.

The vectors are held once, in FAISS's storage; the searcher's own similarity computations read
them through a view (`similarities`), never a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.errors import IndexCorruptError

# HNSW parameters, measured on 200 dev questions among 1M passages (bench/query_path_bench.py,
# `--only million`): build 299 s, 1.7 GB; efSearch 128/256/512/1024 gives recall@10 against
# exact 0.874/0.908/0.935/0.946 at p50 0.42/0.70/1.36/2.85 ms. Recall is capped by the graph
# (efConstruction 64), short of the 0.98 aimed at: a denser graph is the next thing to measure.
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 512
# A filter keeping at most this many rows is searched exactly over them: a graph walk would
# discard most of the nodes it visits, and a small set is cheap to scan (gathering 50k rows
# took 220 ms per question at 1M passages on the loaded bench machine, so larger sets walk).
EXACT_ROWS = 20_000
# Filtered graph searches widen their beam by the inverse of the kept share, up to this.
MAX_EF_GROWTH = 10


@dataclass(frozen=True, slots=True)
class Neighbours:
    rows: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True, slots=True)
class AllowedRows:
    """The rows a filtered search may return, sorted, with FAISS's selector over them."""

    rows: np.ndarray
    selector: faiss.IDSelector

    @classmethod
    def of(cls, rows: np.ndarray) -> AllowedRows:
        kept = np.ascontiguousarray(np.unique(rows), dtype=np.int64)
        kept.setflags(write=False)
        return cls(kept, faiss.IDSelectorBatch(len(kept), faiss.swig_ptr(kept)))


class VectorIndex:
    def __init__(self, index: Any) -> None:
        # Typed Any: FAISS's stubs lack the HNSW and flat-storage members used here.
        self._index = index
        self.approximate = isinstance(index, faiss.IndexHNSWFlat)
        # The graph search's beam; wider finds more of the exact neighbours, slower.
        self.ef_search = HNSW_EF_SEARCH
        self.exact_rows = EXACT_ROWS
        flat: Any = faiss.downcast_index(index.storage) if self.approximate else index
        # A view into FAISS's memory, valid while `self._index` lives, which is as long as
        # this object: the only copy of the vectors.
        n, d = int(index.ntotal), int(index.d)
        matrix = faiss.rev_swig_ptr(flat.get_xb(), n * d) if n else np.empty(0, np.float32)
        self._matrix = np.asarray(matrix, dtype=np.float32).reshape(n, d)
        self._matrix.flags.writeable = False

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int, approximate: bool = False) -> VectorIndex:
        index: Any
        if approximate:
            index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            index = faiss.IndexFlatIP(dimension)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise IndexCorruptError(path, f"FAISS cannot read it: {first_line[:200]}") from None
        exact = isinstance(index, faiss.IndexFlatIP)
        graph = (
            isinstance(index, faiss.IndexHNSWFlat)
            and index.metric_type == faiss.METRIC_INNER_PRODUCT
        )
        if not exact and not graph:
            raise IndexCorruptError(path, f"unexpected index type {type(index).__name__}")
        return cls(index)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def vectors(self) -> np.ndarray:
        """All stored vectors as an (n, d) array: a copy, which outlives this index (as
        `VectorIndex.load(p).vectors()` needs)."""
        return self._matrix.copy()

    def similarities(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Inner products of `query` with the vectors of `rows`."""
        return np.asarray(self._matrix[rows] @ query, dtype=np.float32)

    def search(self, query: np.ndarray, k: int, allowed: AllowedRows | None = None) -> Neighbours:
        """The `k` nearest rows, among `allowed` when given: always `k` of them when that many
        are allowed, on the approximate index too."""
        k = min(k, len(self) if allowed is None else len(allowed.rows))
        if k <= 0:
            return Neighbours(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if not self.approximate:
            params = None
            if allowed is not None:
                params = faiss.SearchParameters()
                params.sel = allowed.selector
            return self._run(query, k, params)
        if allowed is not None and len(allowed.rows) <= self.exact_rows:
            return self._exact_among(query[0], k, allowed.rows)
        hnsw: Any = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        hnsw.efSearch = max(self.ef_search, k)
        if allowed is not None:
            hnsw.sel = allowed.selector
            growth = min(MAX_EF_GROWTH, len(self) / len(allowed.rows))
            hnsw.efSearch = int(hnsw.efSearch * growth)
        found = self._run(query, k, hnsw)
        if allowed is not None and len(found.rows) < k:
            # The graph walk ran out of allowed nodes before finding k: scan them instead.
            return self._exact_among(query[0], k, allowed.rows)
        return found

    def _run(self, query: np.ndarray, k: int, params: Any) -> Neighbours:
        scores, rows = self._index.search(query, k, params=params)
        keep = rows[0] >= 0
        return Neighbours(rows[0][keep], scores[0][keep])

    def _exact_among(self, query: np.ndarray, k: int, rows: np.ndarray) -> Neighbours:
        scores = self.similarities(rows, query)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
        top = top[np.argsort(-scores[top], kind="stable")]
        return Neighbours(rows[top], scores[top])
