"""The learned ranker's model file: written and read back with numpy alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.query import learned
from index.query.features import FEATURE_NAMES
from index.query.fusion import Ranking, reorder_top

N = len(FEATURE_NAMES)


def _model(seed: int) -> learned.LinearModel:
    rng = np.random.default_rng(seed)
    return learned.LinearModel(rng.normal(size=N), rng.uniform(0.5, 2, N), rng.normal(size=N), 0.3)


def test_a_saved_model_scores_as_before(tmp_path: Path) -> None:
    path = tmp_path / "ranker.npz"
    ranker = _model(1)
    sure = replace(_model(2), mean=np.zeros(N + 2), scale=np.ones(N + 2), coef=np.ones(N + 2))
    learned.save(path, ranker, sure, 20, 0.1)
    loaded = learned.load(path)
    features = np.random.default_rng(3).normal(size=(5, N))
    assert loaded.depth == 20 and loaded.quote_type_bonus == pytest.approx(0.1)
    assert np.allclose(loaded.ranker.logits(features), ranker.logits(features))
    probabilities = loaded.confidence.probabilities(
        loaded.confidence_features(features, loaded.ranker.logits(features))
    )
    assert ((probabilities > 0) & (probabilities < 1)).all()


def test_the_lead_is_over_the_best_other_candidate() -> None:
    model = learned.LearnedRanker(_model(1), _model(2), 20, 0.0)
    both = model.confidence_features(np.zeros((3, N)), np.array([1.0, 3.0, 2.0]))
    assert both[:, -1].tolist() == [-2.0, 1.0, -1.0]


def test_a_model_of_other_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ranker.npz"
    np.savez(path, feature_names=np.array(["dense"]))
    with pytest.raises(learned.ModelFileError):
        learned.load(path)
    with pytest.raises(learned.ModelFileError):
        learned.load(tmp_path / "missing.npz")


def test_the_committed_model_loads() -> None:
    if not learned.MODEL_PATH.exists():
        pytest.skip("no model trained yet (python -m bench.train_ranker)")
    model = learned.load()
    assert model.ranker.coef.shape == (N,)
    assert model.confidence.coef.shape == (N + 2,)


def test_reordering_moves_only_the_top() -> None:
    ranking = Ranking(np.arange(5), np.arange(5.0), np.zeros(5), np.zeros(5))
    moved = reorder_top(ranking, np.array([2, 0, 1]))
    assert moved.rows.tolist() == [2, 0, 1, 3, 4]
    assert moved.score.tolist() == [2.0, 0.0, 1.0, 3.0, 4.0]
