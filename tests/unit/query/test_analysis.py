"""The question analysed once: topic without time words, window, terms, weights, vector."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from index.query.analysis import analyse
from index.store.lexical import LexicalIndex, query_terms
from tests.unit.conftest import HashEmbedder

NOW = datetime(2024, 7, 10, 12, tzinfo=UTC)
LEXICAL = LexicalIndex.build(["The harbour wall held.", "The library opens late."])


def test_time_words_give_the_window_and_stay_out_of_everything_matched() -> None:
    embedder = HashEmbedder()
    query = analyse("Did the harbour wall hold this week?", NOW, LEXICAL, embedder)
    assert query.text == "Did the harbour wall hold this week?"
    assert query.topic == "Did the harbour wall hold?"
    assert query.window is not None and query.window.start <= NOW <= query.window.end
    assert query.terms == query_terms(query.topic)
    np.testing.assert_array_equal(query.vector, embedder.encode([query.topic])[0])


def test_quote_weights_are_each_terms_best_bm25_contribution_zero_when_unknown() -> None:
    query = analyse("harbour zebra", NOW, LEXICAL, HashEmbedder())
    assert query.window is None
    assert list(query.quote_weights) == ["harbour", "zebra"]
    assert query.quote_weights["harbour"] > 0.0 and query.quote_weights["zebra"] == 0.0
