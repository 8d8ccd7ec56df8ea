"""BM25 over passages: normalised scores, save/load round trip, question words ignored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.store.lexical import (
    LexicalIndex,
    Postings,
    informativeness,
    query_terms,
    term_overlap,
    tokenize,
)

DOCS = [
    "The harbour reopened on Tuesday after a week of repairs.",
    "The city library will open until nine on weekdays.",
    "Harbour fishermen said the new harbour wall held during the tides.",
    "!!! ---",
    "Kirby said the targets were selected because militias used the facilities.",
]


def test_tokenize_stems_and_drops_stop_and_question_words() -> None:
    assert tokenize("Who reopened the Harbours on Tuesday?") == ["reopen", "harbour", "tuesday"]
    assert tokenize("What is it, and why did they?") == []


def test_query_terms_are_the_tokens_with_repeats_and_their_informativeness() -> None:
    terms = query_terms("Who said the harbour, the Harbour wall, held?")
    assert terms.stems == tuple(tokenize("Who said the harbour, the Harbour wall, held?"))
    assert terms.stems.count("harbour") == 2
    assert dict(terms.informativeness) == dict(informativeness("harbour wall said held"))
    # A common word weighs less than a rare one.
    assert terms.informativeness["said"] < terms.informativeness["harbour"]


def test_best_passage_ranks_first_and_scores_are_normalised() -> None:
    index = LexicalIndex.build(DOCS)
    scores = index.scores(query_terms("Who selected the targets?"))
    assert scores.shape == (len(DOCS),)
    assert int(np.argmax(scores)) == 4
    assert scores[4] == pytest.approx(1.0)
    assert scores[1] == 0.0 and scores[3] == 0.0


def test_questions_without_known_terms_score_zero() -> None:
    index = LexicalIndex.build(DOCS)
    for question in ("What is it?", "zebra crossing", ""):
        np.testing.assert_array_equal(index.scores(query_terms(question)), np.zeros(len(DOCS)))


def test_save_and_load_give_the_same_scores(tmp_path: Path) -> None:
    index = LexicalIndex.build(DOCS)
    folder = tmp_path / "lexical"
    folder.mkdir()
    index.save(folder)
    loaded = LexicalIndex.load(folder, len(DOCS))
    assert loaded.size == len(DOCS)
    for question in ("Who reopened the harbour?", "library weekdays", "militias facilities"):
        np.testing.assert_array_equal(
            loaded.scores(query_terms(question)), index.scores(query_terms(question))
        )
        assert loaded.term_weights(query_terms(question)) == index.term_weights(
            query_terms(question)
        )


def test_a_document_without_terms_keeps_its_row() -> None:
    # Row i must stay passage i even when a passage has no indexable word.
    index = LexicalIndex.build(["", "harbour harbour", "..."])
    scores = index.scores(query_terms("harbour"))
    assert scores.tolist() == [0.0, 1.0, 0.0]


def test_term_overlap() -> None:
    index = LexicalIndex.build(DOCS)
    terms = index.term_weights(query_terms("Who reopened the harbour?"))
    assert set(terms) == {"reopen", "harbour"}
    assert term_overlap(terms, "The harbour reopened.") == pytest.approx(1.0)
    assert term_overlap(terms, "Nothing relevant.") == 0.0
    assert 0.0 < term_overlap(terms, "A harbour.") < 1.0
    assert term_overlap({}, "anything") == 0.0


_vocabulary = st.sampled_from(
    ["harbour", "library", "council", "vote", "the", "who", "tides", "wall", "nine", "2021"]
)
_documents = st.lists(st.lists(_vocabulary, max_size=12).map(" ".join), min_size=1, max_size=15)


@settings(max_examples=60, deadline=None)
@given(_documents, st.lists(_vocabulary, max_size=6).map(" ".join))
def test_scores_are_always_within_zero_and_one(documents: list[str], question: str) -> None:
    scores = LexicalIndex.build(documents).scores(query_terms(question))
    assert scores.shape == (len(documents),)
    assert np.all(scores >= 0.0)
    assert np.all(scores <= 1.0)


def test_an_empty_corpus_can_be_built() -> None:
    index = LexicalIndex.build([])
    assert index.size == 0
    assert index.scores(query_terms("harbour")).shape == (0,)


def test_the_stop_words_are_the_ones_bm25s_applies() -> None:
    from bm25s.stopwords import STOPWORDS_EN

    assert set(tokenize(" ".join(STOPWORDS_EN))) == set()
    assert tokenize("army navy") == ["armi", "navi"]


def test_scores_equal_bm25s_own() -> None:
    import bm25s

    theirs = bm25s.BM25(method="lucene")
    theirs.index([tokenize(doc) or ["\x00"] for doc in DOCS], show_progress=False)
    ours = LexicalIndex.build(DOCS)
    for question in ("harbour harbour wall", "Kirby targets militias", "library nine"):
        ids = theirs.get_tokens_ids(tokenize(question))
        raw = np.asarray(theirs.get_scores_from_ids(ids), dtype=np.float32)
        data, indptr = theirs.scores["data"], theirs.scores["indptr"]
        ceiling = float(sum(data[indptr[i] : indptr[i + 1]].max() for i in ids))
        np.testing.assert_allclose(
            ours.scores(query_terms(question)), (raw / ceiling).clip(0.0, 1.0), atol=1e-6
        )


def test_segments_with_deletions_score_like_one_fresh_index() -> None:
    extra = ["Harbour harbour harbour.", "The library wall."]
    # DOCS[1] and extra[0] are deleted: the statistics must leave them out entirely.
    segments = [Postings.of(DOCS), Postings.of(extra)]
    live = np.ones(len(DOCS) + len(extra), dtype=bool)
    live[[1, len(DOCS)]] = False
    segmented = LexicalIndex(segments, live)
    kept = [d for d, alive in zip(DOCS + extra, live, strict=True) if alive]
    fresh = LexicalIndex.build(kept)
    for question in ("harbour wall", "library", "Kirby targets", "zebra"):
        terms = query_terms(question)
        scores = segmented.scores(terms)
        assert scores[~live].tolist() == [0.0, 0.0]
        np.testing.assert_allclose(scores[live], fresh.scores(terms), atol=1e-7)
        assert segmented.term_weights(terms) == pytest.approx(fresh.term_weights(terms))
    merged = Postings.merged([(segments[0], live[: len(DOCS)]), (segments[1], live[len(DOCS) :])])
    for question in ("harbour wall", "library"):
        np.testing.assert_array_equal(
            LexicalIndex([merged]).scores(query_terms(question)),
            fresh.scores(query_terms(question)),
        )


def test_an_unreadable_index_is_reported_as_corrupt(tmp_path: Path) -> None:
    from index.errors import IndexCorruptError

    LexicalIndex.build(DOCS).save(tmp_path)
    (tmp_path / "vocab.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        LexicalIndex.load(tmp_path, len(DOCS))
