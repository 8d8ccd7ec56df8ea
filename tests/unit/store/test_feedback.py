"""Votes and the "no match" log: the contract, against SQLite and PostgreSQL."""

from index.models import ShownHit
from index.store.backend import StateStores
from index.store.feedback import NO_MATCH_KEPT


def _hit(passage: str) -> ShownHit:
    return ShownHit(passage, "a", "Title", None, "The quote.", 0, 10)


def test_demotion_counts_distinct_members_per_scope(stores: StateStores) -> None:
    store = stores.feedback()
    store.vote("g1", "ans1", _hit("a#0-10"), "m1", -1, 2)
    store.vote("g1", "ans2", _hit("a#0-10"), "m1", -1, 2)
    assert store.demoted("g1", 2) == frozenset()
    outcome = store.vote("g1", "ans3", _hit("a#0-10"), "m2", -1, 2)
    assert outcome.demoted and outcome.downvoters == 2
    assert store.demoted("g1", 2) == {"a#0-10"}
    assert store.demoted("g2", 2) == frozenset()
    # Reopened (a restart), the votes are still there.
    assert stores.feedback().demoted("g1", 2) == {"a#0-10"}


def test_the_no_match_log_keeps_the_latest(stores: StateStores) -> None:
    store = stores.feedback()
    for n in range(NO_MATCH_KEPT + 5):
        store.log_no_match("g1", f"question {n}")
    latest = store.no_match("g1", 3)
    assert [q.question for q in latest] == [f"question {NO_MATCH_KEPT + 4 - n}" for n in range(3)]
    assert len(store.no_match("g1", 1000)) == NO_MATCH_KEPT
    assert store.scopes() == ["g1"]


def test_a_later_press_replaces_the_members_vote_and_passages_rank_by_down_voters(
    stores: StateStores,
) -> None:
    store = stores.feedback()
    store.vote("g1", "ans1", _hit("a#0-10"), "m1", 1, 2)
    replaced = store.vote("g1", "ans1", _hit("a#0-10"), "m1", -1, 2)
    store.vote("g1", "ans2", _hit("b#0-10"), "m1", -1, 2)
    store.vote("g1", "ans3", _hit("b#0-10"), "m2", -1, 2)
    store.vote("g1", "ans4", _hit("b#0-10"), "m3", 1, 2)

    assert (replaced.value, replaced.previous, replaced.downvoters) == (-1, 1, 1)
    ranked = store.passages("g1", 2, 10)
    assert [(p.passage_id, p.down, p.up, p.demoted) for p in ranked] == [
        ("b#0-10", 2, 1, True),
        ("a#0-10", 1, 0, False),
    ]
    assert store.clear("g1", "b#0-10") == 3
    assert store.clear("g1", "b#0-10") == 0
    assert [p.passage_id for p in store.passages("g1", 2, 10)] == ["a#0-10"]
