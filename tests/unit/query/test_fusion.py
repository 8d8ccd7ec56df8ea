"""Fusion of the two sides' scores, the time boost, and the order they give."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from index.models import Mode
from index.query.fusion import boost, fuse, lexical_share, rank

_unit = st.floats(0.0, 1.0, allow_nan=False, width=32)
_weights = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def _sides(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 20))
    dense = draw(arrays(np.float32, n, elements=_unit))
    lexical = draw(arrays(np.float32, n, elements=_unit))
    return dense, lexical


@given(_sides())
def test_weight_zero_is_dense_alone_and_one_is_lexical_alone(
    sides: tuple[np.ndarray, np.ndarray],
) -> None:
    dense, lexical = sides
    np.testing.assert_array_equal(fuse(dense, lexical, 0.0), dense)
    np.testing.assert_array_equal(fuse(dense, lexical, 1.0), lexical)


@given(_sides(), _weights, st.data())
def test_fusion_never_drops_when_either_side_rises(
    sides: tuple[np.ndarray, np.ndarray], weight: float, data: st.DataObject
) -> None:
    dense, lexical = sides
    i = data.draw(st.integers(0, len(dense) - 1))
    before = fuse(dense, lexical, weight)
    higher_dense, higher_lexical = dense.copy(), lexical.copy()
    higher_dense[i] = data.draw(st.floats(float(dense[i]), 1.0, width=32))
    higher_lexical[i] = data.draw(st.floats(float(lexical[i]), 1.0, width=32))
    assert fuse(higher_dense, lexical, weight)[i] >= before[i]
    assert fuse(dense, higher_lexical, weight)[i] >= before[i]
    # The other passages' scores do not move.
    others = np.arange(len(dense)) != i
    np.testing.assert_array_equal(fuse(higher_dense, lexical, weight)[others], before[others])


@given(_sides(), _weights)
def test_fused_scores_stay_between_the_two_sides(
    sides: tuple[np.ndarray, np.ndarray], weight: float
) -> None:
    dense, lexical = sides
    fused = fuse(dense, lexical, weight)
    low, high = np.minimum(dense, lexical), np.maximum(dense, lexical)
    assert np.all(fused >= low - 1e-6) and np.all(fused <= high + 1e-6)


def test_the_mode_decides_the_lexical_share() -> None:
    assert lexical_share(Mode.DENSE, 0.3) == 0.0
    assert lexical_share(Mode.LEXICAL, 0.3) == 1.0
    assert lexical_share(Mode.HYBRID, 0.3) == 0.3


def test_the_boost_raises_only_preferred_passages() -> None:
    fused = np.array([0.5, 0.4, 0.3], dtype=np.float32)
    boosted = boost(fused, np.array([False, True, False]), 0.2)
    np.testing.assert_allclose(boosted, [0.5, 0.6, 0.3])


@given(st.lists(st.sampled_from([0.1, 0.5, 0.9]), min_size=1, max_size=15))
def test_rank_orders_best_first_and_keeps_ties_in_their_given_order(scores: list[float]) -> None:
    rows = np.arange(100, 100 + len(scores), dtype=np.int64)
    fused = np.array(scores)
    ranking = rank(rows, fused, fused / 2, fused / 4)
    assert len(ranking) == len(scores)
    assert list(ranking.score) == sorted(scores, reverse=True)
    for a, b in zip(ranking.rows, ranking.rows[1:], strict=False):
        if fused[a - 100] == fused[b - 100]:
            assert a < b
    # Every array follows the same order.
    np.testing.assert_array_equal(ranking.dense, fused[ranking.rows - 100] / 2)
    np.testing.assert_array_equal(ranking.lexical, fused[ranking.rows - 100] / 4)
