"""The learned ranker's features: answer types, proximity and the feature matrix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.query.features import (
    FEATURE_NAMES,
    SENTENCE_FEATURE_NAMES,
    AnswerType,
    Candidate,
    answer_type,
    feature_matrix,
    holds_type,
    proximity,
    sentence_features,
)
from index.store.lexical import query_terms


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who proclaimed the oil embargo?", AnswerType.PERSON),
        ("When did the 1973 oil crisis begin?", AnswerType.DATE),
        ("In what year was the treaty signed?", AnswerType.DATE),
        ("How many members does OAPEC have?", AnswerType.NUMBER),
        ("How much did oil cost in 1974?", AnswerType.NUMBER),
        ("How many years did the war last?", AnswerType.NUMBER),
        ("Where is the harbour?", AnswerType.PLACE),
        ("Which country imported the most oil?", AnswerType.PLACE),
        ("What is the embargo called?", AnswerType.OTHER),
    ],
)
def test_the_question_words_give_the_answer_type(question: str, kind: AnswerType) -> None:
    assert answer_type(question) is kind


@pytest.mark.parametrize(
    ("sentence", "kind", "held"),
    [
        ("The crisis began in October 1973.", AnswerType.DATE, True),
        ("The crisis began after the embargo.", AnswerType.DATE, False),
        ("Prices rose by 400 percent.", AnswerType.NUMBER, True),
        ("Prices rose by four hundred percent.", AnswerType.NUMBER, True),
        ("Prices rose sharply.", AnswerType.NUMBER, False),
        ("The embargo was proclaimed by King Faisal of Saudi Arabia.", AnswerType.PERSON, True),
        ("the embargo was proclaimed at once.", AnswerType.PERSON, False),
        ("The summit was held in Vienna.", AnswerType.PLACE, True),
        ("the summit was held quickly.", AnswerType.PLACE, False),
        ("Anything at all 1973.", AnswerType.OTHER, False),
    ],
)
def test_a_sentence_holds_an_answer_type(sentence: str, kind: AnswerType, held: bool) -> None:
    assert holds_type(sentence, kind) is held


@pytest.mark.parametrize(
    ("question", "sentence", "new"),
    [
        ("When did the 1973 oil crisis begin?", "The 1973 crisis hurt.", False),
        ("When did the 1973 oil crisis begin?", "The 1973 crisis began in October.", True),
        ("How many members did OPEC have in 1973?", "In 1973 OPEC had 12 members.", True),
        ("How many members did OPEC have in 1973?", "OPEC grew in 1973.", False),
        ("Who did King Faisal meet?", "He met King Faisal.", False),
        ("Who did King Faisal meet?", "King Faisal met Henry Kissinger.", True),
        ("Where did the OPEC ministers meet?", "The ministers met in Vienna.", True),
    ],
)
def test_only_a_thing_the_question_does_not_name_is_new(
    question: str, sentence: str, new: bool
) -> None:
    kind = answer_type(question)
    asked = set(query_terms(question).informativeness)
    assert holds_type(sentence, kind, asked) is new
    # Without the question's terms, anything of the type counts.
    assert holds_type(sentence, kind)


def test_terms_close_together_are_nearer_than_terms_apart() -> None:
    terms = query_terms("harbour wall").informativeness
    near = proximity(terms, "The harbour wall held.")
    far = proximity(terms, "The harbour, after long storms and many tides, had a wall.")
    assert near == pytest.approx(1.0)
    assert 0 < far < near
    assert proximity(terms, "Nothing here matches.") == 0.0


@given(st.lists(st.sampled_from(["harbour", "wall", "tide", "the", "storm"]), max_size=12))
def test_proximity_stays_in_the_unit_interval(words: list[str]) -> None:
    terms = query_terms("harbour wall tide").informativeness
    assert 0.0 <= proximity(terms, " ".join(words)) <= 1.0


def test_sentence_features_mark_the_sentence_with_a_new_thing_of_the_asked_type() -> None:
    question = "When did the oil embargo begin?"
    terms = query_terms(question).informativeness
    rows = sentence_features(
        ["The oil embargo was a shock.", "The embargo began in October 1973."],
        terms,
        terms,
        answer_type(question),
    )
    f = {name: rows[:, i] for i, name in enumerate(SENTENCE_FEATURE_NAMES)}
    assert rows.shape == (2, len(SENTENCE_FEATURE_NAMES))
    assert f["new_type"].tolist() == [0.0, 1.0]
    assert f["first"].tolist() == [1.0, 0.0] and f["last"].tolist() == [0.0, 1.0]
    best = f["weighted_overlap"] == f["weighted_overlap"].max()
    assert f["weighted_best"].tolist() == best.astype(float).tolist()
    assert f["new_words"][1] > f["new_words"][0]


def _candidate(article: int, fused: float, sentences: tuple[str, ...]) -> Candidate:
    return Candidate(
        dense=fused,
        lexical=fused / 2,
        fused=fused,
        article=article,
        title="Oil crisis",
        passage=" ".join(sentences),
        sentences=sentences,
        position=0.5,
        age_days=None,
    )


def test_the_matrix_has_a_row_per_candidate_in_the_named_order() -> None:
    question = "When did the oil embargo begin?"
    terms = query_terms(question).informativeness
    rows = feature_matrix(
        terms,
        answer_type(question),
        [
            _candidate(0, 0.9, ("The embargo began in October 1973.",)),
            _candidate(0, 0.7, ("Prices rose.", "The embargo hurt.")),
            _candidate(1, 0.5, ("Nothing about it.",)),
        ],
    )
    f = {name: rows[:, i] for i, name in enumerate(FEATURE_NAMES)}
    assert rows.shape == (3, len(FEATURE_NAMES))
    assert f["fused_rank"].tolist() == [1.0, 0.5, pytest.approx(1 / 3)]
    assert f["sentence_holds_type"].tolist() == [1.0, 0.0, 0.0]
    assert f["sentence_new_type"].tolist() == [1.0, 0.0, 0.0]
    assert f["asks_type"].tolist() == [1.0, 1.0, 1.0]
    assert f["sentence_overlap_bare"][0] > f["sentence_overlap_bare"][2] == 0.0
    assert f["margin_next"].tolist() == pytest.approx([0.2, 0.2, 0.0])
    assert f["margin_top"].tolist() == pytest.approx([0.0, 0.2, 0.4])
    assert f["article_share"].tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3])
    assert f["dated"].tolist() == [0.0, 0.0, 0.0]


def test_a_dated_article_gives_its_age() -> None:
    terms = query_terms("embargo").informativeness
    dated = Candidate(0.5, 0.5, 0.5, 0, "T", "embargo", ("embargo",), 0.0, 30.0)
    rows = feature_matrix(terms, AnswerType.OTHER, [dated])
    assert rows[0, FEATURE_NAMES.index("dated")] == 1.0
    assert rows[0, FEATURE_NAMES.index("age")] == pytest.approx(np.log1p(30.0) / 10)


def test_no_candidates_give_an_empty_matrix() -> None:
    assert feature_matrix({}, AnswerType.OTHER, []).shape == (0, len(FEATURE_NAMES))
