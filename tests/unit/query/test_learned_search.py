"""A search with the learned ranker: the fused candidates reordered, its own confidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.models import Article, BuildReport, ParsedArticle, passage_id
from index.query import learned
from index.query.features import FEATURE_NAMES, SENTENCE_FEATURE_NAMES
from index.query.searcher import Searcher, SearchTuning
from index.store.layout import DataDir
from index.text.passages import PassagePlan
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
        shown = searcher._diverse(table.rows, model.keep_top)
        kept = np.array([p.position for p in shown], dtype=np.int64)
        expected = searcher.passage_id(
            int(table.rows[model.order(model.ranker.logits(table.features), kept)[0]])
        )
    finally:
        searcher.close()
    assert result.matched
    first = result.hits[0]
    assert passage_id(first.article.id, first.char_start, first.char_end) == expected
    assert first.confidence == result.best_score
    for hit in result.hits:
        assert hit.confidence is not None and 0.0 <= hit.confidence <= 1.0


def test_the_hits_pass_over_overlapping_windows_in_the_learned_order(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    """The hits are picked from the ranker's order, not the fused one: no two windows of one
    article sharing more than `max_shared` of the shorter one, whichever order it chose."""
    text = " ".join(f"The harbour wall number {i} held during the tides." for i in range(8))
    article = ParsedArticle(Article(id="walls", title="Harbour walls", text=text), (), "test")
    # Windows of three sentences, each sharing two with the next.
    data_dir = tmp_path / "data"
    build_index(data_dir, [article], hash_embedder, PassagePlan(max_sentences=3, overlap=2))
    n = len(FEATURE_NAMES)
    # The last fused candidates first (`fused_rank` is 1 / rank): an order the fused
    # ranking never gives.
    late_first = learned.LinearModel(
        np.zeros(n), np.ones(n), -np.eye(n)[FEATURE_NAMES.index("fused_rank")], 0.0
    )
    quiet = learned.LinearModel(np.zeros(n + 2), np.ones(n + 2), np.zeros(n + 2), 0.0)
    m = len(SENTENCE_FEATURE_NAMES)
    quote = learned.LinearModel(np.zeros(m), np.ones(m), np.zeros(m), 0.0)
    model = learned.LearnedRanker(late_first, quiet, quote, 20, 0)
    tuning = SearchTuning(min_score=0.0, ranker="learned")
    searcher = Searcher(DataDir(data_dir).current(), hash_embedder, tuning, learned=model)
    try:
        result = searcher.search("When did the harbour wall hold during the tides?", 10)
    finally:
        searcher.close()
    spans = [(h.char_start, h.char_end) for h in result.hits]
    assert len(spans) >= 2
    for i, (start, end) in enumerate(spans):
        for o_start, o_end in spans[:i]:
            shared = max(0, min(end, o_end) - max(start, o_start))
            assert shared <= tuning.max_shared * min(end - start, o_end - o_start)
