"""Watched questions: the store's contract on SQLite and PostgreSQL (renewal, limits, also
under concurrent adds, expiry, removal, the posts outbox) and the matcher over the hash
embedder (only new articles, once per article, the rate limit, isolation and filters,
near-duplicates folded, merges and restarts), judged by the fused confidence and, under the
learned ranker, by the searcher."""

from __future__ import annotations

import threading
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index, update_index
from index.merge import merge_segments
from index.models import Article, JudgedPassage, ParsedArticle, SearchFilters, SearchResult
from index.query.searcher import Searcher, SearchTuning
from index.query.tuning import RANKERS
from index.store.backend import StateStores
from index.store.layout import DataDir
from index.store.watches import (
    DAY_SECONDS,
    Baseline,
    NewPost,
    NewWatch,
    SqliteWatchStore,
    WatchLimitError,
    WatchLimits,
    WatchStore,
    WatchTarget,
)
from index.text.passages import PassagePlan, make_passages
from index.watch_match import WatchMatcher
from tests.unit.conftest import HashEmbedder

PLAN = PassagePlan(max_sentences=2)
LIMITS = WatchLimits(per_member=3, per_server=4, expiry_days=30)
T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def parsed(
    article_id: str,
    title: str,
    text: str,
    collection: str = "shared",
    source: str | None = "Valley Courier",
    date: str | None = "2026-12-01",
) -> ParsedArticle:
    article = Article(
        article_id, title, text, date, source, f"https://news.test/{article_id}", collection
    )
    return ParsedArticle(article, (), f"test:{article_id}")


ARCHIVE = [
    parsed(
        "library",
        "Library hours",
        "The city library will open until nine on weekdays. Staff will be hired for the "
        "evening shifts.",
    ),
    parsed(
        "harbour",
        "Harbour reopens",
        "The harbour reopened on Tuesday after a week of repairs. Fishermen said the new wall "
        "held during the spring tides.",
    ),
]
FERRY = parsed(
    "ferry",
    "Eastgate ferry terminal",
    "The Eastgate ferry terminal will open on 14 March, the port authority said. Ferries to "
    "the islands will leave from the new terminal every hour.",
)
ORCHARD = parsed(
    "orchard",
    "Orchard wins prize",
    "The Tansy Hill orchard won the county prize for its russet apples. Its owner credits the "
    "cold spring and the bees.",
)
QUESTION = "When will the Eastgate ferry terminal open?"


