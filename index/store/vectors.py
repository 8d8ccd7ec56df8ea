"""The dense vector index: inner-product search over unit vectors with FAISS.

Up to a size set by the operator the index is exact (flat), which keeps results identical to
brute force and costs a few milliseconds at 100k passages. Past it the index is IVF-Flat: the
vectors are grouped around k-means centres and a question scans only the groups nearest to it,
since an exact scan grows linearly (83 ms per question at a million passages on one core).
The row number of a vector is the passage's index in the store.

The vectors are held once, in FAISS's storage; the searcher's own similarity computations read
them there (through a view of the flat storage, or row by row from the IVF lists), never from a
copy of them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.errors import IndexCorruptError

# IVF parameters, measured on 200 dev questions among 1M passages (bench/query_path_bench.py
# `--only million --hnsw 48,128`, load average 9-10 on two shared cores). About sqrt(n) lists
# (1,000 at 1M), 48 of them scanned: recall@10 against exact 0.9975 at p50 7.9 ms (4 ms at
# load 6), built in 32 s. 24 lists gave 0.974, and 32 gave 0.986-0.993 depending on the
# k-means sample, so 48 leaves a margin over the 0.98 aimed at. 2,000 lists scan half as much
# a question (0.995 at 3.9 ms) but train three times longer (94 s; 4,096 lists: 371 s). HNSW
# reached 0.99 only with a denser graph than its first try (M 48, efConstruction 128, efSearch
# 512: 913 s to build, 1.85 GB against 1.48 GB). The scanned share grows as n shrinks
# (48 of 447 lists at 200k), so recall only rises there.
PROBES = 48
# k-means sees this many sampled vectors per list (FAISS asks for at least 39): enough for
# stable centres, and training stays a small part of the build.
TRAINING_PER_LIST = 64
# A filter keeping at most this many rows is scored exactly over them, read from the lists;
# larger ones scan more lists with FAISS's selector, in proportion to the rows they drop, and
# all lists when that still finds fewer than k. At 1M passages (load average 9) reading
# 2,000 / 10,000 / 20,000 / 50,000 rows took 1 / 12 / 26 / 54 ms a question, and scanning
# the lists with the selector 9 / 14 / 23 / 37 ms: the two cross between 10,000 and 20,000.
EXACT_ROWS = 15_000
# Rows are read and scored this many at a time. FAISS reads more than 1,000 rows at once with
# its thread pool, which spins against the other processes of a busy machine (1,001 rows:
# 12 ms at load average 9, against 0.1 ms for 1,000 on the calling thread); and copying a
# large filter's rows in one piece costs fresh pages on every question (2,000 rows: 11 ms in
# one piece, 0.5 ms in batches that reuse the same memory).
READ_BATCH = 1_000


def search_on_one_thread() -> None:
    """From now on FAISS runs on one thread in this process (OpenMP's setting is per process).

    A one-question exact search split over FAISS's two-thread pool spins against whatever else
    the machine runs: at 200k passages, load average 9, 212 ms on two threads against 53 ms on
    one. Builds lose little by it: FAISS only assigns and clusters their vectors (32 s of a
    1M-passage build whose encoding takes hours); the model keeps its own threads.
    """
    faiss.omp_set_num_threads(1)


@dataclass(frozen=True, slots=True)
class Neighbours:
    rows: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True, slots=True)
class AllowedRows:
    """The rows a filtered search may return, sorted, with FAISS's selector over them.

    The selector reads a bitmap of the rows (one bit a row: 125 kB at 1M passages), which
    FAISS tests in constant time for each row it scans; its hash-set selector made a list
    scan keeping half of 1M rows three times slower than the same scan unfiltered."""

    rows: np.ndarray
    # The selector's memory: it must live as long as the selector, which does not own it.
    bitmap: np.ndarray
    selector: faiss.IDSelector

    @classmethod
    def of(cls, rows: np.ndarray) -> AllowedRows:
        kept = np.ascontiguousarray(np.unique(rows), dtype=np.int64)
        kept.setflags(write=False)
        present = np.zeros(int(kept[-1]) + 1 if len(kept) else 0, dtype=bool)
        present[kept] = True
        bitmap = np.packbits(present, bitorder="little")
        bitmap.setflags(write=False)
        selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        return cls(kept, bitmap, selector)


class VectorIndex:
    def __init__(self, index: Any) -> None:
        # Typed Any: FAISS's stubs lack the IVF and flat-storage members used here.
        self._index = index
        self.approximate = isinstance(index, faiss.IndexIVFFlat)
        # How many of the IVF lists an unfiltered question scans; more finds more of the
        # exact neighbours, slower.
        self.probes = PROBES
        self.exact_rows = EXACT_ROWS
        self._matrix: np.ndarray | None = None
        if self.approximate:
            # Row -> place in the lists, so rows can be read without a scan (8 bytes a row).
            if index.direct_map.no():
                index.make_direct_map()
        else:
            # A view into FAISS's memory, valid while `self._index` lives, which is as long
            # as this object: the only copy of the vectors.
            n, d = int(index.ntotal), int(index.d)
            matrix = faiss.rev_swig_ptr(index.get_xb(), n * d) if n else np.empty(0, np.float32)
            self._matrix = np.asarray(matrix, dtype=np.float32).reshape(n, d)
            self._matrix.flags.writeable = False

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int, approximate: bool = False) -> VectorIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index: Any
        if approximate and len(vectors):
            n = len(vectors)
            lists = max(1, min(math.isqrt(n), n // TRAINING_PER_LIST))
            index = faiss.index_factory(dimension, f"IVF{lists},Flat", faiss.METRIC_INNER_PRODUCT)
            # A fixed sample, so that the same vectors give the same index.
            picks = np.random.default_rng(0).choice(n, min(n, TRAINING_PER_LIST * lists), False)
            index.train(vectors[np.sort(picks)])
        else:
            index = faiss.IndexFlatIP(dimension)
        if len(vectors):
            index.add(vectors)
        return cls(index)

    @classmethod
    def train(cls, vectors: np.ndarray) -> np.ndarray:
        """IVF centres for `vectors`, as `build` trains them (same list count and sample)."""
        n, dimension = vectors.shape
        lists = max(1, min(math.isqrt(n), n // TRAINING_PER_LIST))
        index: Any = faiss.index_factory(dimension, f"IVF{lists},Flat", faiss.METRIC_INNER_PRODUCT)
        picks = np.random.default_rng(0).choice(n, min(n, TRAINING_PER_LIST * lists), False)
        index.train(np.ascontiguousarray(vectors[np.sort(picks)], dtype=np.float32))
        return np.asarray(index.quantizer.reconstruct_n(0, lists), dtype=np.float32)

    @property
    def imbalance(self) -> float:
        """How unevenly the IVF lists are filled (FAISS's factor: 1 when even)."""
        return float(self._index.invlists.imbalance_factor()) if self.approximate else 1.0

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise IndexCorruptError(path, f"FAISS cannot read it: {first_line[:200]}") from None
        exact = isinstance(index, faiss.IndexFlatIP)
        lists = (
            isinstance(index, faiss.IndexIVFFlat)
            and index.metric_type == faiss.METRIC_INNER_PRODUCT
        )
        if not exact and not lists:
            raise IndexCorruptError(path, f"unexpected index type {type(index).__name__}")
        return cls(index)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def lists(self) -> int:
        """How many lists the approximate index groups the vectors in; 0 when exact."""
        return int(self._index.nlist) if self.approximate else 0

    def vectors(self) -> np.ndarray:
        """All stored vectors as an (n, d) array: a copy, which outlives this index (as
        `VectorIndex.load(p).vectors()` needs)."""
        if self._matrix is not None:
            return self._matrix.copy()
        return np.asarray(self._index.reconstruct_n(0, len(self)), dtype=np.float32)

    def similarities(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Inner products of `query` with the vectors of `rows`."""
        keys = np.ascontiguousarray(rows, dtype=np.int64)
        scores = np.empty(len(keys), dtype=np.float32)
        for start in range(0, len(keys), READ_BATCH):
            batch = keys[start : start + READ_BATCH]
            if self._matrix is not None:
                scores[start : start + len(batch)] = self._matrix[batch] @ query
            else:
                scores[start : start + len(batch)] = self._index.reconstruct_batch(batch) @ query
        return scores

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
        # A filter dropping most rows drops them from every list too: scan more lists, so
        # that about as many allowed rows are compared as unfiltered questions compare.
        share = 1.0 if allowed is None else len(allowed.rows) / len(self)
        found = self._probe(query, k, math.ceil(self.probes / share), allowed)
        if len(found.rows) < k:
            # The scanned lists held fewer than k (allowed) rows; all the lists hold them all.
            return self._probe(query, k, int(self._index.nlist), allowed)
        return found

    def _probe(
        self, query: np.ndarray, k: int, probes: int, allowed: AllowedRows | None
    ) -> Neighbours:
        params: Any = faiss.SearchParametersIVF()
        params.nprobe = min(probes, int(self._index.nlist))
        if allowed is not None:
            params.sel = allowed.selector
        return self._run(query, k, params)

    def _run(self, query: np.ndarray, k: int, params: Any) -> Neighbours:
        scores, rows = self._index.search(query, k, params=params)
        keep = rows[0] >= 0
        return Neighbours(rows[0][keep], scores[0][keep])

    def _exact_among(self, query: np.ndarray, k: int, rows: np.ndarray) -> Neighbours:
        scores = self.similarities(rows, query)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
        top = top[np.argsort(-scores[top], kind="stable")]
        return Neighbours(rows[top], scores[top])
