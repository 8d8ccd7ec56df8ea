"""Each hit carries its confidence; the first one's is the result's `best_score`."""

from __future__ import annotations

from pathlib import Path

from index.models import BuildReport
from index.query.searcher import Searcher, SearchTuning
from tests.unit.conftest import HashEmbedder


def test_every_hit_has_a_confidence_and_the_first_is_the_best_score(
    built_index: tuple[Path, BuildReport], hash_embedder: HashEmbedder
) -> None:
    searcher = Searcher.open(built_index[0], hash_embedder, SearchTuning(min_score=0.0))
    try:
        result = searcher.search("harbour reopened repairs library hours", 3)
    finally:
        searcher.close()
    assert result.matched and len(result.hits) >= 2
    assert result.hits[0].confidence == result.best_score
    for hit in result.hits:
        assert hit.confidence is not None and 0.0 <= hit.confidence <= 1.0
