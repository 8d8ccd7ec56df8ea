"""Followed feeds and their articles: the contract against SQLite and PostgreSQL, and the
SQLite file's migration from its per-collection schema."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from index.errors import InputError
from index.models import Article, ParsedArticle
from index.store.backend import StateStores
from index.store.feeds import FeedRow, FeedStore, SqliteFeedStore
from index.text.minhash import signature

NOW = datetime(2024, 7, 21, 8, 0, tzinfo=UTC)


def _article(n: int, collection: str = "guild:1") -> ParsedArticle:
    url = f"https://news.example/{n}"
    text = f"Story number {n} tells of the harbour and the ferry in some detail."
    return ParsedArticle(Article(url, f"Story {n}", text, url=url, collection=collection))


def test_feeds_survive_a_new_store_object_and_are_per_collection(stores: StateStores) -> None:
    store = stores.feeds()
    feed = store.add_feed("guild:1", "https://news.example/rss", "News", 42, NOW)
    store.add_feed("guild:2", "https://news.example/rss", None, None, NOW)

    again = stores.feeds()

    assert [f.url for f in again.feeds("guild:1")] == ["https://news.example/rss"]
    assert again.find_feed("guild:1", str(feed.id)) == feed
    assert again.find_feed("guild:1", "https://news.example/rss") == feed
    with pytest.raises(InputError, match="already followed"):
        again.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    with pytest.raises(InputError, match="no feed"):
        again.find_feed("guild:3", str(feed.id))


def test_polls_set_the_schedule_errors_and_validators(stores: StateStores) -> None:
    store = stores.feeds()
    store.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    (feed,) = store.due(None, NOW, force=False)
    assert feed.url == "https://news.example/rss"

    store.record_failure(feed, "unreachable", NOW, NOW + timedelta(hours=1))
    assert store.due(None, NOW, force=False) == []
    assert store.due(None, NOW, force=True)[0].errors == 1
    store.record_success(feed, title="News", etag='"x"', last_modified=None, now=NOW, next_poll=NOW)

    (row,) = store.feeds()
    assert (row.title, row.etag, row.errors, row.last_error) == ("News", '"x"', 0, None)


def test_articles_alternates_and_seen_urls(stores: StateStores) -> None:
    store = stores.feeds()
    feed = store.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    first = _article(1)
    store.add_article(first, feed.id, False, signature(first.article.text), ["u1", "u1b"], NOW)
    copy = Article("u2", "Copy", first.article.text, source="Other", url="u2")
    store.add_alternate("guild:1", first.article.id, copy, feed.id, ["u2b"], NOW)

    (stored,) = store.articles("guild:1")
    # Ids are unique across the index's collections: a server's copy is scoped to it.
    assert stored.article == replace(first.article, id=f"guild:1/{first.article.id}")
    assert [(r.url, r.source) for r in stored.also_in] == [("u2", "Other")]
    assert store.known("guild:1", ["u1b"]) == first.article.id
    assert store.known("guild:1", ["nope", "u2b"]) == first.article.id
    assert store.known("guild:2", ["u1"]) is None
    store.mark_seen("guild:2", ["broken"], None, NOW)
    assert store.known("guild:2", ["broken"]) == ""
    assert store.has_source("guild:1", first.article.id, feed.id)
    assert store.signatures("guild:1").ids == [first.article.id]
    assert store.info(feed).items == 2

    assert store.remove_feed(feed) == 1
    assert store.articles() == []


def test_prune_drops_oldest_feed_articles_by_age_then_count(stores: StateStores) -> None:
    store = stores.feeds()
    feed = store.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    for n in range(5):
        parsed = _article(n)
        added = NOW - timedelta(days=10 - n)
        store.add_article(parsed, feed.id, False, signature(parsed.article.text), [str(n)], added)

    # Added 10, 9, 8, 7 and 6 days ago.
    assert store.prune("guild:1", max_age_days=7.5, max_articles=0, now=NOW) == 3
    assert store.prune("guild:1", max_age_days=0, max_articles=1, now=NOW) == 1
    assert [p.article.title for p in store.articles()] == ["Story 4"]
    # A pruned story is still known, so it is not fetched again while its feed lists it.
    assert store.known("guild:1", ["0"]) is not None


def _member(store: FeedStore, feed: FeedRow, n: int, added: datetime = NOW) -> ParsedArticle:
    parsed = _article(n, feed.collection)
    sig = signature(parsed.article.text)
    store.add_article(parsed, feed.id, False, sig, [parsed.article.id], added)
    return parsed


def test_one_subscription_per_canonical_url_each_follower_with_its_channel(
    stores: StateStores,
) -> None:
    store = stores.feeds()
    one = store.add_feed("guild:1", "https://news.example/rss", "News", 42, NOW)
    two = store.add_feed("guild:2", "https://NEWS.example:443/rss?utm_source=bot#top", None, 7, NOW)

    (feed,) = store.due(None, NOW, force=False)

    assert one.id == two.id == feed.id and feed.url == "https://news.example/rss"
    followers = store.followers(feed)
    assert [(f.collection, f.channel_id, f.title) for f in followers] == [
        ("guild:1", 42, "News"),
        ("guild:2", 7, "News"),
    ]
    assert store.due("guild:2", NOW, force=False) == [feed]
    assert store.due("guild:3", NOW, force=True) == []
    assert store.find_feed("guild:2", "https://news.example/rss?utm_campaign=x") == two


def test_a_new_follower_makes_the_feed_due_and_fetched_whole(stores: StateStores) -> None:
    store = stores.feeds()
    store.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    (feed,) = store.due(None, NOW, force=False)
    later = NOW + timedelta(hours=1)
    store.record_success(
        feed, title="News", etag='"x"', last_modified="then", now=NOW, next_poll=later
    )
    assert store.due(None, NOW, force=False) == []

    store.add_feed("guild:2", "https://news.example/rss", None, None, NOW)

    (again,) = store.due(None, NOW, force=False)
    assert (again.etag, again.last_modified, again.title) == (None, None, "News")


def test_an_article_of_two_collections_is_stored_once_and_leaves_each_alone(
    stores: StateStores,
) -> None:
    store = stores.feeds()
    one = store.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    two = store.add_feed("guild:2", "https://news.example/rss", None, None, NOW)
    for n in range(3):
        _member(store, one, n, NOW - timedelta(days=10 - n))
        _member(store, two, n, NOW)

    assert store.stored_count() == 3
    assert [p.article.collection for p in store.articles()] == ["guild:1"] * 3 + ["guild:2"] * 3
    stored = store.stored(["https://news.example/1"])
    assert stored is not None and stored.parsed.article.title == "Story 1"

    # Retention in guild:1 (added 10, 9 and 8 days ago there) leaves guild:2's copies.
    assert store.prune("guild:1", max_age_days=8.5, max_articles=0, now=NOW) == 2
    assert [p.article.title for p in store.articles("guild:1")] == ["Story 2"]
    assert store.article_count("guild:2") == 3 and store.stored_count() == 3

    # guild:2 stops following: its memberships go; Story 0 and 1 are held by no one any more.
    assert store.remove_feed(two) == 3
    assert store.articles("guild:2") == [] and store.stored_count() == 1
    assert store.stored(["https://news.example/1"]) is None
    assert [f.collection for f in store.feeds()] == ["guild:1"]
    assert store.due(None, NOW, force=True)[0].id == one.id

    assert store.remove_feed(one) == 1
    assert store.stored_count() == 0 and store.due(None, NOW, force=True) == []


def test_a_database_of_the_per_collection_schema_is_migrated_keeping_its_data(
    tmp_path: Path,
) -> None:
    # Dumped from a file written by the store as it was before shared feeds (commit 6271f1c:
    # a feed and an article row per collection; two spellings of one feed URL in two servers).
    dump = (Path(__file__).parent / "feeds_v1.sql").read_text()
    with contextlib.closing(sqlite3.connect(tmp_path / "feeds.sqlite")) as conn:
        conn.executescript(dump)

    store = SqliteFeedStore(tmp_path)

    rows = store.feeds()
    assert [(f.collection, f.id, f.url, f.channel_id) for f in rows] == [
        ("guild:1", 1, "https://news.example/rss", 42),
        ("guild:1", 3, "https://wire.example/atom", None),
        ("guild:2", 1, "https://news.example/rss", 77),
        ("shared", 3, "https://wire.example/atom", None),
    ]
    news, wire = store.due(None, NOW, force=True)
    # Two old rows merged: no validators, so the next fetch is whole.
    assert (news.title, news.etag, news.errors) == ("Harbour News", None, 0)
    # guild:1's row had failed, shared's was never polled: the merged one is due at once.
    assert (wire.errors, wire.last_error) == (0, None)
    assert wire.next_poll == "2024-07-20T08:00:00+00:00"
    assert store.stored_count() == 2
    assert [(p.article.collection, p.article.title) for p in store.articles()] == [
        ("guild:1", "Story 1"),
        ("guild:1", "Story 2"),
        ("guild:2", "Story 1"),
    ]
    one = store.articles("guild:1")[0]
    assert [(r.url, r.source) for r in one.also_in] == [("https://wire.example/copy-1", "Wire")]
    # The copy read from its page is kept over guild:2's from the feed summary.
    assert not store.articles("guild:2")[0].origin.endswith("(feed summary)")
    assert store.known("guild:1", ["https://news.example/story-1?utm_source=rss"]) == (
        "https://news.example/story-1"
    )
    assert store.known("guild:2", ["https://news.example/broken"]) == ""
    assert [i.items for i in (store.info(f) for f in rows)] == [2, 1, 1, 0]

    # Opening it again changes nothing; guild:2 leaving keeps guild:1's articles.
    again = SqliteFeedStore(tmp_path)
    assert again.feeds() == rows
    assert again.remove_feed(rows[2]) == 1
    assert again.stored_count() == 2 and len(again.articles("guild:1")) == 2
