from pathlib import Path

from index.models import ShownHit
from index.store.feedback import NO_MATCH_KEPT, SqliteFeedbackStore


def _hit(passage: str) -> ShownHit:
    return ShownHit(passage, "a", "Title", None, "The quote.", 0, 10)


def test_demotion_counts_distinct_members_per_scope(tmp_path: Path) -> None:
    store = SqliteFeedbackStore(tmp_path)
    store.vote("g1", "ans1", _hit("a#0-10"), "m1", -1, 2)
    store.vote("g1", "ans2", _hit("a#0-10"), "m1", -1, 2)
    assert store.demoted("g1", 2) == frozenset()
    outcome = store.vote("g1", "ans3", _hit("a#0-10"), "m2", -1, 2)
    assert outcome.demoted and outcome.downvoters == 2
    assert store.demoted("g1", 2) == {"a#0-10"}
    assert store.demoted("g2", 2) == frozenset()
    # Reopened (a restart), the votes are still there.
    assert SqliteFeedbackStore(tmp_path).demoted("g1", 2) == {"a#0-10"}


def test_the_no_match_log_keeps_the_latest(tmp_path: Path) -> None:
    store = SqliteFeedbackStore(tmp_path)
    for n in range(NO_MATCH_KEPT + 5):
        store.log_no_match("g1", f"question {n}")
    latest = store.no_match("g1", 3)
    assert [q.question for q in latest] == [f"question {NO_MATCH_KEPT + 4 - n}" for n in range(3)]
    assert len(store.no_match("g1", 1000)) == NO_MATCH_KEPT
    assert store.scopes() == ["g1"]
