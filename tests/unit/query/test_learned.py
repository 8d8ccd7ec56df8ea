"""The learned ranker's model file: written and read back with numpy alone; a missing,
corrupt or mismatched file is refused with a message saying what to do."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.models import BuildReport
from index.query import learned
from index.query.features import FEATURE_NAMES, SENTENCE_FEATURE_NAMES
from index.query.fusion import Ranking, reorder_top
from index.query.searcher import Searcher, SearchTuning
from tests.unit.conftest import HashEmbedder

N = len(FEATURE_NAMES)


def _linear(seed: int, width: int = N) -> learned.LinearModel:
    rng = np.random.default_rng(seed)
    return learned.LinearModel(
        rng.normal(size=width), rng.uniform(0.5, 2, width), rng.normal(size=width), 0.3
    )


def _model(keep_top: int = 5) -> learned.LearnedRanker:
    return learned.LearnedRanker(
        _linear(1), _linear(2, N + 2), _linear(3, len(SENTENCE_FEATURE_NAMES)), 20, keep_top
    )


def test_a_saved_model_scores_as_before(tmp_path: Path) -> None:
    path = tmp_path / "ranker.npz"
    model = _model()
    learned.save(path, model)
    loaded = learned.load(path)
    features = np.random.default_rng(4).normal(size=(5, N))
    assert loaded.depth == 20 and loaded.keep_top == 5
    assert np.allclose(loaded.ranker.logits(features), model.ranker.logits(features))
    sentences = np.random.default_rng(5).normal(size=(3, len(SENTENCE_FEATURE_NAMES)))
    assert np.allclose(loaded.quote.logits(sentences), model.quote.logits(sentences))
    probabilities = loaded.confidence.probabilities(
        loaded.confidence_features(features, loaded.ranker.logits(features))
    )
    assert ((probabilities > 0) & (probabilities < 1)).all()
    assert not list(tmp_path.glob("*.tmp"))


def test_the_kept_candidates_come_first_each_part_by_score() -> None:
    scores = np.array([0.1, 0.5, 0.2, 0.9, 0.3, 0.5])
    model = _model(3)
    assert model.order(scores, np.array([], dtype=np.int64)).tolist() == [3, 1, 5, 4, 2, 0]
    # Position 1 was passed over (a window overlapping position 0): 0, 2 and 3 are shown.
    assert model.order(scores, np.array([0, 2, 3])).tolist() == [3, 2, 0, 1, 5, 4]


def test_the_lead_is_over_the_best_other_candidate() -> None:
    both = _model().confidence_features(np.zeros((3, N)), np.array([1.0, 3.0, 2.0]))
    assert both[:, -1].tolist() == [-2.0, 1.0, -1.0]


def test_judged_on_its_own_a_trailing_candidate_counts_as_tied() -> None:
    model = _model()
    features, scores = np.zeros((3, N)), np.array([1.0, 3.0, 2.0])
    ranked = model.confidence_features(features, scores)
    alone = model.standalone_features(features, scores)
    assert alone[:, -1].tolist() == [0.0, 1.0, 0.0]
    assert (alone[:, :-1] == ranked[:, :-1]).all()


def _refused(path: Path) -> str:
    with pytest.raises(learned.ModelFileError) as caught:
        learned.load(path)
    message = str(caught.value)
    assert str(path) in message
    assert "python -m bench.train_ranker" in message and "ARTICLEBOT_RANKER=fused" in message
    return message


def test_a_missing_file_is_refused_saying_how_to_train_or_choose_fused(tmp_path: Path) -> None:
    _refused(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not a zip file at all",
        b"PK\x03\x04 a truncated zip",
    ],
)
def test_a_corrupt_file_is_refused(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "ranker.npz"
    path.write_bytes(damage)
    _refused(path)


def test_a_truncated_model_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ranker.npz"
    learned.save(path, _model())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _refused(path)


def test_a_single_array_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "ranker.npz"
    with path.open("wb") as fh:
        np.save(fh, np.zeros(3))
    _refused(path)


def test_a_model_of_other_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ranker.npz"
    np.savez(
        path,
        feature_names=np.array(["dense"]),
        sentence_feature_names=np.array(SENTENCE_FEATURE_NAMES),
    )
    assert "other features" in _refused(path)


@pytest.mark.parametrize(
    "broken",
    [
        lambda m: replace(m, ranker=replace(m.ranker, coef=m.ranker.coef[:-1])),
        lambda m: replace(m, quote=replace(m.quote, scale=np.full(len(m.quote.scale), np.nan))),
        lambda m: replace(m, confidence=replace(m.confidence, intercept=float("inf"))),
        lambda m: replace(m, depth=0),
        lambda m: replace(m, keep_top=21),
        lambda m: replace(m, keep_top=-1),
    ],
)
def test_a_damaged_model_is_refused(tmp_path: Path, broken: object) -> None:
    path = tmp_path / "ranker.npz"
    assert callable(broken)
    learned.save(path, broken(_model()))
    assert "damaged" in _refused(path)


def test_choosing_learned_without_the_file_fails_when_the_searcher_opens(
    built_index: tuple[Path, BuildReport],
    hash_embedder: HashEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = tmp_path / "no-model" / "ranker.npz"
    monkeypatch.setattr(learned, "MODEL_PATH", missing)
    with pytest.raises(learned.ModelFileError, match="ARTICLEBOT_RANKER=fused"):
        Searcher.open(built_index[0], hash_embedder, SearchTuning(ranker="learned"))
    # The fused ranking never reads the file.
    Searcher.open(built_index[0], hash_embedder, SearchTuning(ranker="fused")).close()


def test_the_committed_model_loads() -> None:
    if not learned.MODEL_PATH.exists():
        pytest.skip("no model trained yet (python -m bench.train_ranker)")
    model = learned.load()
    assert model.ranker.coef.shape == (N,)
    assert model.confidence.coef.shape == (N + 2,)
    assert model.quote.coef.shape == (len(SENTENCE_FEATURE_NAMES),)


def test_reordering_moves_only_the_top() -> None:
    ranking = Ranking(np.arange(5), np.arange(5.0), np.zeros(5), np.zeros(5))
    moved = reorder_top(ranking, np.array([2, 0, 1]))
    assert moved.rows.tolist() == [2, 0, 1, 3, 4]
    assert moved.score.tolist() == [2.0, 0.0, 1.0, 3.0, 4.0]
