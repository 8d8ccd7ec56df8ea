"""The FAISS vector index with random unit vectors: round trip, damage, selectors."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from index.errors import IndexCorruptError
from index.store.vectors import AllowedRows, VectorIndex

DIM = 32


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, np.ndarray]:
    vectors = unit_vectors(200)
    path = tmp_path / "gen" / "vectors.faiss"
    path.parent.mkdir()
    VectorIndex.build(vectors, DIM).save(path)
    return path, vectors


def test_round_trip_gives_identical_results(saved: tuple[Path, np.ndarray]) -> None:
    path, vectors = saved
    built = VectorIndex.build(vectors, DIM)
    loaded = VectorIndex.load(path)
    assert (len(loaded), loaded.dimension) == (200, DIM)
    np.testing.assert_array_equal(loaded.vectors(), vectors)
    for query in unit_vectors(10, seed=1):
        a, b = built.search(query, 7), loaded.search(query, 7)
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.scores, b.scores)


def test_search_is_exact_inner_product(saved: tuple[Path, np.ndarray]) -> None:
    path, vectors = saved
    index = VectorIndex.load(path)
    query = unit_vectors(1, seed=2)[0]
    found = index.search(query, 5)
    expected = np.argsort(-(vectors @ query), kind="stable")[:5]
    np.testing.assert_array_equal(found.rows, expected)
    np.testing.assert_allclose(found.scores, (vectors @ query)[expected], rtol=1e-5)
    assert list(found.scores) == sorted(found.scores, reverse=True)


def test_k_larger_than_the_index_and_empty_index() -> None:
    index = VectorIndex.build(unit_vectors(3), DIM)
    assert len(index.search(unit_vectors(1)[0], 10).rows) == 3
    empty = VectorIndex.build(np.empty((0, DIM), dtype=np.float32), DIM)
    found = empty.search(unit_vectors(1)[0], 5)
    assert len(found.rows) == 0 and len(found.scores) == 0


def test_vectors_is_a_copy_that_outlives_the_index(saved: tuple[Path, np.ndarray]) -> None:
    index = VectorIndex.load(saved[0])
    copy = index.vectors()
    query = unit_vectors(1, seed=5)[0]
    before = index.search(query, 3)
    copy[:] = 0.0
    np.testing.assert_array_equal(index.search(query, 3).rows, before.rows)
    del index
    assert float(np.abs(copy).sum()) == 0.0


def test_similarities_read_the_stored_vectors(saved: tuple[Path, np.ndarray]) -> None:
    path, vectors = saved
    index = VectorIndex.load(path)
    rows = np.array([5, 0, 199], dtype=np.int64)
    query = unit_vectors(1, seed=6)[0]
    np.testing.assert_allclose(index.similarities(rows, query), vectors[rows] @ query, rtol=1e-5)


def test_selector_restricts_results(saved: tuple[Path, np.ndarray]) -> None:
    path, vectors = saved
    index = VectorIndex.load(path)
    allowed = np.arange(0, 200, 7, dtype=np.int64)
    query = unit_vectors(1, seed=3)[0]
    found = index.search(query, 5, AllowedRows.of(allowed))
    assert len(found.rows) == 5
    assert set(found.rows.tolist()) <= set(allowed.tolist())
    best_allowed = allowed[np.argsort(-(vectors[allowed] @ query), kind="stable")[:5]]
    np.testing.assert_array_equal(found.rows, best_allowed)


def test_selector_with_fewer_rows_than_k(saved: tuple[Path, np.ndarray]) -> None:
    index = VectorIndex.load(saved[0])
    allowed = AllowedRows.of(np.array([9, 4], dtype=np.int64))
    found = index.search(unit_vectors(1, seed=4)[0], 5, allowed)
    # FAISS pads missing results with -1; they must not come back as rows.
    assert sorted(found.rows.tolist()) == [4, 9]


def test_selector_keeps_rows_at_byte_edges_and_nothing_else(
    saved: tuple[Path, np.ndarray],
) -> None:
    index = VectorIndex.load(saved[0])
    edges = [0, 7, 8, 15, 16, 199]
    found = index.search(unit_vectors(1, seed=18)[0], 10, AllowedRows.of(np.array(edges)))
    assert sorted(found.rows.tolist()) == edges
    nothing = AllowedRows.of(np.array([], dtype=np.int64))
    assert len(index.search(unit_vectors(1, seed=19)[0], 10, nothing).rows) == 0


def _assert_readable_corruption(error: IndexCorruptError, path: Path) -> None:
    message = str(error)
    assert str(path) in message
    assert "articlebot index build" in message
    assert error.path == path


def test_corrupt_file(saved: tuple[Path, np.ndarray]) -> None:
    path, _ = saved
    path.write_bytes(b"this is not a FAISS index at all" * 10)
    with pytest.raises(IndexCorruptError) as caught:
        VectorIndex.load(path)
    _assert_readable_corruption(caught.value, path)


def test_truncated_file(saved: tuple[Path, np.ndarray]) -> None:
    path, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError) as caught:
        VectorIndex.load(path)
    _assert_readable_corruption(caught.value, path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gen" / "vectors.faiss"
    with pytest.raises(IndexCorruptError) as caught:
        VectorIndex.load(path)
    _assert_readable_corruption(caught.value, path)


def test_other_index_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gen" / "vectors.faiss"
    path.parent.mkdir()
    faiss.write_index(faiss.IndexFlatL2(DIM), str(path))
    with pytest.raises(IndexCorruptError, match="unexpected index type"):
        VectorIndex.load(path)


CENTRES = 40


def clustered(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around a few dozen centres (as passages gather by topic), and each one's
    centre."""
    rng = np.random.default_rng(seed)
    centres = unit_vectors(CENTRES, seed=100)
    which = rng.integers(0, CENTRES, n)
    vectors = centres[which] + rng.normal(0, 0.15, (n, DIM)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), which


