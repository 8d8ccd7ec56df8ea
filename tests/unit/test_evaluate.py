import itertools

import pytest

from index.evaluate import calibrate


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
