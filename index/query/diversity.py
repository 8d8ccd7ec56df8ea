"""Which of the ranked passages become hits: no window mostly repeating a better one, one hit
per text however many articles carry it, the newest first when asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.query.filters import newest_first


@dataclass(frozen=True, slots=True)
class Pick:
    # Position of the chosen passage in the ranking given.
    position: int
    # The passage's article, then the articles of lower ranked passages with the same text
    # (syndicated copies), in rank order.
    articles: tuple[int, ...]


def diverse(
    articles: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    text_keys: Sequence[str],
    k: int,
    max_shared: float,
) -> list[Pick]:
    """Up to `k` passages of a ranking (position i: article, character span and text key of
    the i-th best), in rank order.

    A window sharing more than `max_shared` of the shorter one's characters with a chosen
    window of the same article is passed over; a passage with the text of a chosen one folds
    into it as a copy, also once `k` are chosen.
    """
    chosen: list[tuple[int, list[int]]] = []
    by_text: dict[str, int] = {}
    for i, article in enumerate(int(a) for a in articles):
        start, end = int(starts[i]), int(ends[i])
        if any(
            int(articles[j]) == article
            and _shared_chars(start, end, int(starts[j]), int(ends[j]))
            > max_shared * min(end - start, int(ends[j]) - int(starts[j]))
            for j, _ in chosen
        ):
            continue
        key = text_keys[i]
        if key in by_text:
            copies = chosen[by_text[key]][1]
            if article not in copies:
                copies.append(article)
        elif len(chosen) < k:
            by_text[key] = len(chosen)
            chosen.append((i, [article]))
    return [Pick(i, tuple(copies)) for i, copies in chosen]


def newest(picks: Sequence[Pick], first_seen: np.ndarray, k: int) -> list[Pick]:
    """The `k` picks whose article was published (`first_seen` per article: POSIX seconds,
    NaN when undated) most recently, newest first, undated last, ties in rank order."""
    dates = [float(first_seen[p.articles[0]]) for p in picks]
    return [picks[i] for i in newest_first(dates)[:k]]


def nearest_articles(articles: np.ndarray, n: int) -> list[int]:
    """The first `n` distinct articles of a ranking, in rank order."""
    seen: list[int] = []
    for article in (int(a) for a in articles):
        if article not in seen:
            seen.append(article)
            if len(seen) == n:
                break
    return seen


def _shared_chars(start: int, end: int, other_start: int, other_end: int) -> int:
    return max(0, min(end, other_end) - max(start, other_start))