def questions(n: int, seed: int) -> np.ndarray:
    """Points near the clusters, as questions about the passages' topics are."""
    return clustered(n, seed)[0]


@pytest.fixture
def approximate(tmp_path: Path) -> tuple[VectorIndex, np.ndarray]:
    """An IVF index of 5,000 clustered vectors, through a save and a load."""
    vectors, _ = clustered(5000, seed=7)
    path = tmp_path / "ivf.faiss"
    VectorIndex.build(vectors, DIM, approximate=True).save(path)
    return VectorIndex.load(path), vectors


def _exact_top(vectors: np.ndarray, query: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    scores = vectors[rows] @ query
    return rows[np.argsort(-scores, kind="stable")[:k]]


def _recall(index: VectorIndex, vectors: np.ndarray, queries: np.ndarray) -> float:
    everything = np.arange(len(vectors))
    found = [set(index.search(q, 10).rows.tolist()) for q in queries]
    exact = [set(_exact_top(vectors, q, 10, everything).tolist()) for q in queries]
    return float(np.mean([len(f & e) / 10 for f, e in zip(found, exact, strict=True)]))


def test_approximate_index_finds_nearly_all_exact_neighbours(
    approximate: tuple[VectorIndex, np.ndarray],
) -> None:
    index, vectors = approximate
    assert index.approximate and len(index) == 5000
    queries = questions(50, seed=8)
    for query in queries:
        found = index.search(query, 10)
        assert len(found.rows) == 10
        np.testing.assert_allclose(found.scores, vectors[found.rows] @ query, rtol=1e-5)
        assert list(found.scores) == sorted(found.scores, reverse=True)
    assert _recall(index, vectors, queries) >= 0.98


def test_scanning_fewer_lists_is_approximate_and_more_lists_recovers_it(
    approximate: tuple[VectorIndex, np.ndarray],
) -> None:
    index, vectors = approximate
    queries = questions(50, seed=13)
    index.probes = 1
    narrow = _recall(index, vectors, queries)
    index.probes = 10_000  # more than there are lists: every list, an exact scan
    assert narrow < 1.0
    assert _recall(index, vectors, queries) == 1.0


def test_the_same_vectors_build_the_same_index() -> None:
    vectors, _ = clustered(3000, seed=14)
    one = VectorIndex.build(vectors, DIM, approximate=True)
    two = VectorIndex.build(vectors, DIM, approximate=True)
    one.probes = two.probes = 2
    for query in questions(10, seed=15):
        np.testing.assert_array_equal(one.search(query, 10).rows, two.search(query, 10).rows)


@pytest.mark.parametrize("share", [0.01, 0.05, 0.3, 0.9])
def test_filtered_approximate_search_returns_k_allowed_hits(
    approximate: tuple[VectorIndex, np.ndarray], share: float
) -> None:
    index, vectors = approximate
    index.exact_rows = 20  # so that the filters take the list scan, as at 1M passages
    rng = np.random.default_rng(int(share * 100))
    rows = np.flatnonzero(rng.random(len(vectors)) < share)
    allowed = AllowedRows.of(rows)
    for query in questions(20, seed=9):
        found = index.search(query, 10, allowed)
        assert len(found.rows) == 10
        assert set(found.rows.tolist()) <= set(rows.tolist())
        assert list(found.scores) == sorted(found.scores, reverse=True)


def test_filter_far_from_the_question_still_returns_k_hits(
    approximate: tuple[VectorIndex, np.ndarray],
) -> None:
    """The allowed rows all sit in clusters the question's nearest lists do not hold (one
    collection about other topics): the scan widens to every list rather than coming back
    short."""
    index, vectors = approximate
    index.exact_rows = 20
    index.probes = 1
    query = unit_vectors(CENTRES, seed=100)[0]
    nearest = np.argsort(-(unit_vectors(CENTRES, seed=100) @ query))
    _, which = clustered(5000, seed=7)
    rows = np.flatnonzero(np.isin(which, nearest[-12:]))  # the 12 farthest topics, ~30%
    found = index.search(query, 10, AllowedRows.of(rows))
    np.testing.assert_array_equal(found.rows, _exact_top(vectors, query, 10, rows))


def test_small_filter_on_approximate_index_is_exact(
    approximate: tuple[VectorIndex, np.ndarray],
) -> None:
    index, vectors = approximate
    rows = np.arange(3, 5000, 41)
    query = questions(1, seed=10)[0]
    found = index.search(query, 5, AllowedRows.of(rows))
    np.testing.assert_array_equal(found.rows, _exact_top(vectors, query, 5, rows))


def test_filter_allowing_fewer_rows_than_k_on_approximate_index(
    approximate: tuple[VectorIndex, np.ndarray],
) -> None:
    index, _ = approximate
    index.exact_rows = 0
    found = index.search(questions(1, seed=11)[0], 10, AllowedRows.of(np.array([17, 3, 17])))
    assert sorted(found.rows.tolist()) == [3, 17]


def test_approximate_vectors_are_held_once_and_copied_out(
    approximate: tuple[VectorIndex, np.ndarray],
) -> None:
    index, vectors = approximate
    copy = index.vectors()
    np.testing.assert_array_equal(copy, vectors)
    copy[:] = 0.0
    query = questions(1, seed=12)[0]
    for rows in (np.array([0, 4999, 17]), np.arange(4999, -1, -2)):  # one batch, several
        scores = index.similarities(rows, query)
        np.testing.assert_allclose(scores, vectors[rows] @ query, rtol=1e-5, atol=1e-6)


def test_tiny_approximate_index_answers_k() -> None:
    """Fewer vectors than a list needs for training: one list, searched whole."""
    vectors = unit_vectors(30, seed=16)
    index = VectorIndex.build(vectors, DIM, approximate=True)
    assert index.approximate
    query = unit_vectors(1, seed=17)[0]
    np.testing.assert_array_equal(
        index.search(query, 10).rows, _exact_top(vectors, query, 10, np.arange(30))
    )
