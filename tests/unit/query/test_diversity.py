"""Which ranked passages become hits: no window mostly repeating a better one, one hit per
text, at most k, in rank order; and the newest-first choice."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from index.query.diversity import Pick, diverse, nearest_articles, newest

HALF = 0.5


@st.composite
def _rankings(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    n = draw(st.integers(0, 25))
    articles = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    starts = draw(st.lists(st.integers(0, 200), min_size=n, max_size=n))
    lengths = draw(st.lists(st.integers(1, 120), min_size=n, max_size=n))
    keys = draw(st.lists(st.sampled_from("abcdefg"), min_size=n, max_size=n))
    return (
        np.array(articles, dtype=np.int64),
        np.array(starts, dtype=np.int64),
        np.array([s + n for s, n in zip(starts, lengths, strict=True)], dtype=np.int64),
        keys,
    )


def _shared(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


@given(_rankings(), st.integers(0, 8))
def test_picks_are_few_diverse_distinct_and_in_rank_order(
    ranking: tuple[np.ndarray, np.ndarray, np.ndarray, list[str]], k: int
) -> None:
    articles, starts, ends, keys = ranking
    picks = diverse(articles, starts, ends, keys, k, HALF)
    assert len(picks) <= k
    positions = [p.position for p in picks]
    assert positions == sorted(set(positions))
    assert len({keys[i] for i in positions}) == len(positions)
    for n, a in enumerate(positions):
        for b in positions[n + 1 :]:
            if articles[a] == articles[b]:
                span_a, span_b = (starts[a], ends[a]), (starts[b], ends[b])
                shorter = min(ends[a] - starts[a], ends[b] - starts[b])
                assert _shared(span_a, span_b) <= shorter / 2
    for p in picks:
        assert p.articles[0] == articles[p.position]
        assert len(set(p.articles)) == len(p.articles)
        # Copies are articles that carry the pick's text somewhere in the ranking.
        assert all(
            any(articles[i] == a and keys[i] == keys[p.position] for i in range(len(keys)))
            for a in p.articles
        )


@given(_rankings())
def test_the_best_passage_is_always_picked(
    ranking: tuple[np.ndarray, np.ndarray, np.ndarray, list[str]],
) -> None:
    articles, starts, ends, keys = ranking
    picks = diverse(articles, starts, ends, keys, 1, HALF)
    assert [p.position for p in picks] == ([0] if len(keys) else [])


def test_same_text_copies_fold_into_one_hit_even_past_k() -> None:
    articles = np.array([7, 8, 9, 8])
    starts, ends = np.array([0, 0, 0, 500]), np.array([100, 100, 100, 600])
    picks = diverse(articles, starts, ends, ["x", "y", "x", "x"], 2, HALF)
    assert picks == [Pick(0, (7, 9, 8)), Pick(1, (8,))]


def test_neighbouring_windows_sharing_an_edge_sentence_stay() -> None:
    # Windows of 3 sentences of 40 characters, one sentence apart, then two apart.
    articles = np.array([1, 1, 1])
    starts, ends = np.array([0, 40, 80]), np.array([120, 160, 200])
    picks = diverse(articles, starts, ends, ["a", "b", "c"], 3, HALF)
    # The second shares 80 of 120 characters with the first; the third only 40.
    assert [p.position for p in picks] == [0, 2]


def test_newest_orders_by_publication_undated_last() -> None:
    picks = [Pick(0, (0,)), Pick(1, (1,)), Pick(2, (2,)), Pick(3, (3, 0))]
    first_seen = np.array([100.0, math.nan, 300.0, 200.0])
    assert newest(picks, first_seen, 3) == [picks[2], picks[3], picks[0]]
    assert newest(picks, first_seen, 10)[-1] == picks[1]
    assert newest([], first_seen, 3) == []


def test_nearest_articles_are_the_first_distinct_ones() -> None:
    assert nearest_articles(np.array([4, 4, 2, 4, 9, 1]), 3) == [4, 2, 9]
    assert nearest_articles(np.array([4, 4]), 3) == [4]
