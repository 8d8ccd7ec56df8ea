from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from index.errors import InputError
from index.models import Article, ParsedArticle
from index.store.feeds import FeedStore
from index.text.minhash import signature

NOW = datetime(2024, 7, 21, 8, 0, tzinfo=UTC)


def _article(n: int, collection: str = "guild:1") -> ParsedArticle:
    url = f"https://news.example/{n}"
    text = f"Story number {n} tells of the harbour and the ferry in some detail."
    return ParsedArticle(Article(url, f"Story {n}", text, url=url, collection=collection))


def test_feeds_survive_a_new_store_object_and_are_per_collection(tmp_path: Path) -> None:
    store = FeedStore(tmp_path)
    feed = store.add_feed("guild:1", "https://news.example/rss", "News", 42, NOW)
    store.add_feed("guild:2", "https://news.example/rss", None, None, NOW)

    again = FeedStore(tmp_path)

    assert [f.url for f in again.feeds("guild:1")] == ["https://news.example/rss"]
    assert again.find_feed("guild:1", str(feed.id)) == feed
    assert again.find_feed("guild:1", "https://news.example/rss") == feed
    with pytest.raises(InputError, match="already followed"):
        again.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    with pytest.raises(InputError, match="no feed"):
        again.find_feed("guild:3", str(feed.id))


def test_polls_set_the_schedule_errors_and_validators(tmp_path: Path) -> None:
    store = FeedStore(tmp_path)
    feed = store.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    assert store.due(None, NOW, force=False) == [feed]

    store.record_failure(feed, "unreachable", NOW, NOW + timedelta(hours=1))
    assert store.due(None, NOW, force=False) == []
    assert store.due(None, NOW, force=True)[0].errors == 1
    store.record_success(feed, title="News", etag='"x"', last_modified=None, now=NOW, next_poll=NOW)

    (row,) = store.feeds()
    assert (row.title, row.etag, row.errors, row.last_error) == ("News", '"x"', 0, None)


def test_articles_alternates_and_seen_urls(tmp_path: Path) -> None:
    store = FeedStore(tmp_path)
    feed = store.add_feed("guild:1", "https://news.example/rss", None, None, NOW)
    first = _article(1)
    store.add_article(first, feed.id, False, signature(first.article.text), ["u1", "u1b"], NOW)
    copy = Article("u2", "Copy", first.article.text, source="Other", url="u2")
    store.add_alternate("guild:1", first.article.id, copy, feed.id, ["u2b"], NOW)

    (stored,) = store.articles("guild:1")
    assert stored.article == first.article
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


def test_prune_drops_oldest_feed_articles_by_age_then_count(tmp_path: Path) -> None:
    store = FeedStore(tmp_path)
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