def watch_of(
    embedder: HashEmbedder,
    question: str = QUESTION,
    *,
    collection: str = "shared",
    owner: str = "member-1",
    target: WatchTarget = WatchTarget.DM,
    channel_id: int = 0,
    outlets: tuple[str, ...] = (),
    since: str | None = None,
) -> NewWatch:
    return NewWatch(
        collection=collection,
        owner=owner,
        target=target,
        question=question,
        model=embedder.name,
        vector=embedder.encode([question])[0],
        channel_id=channel_id,
        outlets=outlets,
        since=since,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> SqliteWatchStore:
    return SqliteWatchStore(tmp_path / "data" / "watches.sqlite")


@pytest.fixture
def watch_store(stores: StateStores) -> WatchStore:
    """The store-level tests' store: once in SQLite, once in PostgreSQL."""
    return stores.watches()


@pytest.fixture
def data_dir(tmp_path: Path, hash_embedder: HashEmbedder) -> Path:
    folder = tmp_path / "data"
    build_index(folder, ARCHIVE, hash_embedder, PLAN)
    return folder


class CountingSearcher:
    """The searcher over the live state, reopened when an update published a new one, with
    the searches the matcher asked of it counted."""

    def __init__(self, data_dir: Path, embedder: HashEmbedder, tuning: SearchTuning) -> None:
        self.data_dir = data_dir
        self.embedder = embedder
        self.tuning = tuning
        self.searches = 0
        self._searcher: Searcher | None = None

    def __call__(self) -> CountingSearcher:
        return self

    def current(self) -> Searcher:
        live = DataDir(self.data_dir).current()
        if self._searcher is None or self._searcher.folder != live:
            self._searcher = Searcher(live, self.embedder, self.tuning)
        return self._searcher

    def judge_passages(
        self,
        question: str,
        article_ids: Collection[str],
        collections: Collection[str] | None = None,
        filters: SearchFilters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[JudgedPassage]:
        self.searches += 1
        return self.current().judge_passages(question, article_ids, collections, filters, vector)


def matcher(
    data_dir: Path,
    store: WatchStore,
    clock: Clock,
    posts_per_day: int = 3,
    ranker: str = "fused",
    embedder: HashEmbedder | None = None,
) -> WatchMatcher:
    """The matcher as `watch_matcher` builds it for `ranker`: the learned one judges with
    the searcher (over `embedder`, the one the index was built with)."""
    tuning = SearchTuning(ranker=ranker)
    judge: CountingSearcher | None = None
    if ranker == "learned":
        assert embedder is not None
        judge = CountingSearcher(data_dir, embedder, tuning)
    return WatchMatcher(
        data_dir,
        store,
        tuning,
        posts_per_day=posts_per_day,
        top_k=3,
        clock=clock,
        judge=judge,
    )


def arrive(data_dir: Path, embedder: HashEmbedder, *articles: ParsedArticle) -> None:
    update_index(data_dir, embedder, PLAN, add=articles)


# ---------------------------------------------------------------------------- the store


def test_the_same_question_again_renews_the_watch(
    watch_store: WatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    first = watch_store.add(watch_of(hash_embedder), LIMITS, clock.now)
    clock.now += 10 * DAY_SECONDS
    again = watch_store.add(
        watch_of(hash_embedder, "when  will the EASTGATE ferry terminal open"), LIMITS, clock.now
    )

    assert not first.renewed and again.renewed
    assert again.watch.id == first.watch.id
    assert again.watch.expires_at == clock.now + 30 * DAY_SECONDS
    assert again.watch.created_at == T0
    assert [w.id for w in watch_store.watches(clock.now, owner="member-1")] == [first.watch.id]
    assert np.allclose(again.watch.vector, hash_embedder.encode([QUESTION])[0])


def test_limits_per_member_and_per_server(
    watch_store: WatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    for i in range(3):
        watch_store.add(watch_of(hash_embedder, f"question {i}", collection="guild:1"), LIMITS, T0)
    with pytest.raises(WatchLimitError, match="3 questions"):
        watch_store.add(watch_of(hash_embedder, "one too many", collection="guild:1"), LIMITS, T0)
    watch_store.add(
        watch_of(hash_embedder, "another member", collection="guild:1", owner="member-2"),
        LIMITS,
        T0,
    )
    with pytest.raises(WatchLimitError, match="This server already watches 4"):
        watch_store.add(
            watch_of(hash_embedder, "a fifth", collection="guild:1", owner="member-3"),
            LIMITS,
            T0,
        )
    # Another server has its own room; renewing needs none.
    watch_store.add(
        watch_of(hash_embedder, "elsewhere", collection="guild:2", owner="m3"), LIMITS, T0
    )
    assert watch_store.add(watch_of(hash_embedder, "question 0", collection="guild:1"), LIMITS, T0)


def test_watches_expire_unless_renewed(
    watch_store: WatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    kept = watch_store.add(watch_of(hash_embedder, "renewed"), LIMITS, T0).watch
    watch_store.add(watch_of(hash_embedder, "forgotten"), LIMITS, T0)
    watch_store.add(watch_of(hash_embedder, "renewed"), LIMITS, T0 + 20 * DAY_SECONDS)
    later = T0 + 31 * DAY_SECONDS

    assert [w.id for w in watch_store.active(later)] == [kept.id]
    assert watch_store.purge_expired(later) == 1
    # An expired watch leaves room under the limit.
    for i in range(2):
        watch_store.add(watch_of(hash_embedder, f"new {i}"), LIMITS, later)


def test_a_member_gone_loses_their_dm_watches_and_a_channel_gone_its_watches(
    watch_store: WatchStore, hash_embedder: HashEmbedder
) -> None:
    dm = watch_store.add(watch_of(hash_embedder, "a", collection="guild:1"), LIMITS, T0).watch
    other_place = watch_store.add(watch_of(hash_embedder, "b"), LIMITS, T0).watch
    channel = watch_store.add(
        watch_of(
            hash_embedder, "c", collection="guild:1", target=WatchTarget.CHANNEL, channel_id=77
        ),
        LIMITS,
        T0,
    ).watch
    post = NewPost(dm.id, SearchResult("a", (), True), ("x",))
    watch_store.commit_round(Baseline("gen", frozenset()), [], [post], T0)

    assert watch_store.remove_member("member-1", "guild:1") == 1
    assert watch_store.unposted(10, list(WatchTarget)) == []
    assert [w.id for w in watch_store.active(T0)] == [other_place.id, channel.id]
    assert watch_store.remove_channel(77) == 1
    assert [w.id for w in watch_store.active(T0)] == [other_place.id]


def test_posts_are_delivered_once(watch_store: WatchStore, hash_embedder: HashEmbedder) -> None:
    dm = watch_store.add(watch_of(hash_embedder), LIMITS, T0).watch
    cli = watch_store.add(
        watch_of(hash_embedder, owner="cli", target=WatchTarget.CLI), LIMITS, T0
    ).watch
    watch_store.commit_round(
        Baseline("gen-1", frozenset({"seg-a"})),
        [("ferry", "d1")],
        [
            NewPost(dm.id, SearchResult(QUESTION, (), True, best_score=0.7), ("ferry",)),
            NewPost(cli.id, SearchResult(QUESTION, (), True), ("ferry",)),
        ],
        T0,
    )

    (pending,) = watch_store.unposted(10, [WatchTarget.DM, WatchTarget.CHANNEL])
    assert pending.watch.id == dm.id and pending.result.best_score == 0.7
    watch_store.mark_posted(pending.id, T0)
    assert watch_store.unposted(10, [WatchTarget.DM]) == []
    assert [p.watch.id for p in watch_store.unposted(10, [WatchTarget.CLI])] == [cli.id]
    assert watch_store.history([dm.id], T0 - 1)[dm.id].articles == {"ferry"}
    assert watch_store.history([dm.id], T0 - 1)[dm.id].recent_posts == 1
    assert watch_store.unseen([("ferry", "d1"), ("ferry", "d2")]) == {("ferry", "d2")}
    assert watch_store.baseline() == Baseline("gen-1", frozenset({"seg-a"}))


def test_the_posts_counted_for_the_rate_limit_are_the_recent_ones_and_removal_drops_undelivered(
    watch_store: WatchStore, hash_embedder: HashEmbedder
) -> None:
    watch = watch_store.add(watch_of(hash_embedder), LIMITS, T0).watch
    for day, article in enumerate(["a", "b", "c"]):
        post = NewPost(watch.id, SearchResult(QUESTION, (), True), (article, "shared-copy"))
        watch_store.commit_round(
            Baseline(f"gen-{day}", frozenset()), [], [post], T0 + day * DAY_SECONDS
        )
    (first, *_) = watch_store.unposted(10, [WatchTarget.DM])
    watch_store.mark_posted(first.id, T0)

    history = watch_store.history([watch.id], T0 + 0.5 * DAY_SECONDS)[watch.id]
    assert history.recent_posts == 2
    # Each article is recorded once per watch, however many posts named it.
    assert history.articles == {"a", "b", "c", "shared-copy"}
    removed = watch_store.remove(watch.id)
    assert removed is not None and removed.id == watch.id
    assert watch_store.remove(watch.id) is None
    assert watch_store.unposted(10, list(WatchTarget)) == []
    assert watch_store.history([watch.id], T0 - 1)[watch.id].recent_posts == 1


def test_adds_at_once_never_pass_a_limit(
    watch_store: WatchStore, hash_embedder: HashEmbedder
) -> None:
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def add(i: int) -> None:
        start.wait()
        try:
            watch_store.add(
                watch_of(hash_embedder, f"question {i}", collection="guild:1", owner=f"m{i}"),
                LIMITS,
                T0,
            )
            outcomes.append("added")
        except WatchLimitError:
            outcomes.append("refused")

    threads = [threading.Thread(target=add, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["added"] * 4 + ["refused"] * 2
    assert len(watch_store.watches(T0, collection="guild:1")) == 4


# --------------------------------------------------------------------------- the matcher


@pytest.mark.parametrize("ranker", RANKERS)
def test_an_answering_arrival_is_matched_an_unrelated_one_is_not(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock, ranker: str
) -> None:
    watching = matcher(data_dir, store, clock, ranker=ranker, embedder=hash_embedder)
    watch = store.add(watch_of(hash_embedder), LIMITS, T0).watch
    start = watching.catch_up()
    arrive(data_dir, hash_embedder, ORCHARD)
    unrelated = watching.catch_up()
    arrive(data_dir, hash_embedder, FERRY)
    answering = watching.catch_up()

    assert (start.articles, start.posts) == (0, 0)
    assert (unrelated.articles, unrelated.posts) == (1, 0)
    assert (answering.articles, answering.posts) == (1, 1)
    (post,) = store.unposted(10, [WatchTarget.DM])
    assert post.watch.id == watch.id
    (hit,) = post.result.hits
    assert hit.article.id == "ferry"
    assert "14 March" in hit.quote
    assert hit.confidence is not None and hit.confidence >= SearchTuning().min_score
    assert hit.link is not None and hit.link.startswith("https://news.test/ferry#:~:text=")


@pytest.mark.parametrize("ranker", RANKERS)
def test_a_posted_match_has_the_confidence_ask_gives_it(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock, ranker: str
) -> None:
    watching = matcher(data_dir, store, clock, ranker=ranker, embedder=hash_embedder)
    store.add(watch_of(hash_embedder), LIMITS, T0)
    watching.catch_up()
    arrive(data_dir, hash_embedder, FERRY, ORCHARD)
    watching.catch_up()
    asked = Searcher.open(data_dir, hash_embedder, SearchTuning(ranker=ranker)).search(QUESTION)

    (post,) = store.unposted(10, [WatchTarget.DM])
    (hit,) = post.result.hits
    top = asked.hits[0]
    assert (hit.article.id, hit.char_start, hit.char_end) == (
        top.article.id,
        top.char_start,
        top.char_end,
    )
    assert hit.confidence == pytest.approx(top.confidence, abs=1e-5)


def test_one_question_watched_by_several_members_is_judged_once_a_round(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    tuning = SearchTuning(ranker="learned")
    judge = CountingSearcher(data_dir, hash_embedder, tuning)
    watching = WatchMatcher(
        data_dir, store, tuning, posts_per_day=3, top_k=3, clock=clock, judge=judge
    )
    for owner in ("m1", "m2", "m3"):
        store.add(watch_of(hash_embedder, owner=owner), LIMITS, T0)
    store.add(watch_of(hash_embedder, owner="m4", outlets=("valley courier",)), LIMITS, T0)
    watching.catch_up()
    arrive(data_dir, hash_embedder, FERRY)
    found = watching.catch_up()

    assert found.posts == 4
    # The three with the same bounds share one search; the one limited to an outlet has its
    # own.
    assert judge.searches == 2


def test_the_learned_ranker_needs_the_searcher_to_judge_watches(
    tmp_path: Path, store: SqliteWatchStore
) -> None:
    from config.settings import Settings
    from index.watch_match import watch_matcher

    settings = Settings(data_dir=tmp_path / "data", ranker="learned")
    with pytest.raises(ValueError, match="searcher"):
        watch_matcher(settings, store)


def test_matching_reads_only_the_new_passages(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    watching = matcher(data_dir, store, clock)
    store.add(watch_of(hash_embedder), LIMITS, T0)
    watching.catch_up()
    arrive(data_dir, hash_embedder, FERRY)
    found = watching.catch_up()

    new = len(make_passages(FERRY.article.id, FERRY.article.text, (), PLAN))
    assert (found.articles, found.passages, found.watches) == (1, new, 1)


def test_the_archive_a_watch_starts_from_and_merged_segments_are_not_news(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    arrive(data_dir, hash_embedder, FERRY)
    watching = matcher(data_dir, store, clock)
    store.add(watch_of(hash_embedder), LIMITS, T0)
    first = watching.catch_up()
    arrive(data_dir, hash_embedder, ORCHARD)
    watching.catch_up()
    merged = merge_segments(data_dir, everything=True)
    after_merge = watching.catch_up()

    assert first.posts == 0
    assert merged.merged
    assert (after_merge.articles, after_merge.posts) == (0, 0)
    assert store.unposted(10, list(WatchTarget)) == []


def test_once_per_article_even_when_it_changes(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    watching = matcher(data_dir, store, clock)
    store.add(watch_of(hash_embedder), LIMITS, T0)
    watching.catch_up()
    arrive(data_dir, hash_embedder, FERRY)
    watching.catch_up()
    edited = parsed("ferry", FERRY.article.title, FERRY.article.text + " Tickets cost five pounds.")
    arrive(data_dir, hash_embedder, edited)
    again = watching.catch_up()

    assert again.articles == 1 and again.posts == 0
    assert len(store.unposted(10, list(WatchTarget))) == 1


def test_posts_per_watch_per_day_are_limited(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    watching = matcher(data_dir, store, clock, posts_per_day=1)
    store.add(watch_of(hash_embedder), LIMITS, T0)
    watching.catch_up()
    arrive(data_dir, hash_embedder, FERRY)
    watching.catch_up()
    clock.now += 3600
    second = parsed("ferry-2", "Eastgate ferry terminal date", FERRY.article.text + " Again.")
    arrive(data_dir, hash_embedder, second)
    limited = watching.catch_up()
    clock.now += DAY_SECONDS
    third = parsed("ferry-3", "Eastgate ferry terminal opening", FERRY.article.text + " Later.")
    arrive(data_dir, hash_embedder, third)
    next_day = watching.catch_up()

    assert limited.posts == 0
    assert next_day.posts == 1
    assert len(store.unposted(10, list(WatchTarget))) == 2


@pytest.mark.parametrize("ranker", RANKERS)
def test_a_servers_watch_sees_its_own_and_the_shared_articles_only(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock, ranker: str
) -> None:
    watching = matcher(data_dir, store, clock, ranker=ranker, embedder=hash_embedder)
    mine = store.add(watch_of(hash_embedder, collection="guild:1"), LIMITS, T0).watch
    store.add(watch_of(hash_embedder, collection="guild:3", owner="m3"), LIMITS, T0)
    watching.catch_up()
    elsewhere = parsed("ferry-b", FERRY.article.title, FERRY.article.text, collection="guild:2")
    here = parsed("ferry-a", FERRY.article.title, FERRY.article.text + " Here.", "guild:1")
    arrive(data_dir, hash_embedder, elsewhere, here)
    watching.catch_up()

    (post,) = store.unposted(10, list(WatchTarget))
    assert post.watch.id == mine.id
    assert [h.article.id for h in post.result.hits] == ["ferry-a"]


@pytest.mark.parametrize("ranker", RANKERS)
def test_a_watchs_outlets_and_since_filter_its_matches(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock, ranker: str
) -> None:
    watching = matcher(data_dir, store, clock, ranker=ranker, embedder=hash_embedder)
    other_outlet = store.add(watch_of(hash_embedder, outlets=("Harbour Gazette",)), LIMITS, T0)
    too_late = store.add(
        watch_of(hash_embedder, owner="m2", since="2027-01-01T00:00:00+00:00"), LIMITS, T0
    )
    this_outlet = store.add(
        watch_of(hash_embedder, owner="m3", outlets=("valley courier",)), LIMITS, T0
    )
    watching.catch_up()
    arrive(data_dir, hash_embedder, FERRY)
    watching.catch_up()

    posted = {p.watch.id for p in store.unposted(10, list(WatchTarget))}
    assert posted == {this_outlet.watch.id}
    assert other_outlet.watch.id not in posted and too_late.watch.id not in posted


def test_one_story_from_several_outlets_is_one_post_listing_them(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    watching = matcher(data_dir, store, clock)
    store.add(watch_of(hash_embedder), LIMITS, T0)
    watching.catch_up()
    copy = parsed("ferry-copy", FERRY.article.title, FERRY.article.text, source="Coast Times")
    arrive(data_dir, hash_embedder, FERRY, copy)
    found = watching.catch_up()

    assert found.posts == 1
    (post,) = store.unposted(10, list(WatchTarget))
    (hit,) = post.result.hits
    assert {hit.article.source, *(r.source for r in hit.also_in)} == {
        "Valley Courier",
        "Coast Times",
    }


def test_a_round_interrupted_before_its_commit_is_done_again_and_once(
    data_dir: Path, store: SqliteWatchStore, hash_embedder: HashEmbedder, clock: Clock
) -> None:
    store.add(watch_of(hash_embedder), LIMITS, T0)
    matcher(data_dir, store, clock).catch_up()
    arrive(data_dir, hash_embedder, FERRY)
    # The worker died after the update, before matching: a new one (new matcher) catches up.
    restarted = matcher(data_dir, store, clock)
    first = restarted.catch_up()
    second = restarted.catch_up()

    assert (first.posts, second.posts) == (1, 0)
    assert len(store.unposted(10, list(WatchTarget))) == 1


def test_the_version_changes_with_every_add_renewal_and_removal(
    watch_store: WatchStore, hash_embedder: HashEmbedder
) -> None:
    versions = [watch_store.version()]
    watch = watch_store.add(watch_of(hash_embedder), LIMITS, T0).watch
    versions.append(watch_store.version())
    watch_store.add(watch_of(hash_embedder), LIMITS, T0 + 1)
    versions.append(watch_store.version())
    watch_store.commit_round(Baseline("gen", frozenset()), [("a", "d")], [], T0)
    versions.append(watch_store.version())
    watch_store.remove(watch.id)
    versions.append(watch_store.version())

    assert versions[0] < versions[1] < versions[2] == versions[3] < versions[4]
