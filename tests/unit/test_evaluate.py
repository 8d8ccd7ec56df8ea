import itertools

import pytest

from index.evaluate import Question, calibrate, spread


def test_threshold_is_the_lowest_that_declines_the_target_share() -> None:
    unanswerable = [0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90, 0.95]
    (point,) = calibrate(unanswerable, [0.5, 0.93, 0.99], [True, True, False], targets=[0.9])
    # Nine of ten lie below 0.901; 0.900 would leave 0.90 itself answered.
    assert point.min_score == pytest.approx(0.901)
    assert point.declined_unanswerable == pytest.approx(0.9)
    # Of three answerable questions only the second clears it with its answer found.
    assert point.hit5_kept == pytest.approx(1 / 3)


def test_higher_targets_never_lower_the_threshold_or_raise_what_is_kept() -> None:
    unanswerable = [i / 100 for i in range(100)]
    answerable = [0.3 + i / 200 for i in range(100)]
    points = calibrate(unanswerable, answerable, [i % 3 != 0 for i in range(100)])
    assert [p.target for p in points] == [0.80, 0.85, 0.90, 0.95]
    for low, high in itertools.pairwise(points):
        assert low.min_score <= high.min_score
        assert low.hit5_kept >= high.hit5_kept
    for p in points:
        assert p.declined_unanswerable >= p.target


def test_ties_at_the_cut_are_declined_together() -> None:
    (point,) = calibrate([0.5, 0.5, 0.5, 0.5], [0.5], [True], targets=[0.5])
    assert point.min_score == pytest.approx(0.501)
    assert point.declined_unanswerable == 1.0
    assert point.hit5_kept == 0.0


def test_nothing_to_calibrate_on() -> None:
    assert calibrate([], [0.5], [True]) == ()


def _questions(per_article: dict[str, int]) -> list[Question]:
    return [
        Question(f"{a}{i}", f"question {i} about {a}", a, ((0, 1),))
        for a, n in per_article.items()
        for i in range(n)
    ]


def test_a_sample_spreads_over_every_article_in_order() -> None:
    """A set asked article by article: the first N would ask about the first articles only."""
    questions = _questions({"a": 40, "b": 30, "c": 20, "d": 10})
    sample = spread(questions, 10)
    assert len(sample) == len({q.id for q in sample}) == 10
    assert [q.article_id for q in sample] == list("aaaabbbccd")
    assert sample == sorted(sample, key=questions.index)


@pytest.mark.parametrize("n", [1, 7, 99, 100, 250])
def test_a_sample_is_n_distinct_questions_or_all_of_them(n: int) -> None:
    questions = _questions({"a": 60, "b": 40})
    sample = spread(questions, n)
    assert len({q.id for q in sample}) == min(n, len(questions))
    assert sample[0] == questions[0]
