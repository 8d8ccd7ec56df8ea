"""The candidate pool's two scores fused into one ranking score, boosted, and ordered."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.models import Mode


@dataclass(frozen=True, slots=True)
class Ranking:
    """Candidate passages best first; position i of every array is one passage."""

    rows: np.ndarray
    score: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def lexical_share(mode: Mode, hybrid: float) -> float:
    """The lexical share of the fused score: `hybrid` unless `mode` asks for one side only."""
    return {Mode.DENSE: 0.0, Mode.LEXICAL: 1.0}.get(mode, hybrid)


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """Cosine similarity and normalised BM25 (both in [0, 1]) mixed, `weight` lexical."""
    return (1 - weight) * dense + weight * lexical


def boost(fused: np.ndarray, preferred: np.ndarray, amount: float) -> np.ndarray:
    """`fused` raised by `amount` where `preferred` (booleans) holds."""
    return fused + amount * preferred


def rank(rows: np.ndarray, fused: np.ndarray, dense: np.ndarray, lexical: np.ndarray) -> Ranking:
    """The rows ordered by `fused`, highest first; ties keep their given order."""
    order = np.argsort(-fused, kind="stable")
    return Ranking(rows[order], fused[order], dense[order], lexical[order])


def reorder_top(ranking: Ranking, order: np.ndarray) -> Ranking:
    """`ranking` with its first `len(order)` positions put in `order` (positions into it);
    the rest keep their place after them."""
    full = np.concatenate([order, np.arange(len(order), len(ranking))]).astype(np.int64)
    return Ranking(
        ranking.rows[full], ranking.score[full], ranking.dense[full], ranking.lexical[full]
    )
