"""A search with the learned ranker: the fused candidates reordered, its own confidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.models import BuildReport, passage_id
from index.query import learned
from index.query.searcher import Searcher, SearchTuning
from tests.unit.conftest import HashEmbedder

QUESTION = "When was the harbour reopened after the repairs?"


def test_the_first_hit_is_the_candidate_the_model_scores_highest(
    built_index: tuple[Path, BuildReport], hash_embedder: HashEmbedder
) -> None:
    if not learned.MODEL_PATH.exists():
        pytest.skip("no model trained yet (python -m bench.train_ranker)")
    model = learned.load()
    tuning = SearchTuning(min_score=0.0, ranker="learned")
    searcher = Searcher.open(built_index[0], hash_embedder, tuning)
    try:
        table = searcher.ranked_features(QUESTION, model.depth)
        result = searcher.search(QUESTION, 5)
        expected = searcher.passage_id(
            int(table.rows[np.argmax(model.ranker.logits(table.features))])
        )
    finally:
        searcher.close()
    assert result.matched
    first = result.hits[0]
    assert passage_id(first.article.id, first.char_start, first.char_end) == expected
    assert first.confidence == result.best_score
    for hit in result.hits:
        assert hit.confidence is not None and 0.0 <= hit.confidence <= 1.0
