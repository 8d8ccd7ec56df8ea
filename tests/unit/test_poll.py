"""Polling feeds through the engine, against a loopback news site, with the hash embedder:
every format, conditional second polls that embed nothing, one article per story however many
feeds carry it, failures that stay with their feed, fallbacks to the entry, retention."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config import load_settings
from index.engine import Engine, search_filters
from index.errors import InputError
from index.models import Article, ParsedArticle
from tests.feed_site import FeedSite, Story, atom, json_feed, rdf, rss20, stories
from tests.unit.conftest import HashEmbedder
from tests.unit.embedders import WrappedEmbedder

GUILD = "guild:1"
Render = Callable[[str, str, Sequence[Story], str], str]


class CountingEmbedder(WrappedEmbedder):
    def __init__(self) -> None:
        super().__init__(HashEmbedder())
        self.encoded = 0

    def before_encode(self, texts: Sequence[str]) -> None:
        self.encoded += len(texts)


def make_engine(tmp_path: Path, **overrides: Any) -> tuple[Engine, CountingEmbedder]:
    shared = tmp_path / "shared"
    shared.mkdir(exist_ok=True)
    (shared / "note.txt").write_text("Welcome\n\nThe bot follows the news. It quotes it.\n")
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "sources": [str(shared)],
        "model": "hash-test-model",
        "allow_private_urls": True,
        "fetch_timeout": 5.0,
    }
    settings = load_settings(environ={}, env_file=None, **(values | overrides))
    embedder = CountingEmbedder()
    return Engine(settings, embedder=embedder), embedder  # type: ignore[arg-type]


def publish(site: FeedSite, path: str, render: Render, title: str, news: Sequence[Story]) -> str:
    types = {rss20: "application/rss+xml", atom: "application/atom+xml"}
    types |= {rdf: "application/rdf+xml", json_feed: "application/feed+json"}
    for story in news:
        site.put_story(story)
    return site.put(path, types[render], render(title, site.base, news, site.base))


def test_every_format_is_polled_and_a_second_poll_costs_one_304_per_feed(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, embedder = make_engine(tmp_path)
    formats: list[Render] = [rss20, atom, rdf, json_feed]
    for n, render in enumerate(formats):
        url = publish(
            feed_site, f"/feed{n}", render, f"Outlet {n}", list(stories(f"s{n}", 2, 10 * n))
        )
        engine.add_feed(GUILD, url)

    first = engine.poll_feeds()

    assert sorted(len(r.added) for r in first.feeds) == [2, 2, 2, 2]
    assert first.build is not None and first.build.embedded > 0
    hit = engine.ask("lighthouse harbour number 20-3", k=1, collections={GUILD}).hits[0]
    assert hit.article.collection == GUILD and hit.article.date is not None

    feed_site.clear_requests()
    embedded = embedder.encoded
    second = engine.poll_feeds(force=True)

    assert all(r.not_modified and not r.added for r in second.feeds)
    assert second.build is None
    assert embedder.encoded == embedded
    requests = feed_site.requests()
    assert sorted(r.path for r in requests) == ["/feed0", "/feed1", "/feed2", "/feed3"]
    assert all(r.status == 304 and r.if_none_match for r in requests)


def test_a_feed_is_not_polled_before_it_is_due(tmp_path: Path, feed_site: FeedSite) -> None:
    engine, _ = make_engine(tmp_path)
    engine.add_feed(GUILD, publish(feed_site, "/rss", rss20, "Out", list(stories("a", 1))))
    engine.poll_feeds()
    feed_site.clear_requests()

    assert engine.poll_feeds().feeds == []
    assert feed_site.requests() == []
    (info,) = engine.list_feeds(GUILD)
    assert info.items == 1 and info.last_poll is not None and info.next_poll > info.last_poll


def test_one_story_in_two_feeds_is_one_article_with_both_sources(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path)
    (story, other) = stories("wire", 2)
    copy = replace(
        story,
        path="/daily/copy.html",
        title="Harbour news, as the Daily tells it",
        body=f"By the Daily's desk.\n\n{story.body}\n\nReporting by the wire.",
        outlet="Daily Courier",
    )
    engine.add_feed(GUILD, publish(feed_site, "/gazette", rss20, "Gazette", [story]))
    engine.add_feed(GUILD, publish(feed_site, "/daily", atom, "Courier", [copy, other]))
    # A third feed lists the very same page as the first.
    engine.add_feed(GUILD, publish(feed_site, "/mirror", json_feed, "Mirror", [story]))

    report = engine.poll_feeds()

    assert sum(len(r.added) for r in report.feeds) == 2
    (article,) = [p for p in engine.feeds.articles(GUILD) if p.article.title == story.title]
    assert sorted(r.source or "" for r in article.also_in) == ["Daily Courier", "Mirror"]
    hit = engine.ask("number wire 0-5 before the", k=1, collections={GUILD}).hits[0]
    assert hit.article.title == story.title
    assert {r.source for r in hit.also_in} == {"Daily Courier", "Mirror"}
    assert [f.items for f in engine.list_feeds(GUILD)] == [1, 2, 1]


def test_failing_feeds_fail_alone_with_a_reason(
    tmp_path: Path, feed_site: FeedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = make_engine(
        tmp_path, allow_private_urls=False, max_article_bytes=20_000, fetch_timeout=1.0
    )
    # Loopback stands in for the public internet; 127.0.0.2 is the private address.
    monkeypatch.setattr("index.ingest.fetch._is_public", lambda address: address == "127.0.0.1")
    good = publish(feed_site, "/good", rss20, "Good", list(stories("good", 1)))
    engine.add_feed(GUILD, good)
    port = feed_site.base.rsplit(":", 1)[1]
    broken = {
        "malformed": feed_site.put("/malformed", "application/rss+xml", "<rss><channel><item>"),
        "oversized": feed_site.put("/huge", "application/rss+xml", "<rss>" + " " * 30_000),
        "slow": feed_site.put("/slow", "application/rss+xml", "<rss/>"),
        "private": feed_site.put("/moved", "text/plain", "", location=f"http://127.0.0.2:{port}/"),
    }
    for url in broken.values():
        engine.feeds.add_feed(GUILD, url, None, None, datetime.now(UTC))
    feed_site.put("/slow", "application/rss+xml", "<rss/>", delay=3.0)

    report = engine.poll_feeds()

    errors = {r.feed.url: r.error for r in report.feeds}
    assert errors[good] is None
    assert "not a valid feed" in (errors[broken["malformed"]] or "")
    assert "too large" in (errors[broken["oversized"]] or "")
    assert "no answer within 1 s" in (errors[broken["slow"]] or "")
    assert "127.0.0.2 is a private or local address" in (errors[broken["private"]] or "")
    assert [len(r.added) for r in report.feeds if r.feed.url == good] == [1]
    listed = {f.url: f for f in engine.list_feeds(GUILD)}
    assert listed[broken["malformed"]].last_error == errors[broken["malformed"]]
    # Backed off: the failing feeds are due later than the good one.
    assert all(listed[u].next_poll > listed[good].next_poll for u in broken.values())


def test_a_page_that_fails_is_indexed_from_the_entry(tmp_path: Path, feed_site: FeedSite) -> None:
    engine, _ = make_engine(tmp_path)
    (story,) = stories("lost", 1)
    url = feed_site.put(
        "/rss", "application/rss+xml", rss20("Gazette", "s", [story], feed_site.base)
    )
    engine.add_feed(GUILD, url)

    report = engine.poll_feeds()

    (added,) = report.feeds[0].added
    assert added.title == story.title
    (stored,) = engine.feeds.articles(GUILD)
    assert stored.article.text == story.body
    assert stored.origin.endswith("(feed summary)")
    assert engine.list_feeds(GUILD)[0].from_summary == 1


def test_new_entries_per_poll_are_bounded_and_the_rest_come_next_time(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path, feed_max_new_entries=2)
    engine.add_feed(GUILD, publish(feed_site, "/rss", rss20, "G", list(stories("many", 5))))

    counts = [sum(len(r.added) for r in engine.poll_feeds(force=True).feeds) for _ in range(4)]

    assert counts == [2, 2, 1, 0]


def test_retention_prunes_oldest_feed_articles_and_keeps_hand_added_ones(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path, feed_max_articles=2)
    hand = ParsedArticle(Article("mine", "Mine", "An admin's own article. It stays."), (), "t")
    engine.add_articles(GUILD, [hand])
    engine.add_feed(GUILD, publish(feed_site, "/rss", rss20, "G", list(stories("old", 4))))

    report = engine.poll_feeds()

    assert report.pruned == 2
    kept = sorted(p.article.date or "" for p in engine.feeds.articles(GUILD))
    assert kept == ["2024-07-03T07:30:00+00:00", "2024-07-04T07:30:00+00:00"]
    assert [a.id for a in engine.list_articles(GUILD)] == [f"{GUILD}/mine"]
    assert report.build is not None and report.build.articles == 1 + 1 + 2


def test_adding_a_feed_discovers_it_and_refuses_what_is_not_one(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path)
    feed = publish(feed_site, "/news.xml", atom, "Atom news", list(stories("d", 1)))
    page = feed_site.put(
        "/home",
        "text/html",
        f'<html><head><link rel="alternate" type="application/atom+xml" href="{feed}">'
        "</head><body>Home</body></html>",
    )

    info = engine.add_feed(GUILD, page, channel_id=7)

    assert (info.url, info.title, info.channel_id) == (feed, "Atom news", 7)
    with pytest.raises(InputError, match="already followed"):
        engine.add_feed(GUILD, feed)
    with pytest.raises(InputError, match="404"):
        engine.add_feed(GUILD, feed_site.url("/nothing"))
    assert engine.remove_feed(GUILD, str(info.id)).url == feed
    assert engine.list_feeds(GUILD) == []


def test_operator_feeds_come_from_settings(tmp_path: Path, feed_site: FeedSite) -> None:
    url = publish(feed_site, "/rss", rss20, "G", list(stories("op", 1)))
    engine, _ = make_engine(tmp_path, feeds=[url])

    report = engine.poll_feeds()

    assert [(r.feed.collection, len(r.added)) for r in report.feeds] == [("shared", 1)]


def test_a_no_change_rebuild_asks_url_sources_if_they_changed(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    (story,) = stories("src", 1)
    url = feed_site.put_story(story)
    engine, embedder = make_engine(tmp_path, sources=[url])
    assert engine.rebuild().articles == 1
    embedded = embedder.encoded

    again = engine.rebuild()

    assert again.up_to_date and embedder.encoded == embedded
    first, second = feed_site.requests(story.path)
    assert (first.status, second.status) == (200, 304)
    assert second.if_none_match is not None


def test_a_page_that_names_no_site_is_filed_under_the_feeds_title(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path)
    (story,) = stories("valley", 1)
    # The page names no site: no og:site_name, nothing but a title and the text.
    feed_site.put(
        story.path,
        "text/html; charset=utf-8",
        f"<!doctype html><html><head><title>{story.title}</title></head><body><article>"
        + "".join(f"<p>{p}</p>" for p in story.body.split("\n\n"))
        + "</article></body></html>",
    )
    url = feed_site.put(
        "/valley.xml", "application/rss+xml", rss20("Valley Courier", "s", [story], feed_site.base)
    )
    engine.add_feed(GUILD, url)

    engine.poll_feeds()

    (stored,) = engine.feeds.articles(GUILD)
    assert not stored.origin.endswith("(feed summary)")
    assert stored.article.source == "Valley Courier"
    found = engine.ask(
        "lighthouse number 0-5",
        k=1,
        collections={GUILD},
        filters=search_filters(outlets=["Valley Courier"]),
    )
    assert [h.article.title for h in found.hits] == [story.title]


OTHER = "guild:2"


def _sentence(story: Story) -> str:
    return story.body.split(". ")[1]


def _titles(engine: Engine, collection: str, question: str) -> list[str]:
    return [h.article.title for h in engine.ask(question, k=3, collections={collection}).hits]


def test_two_servers_following_one_feed_share_one_fetch_and_one_stored_copy(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path)
    news = list(stories("herald", 2))
    url = publish(feed_site, "/herald.xml", rss20, "Herald", news)
    engine.add_feed(GUILD, url, channel_id=11)
    engine.add_feed(OTHER, feed_site.url("/herald.xml?utm_source=friend"), channel_id=22)
    feed_site.clear_requests()

    report = engine.poll_feeds()

    assert [r.status for r in feed_site.requests("/herald.xml")] == [200]
    assert all(len(feed_site.requests(s.path + "?utm_source=rss")) == 1 for s in news)
    assert [(r.feed.collection, r.feed.channel_id, len(r.added)) for r in report.feeds] == [
        (GUILD, 11, 2),
        (OTHER, 22, 2),
    ]
    assert engine.feeds.stored_count() == 2
    assert len(engine.feeds.articles(GUILD)) == len(engine.feeds.articles(OTHER)) == 2
    question = _sentence(news[1])
    assert _titles(engine, GUILD, question)[0] == news[1].title
    assert _titles(engine, OTHER, question)[0] == news[1].title

    feed_site.clear_requests()
    again = engine.poll_feeds(force=True)
    assert [r.status for r in feed_site.requests()] == [304]
    assert [r.not_modified for r in again.feeds] == [True, True]

    (followed,) = engine.list_feeds(OTHER)
    engine.remove_feed(OTHER, str(followed.id))
    engine.rebuild()

    assert all(t not in (s.title for s in news) for t in _titles(engine, OTHER, question))
    assert _titles(engine, GUILD, question)[0] == news[1].title
    assert [(f.collection, f.items) for f in engine.list_feeds()] == [(GUILD, 2)]
    assert engine.feeds.stored_count() == 2


def test_a_server_following_a_feed_later_gets_its_entries_without_refetching_pages(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path)
    news = list(stories("late", 2))
    url = publish(feed_site, "/late.xml", rss20, "Late", news)
    engine.add_feed(GUILD, url)
    engine.poll_feeds()
    engine.add_feed(OTHER, url)
    feed_site.clear_requests()

    report = engine.poll_feeds()

    # The new follower made the feed due and its fetch whole; the pages were read already.
    assert [(r.path, r.status) for r in feed_site.requests()] == [("/late.xml", 200)]
    assert [(r.feed.collection, len(r.added)) for r in report.feeds] == [(GUILD, 0), (OTHER, 2)]
    assert engine.feeds.stored_count() == 2
    assert _titles(engine, OTHER, _sentence(news[0]))[0] == news[0].title


def test_retention_in_one_server_leaves_the_other_servers_copies(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path, feed_max_articles=2)
    shared = list(stories("both", 2))
    newer = list(stories("mine", 2, 10))
    both = publish(feed_site, "/both.xml", rss20, "Both", shared)
    engine.add_feed(GUILD, both)
    engine.add_feed(GUILD, publish(feed_site, "/mine.xml", rss20, "Mine", newer))
    engine.add_feed(OTHER, both)

    report = engine.poll_feeds()

    # guild:1 holds 4 feed articles and keeps the 2 newest; guild:2 holds 2 and keeps them.
    assert report.pruned == 2
    assert sorted(p.article.title for p in engine.feeds.articles(GUILD)) == sorted(
        s.title for s in newer
    )
    assert sorted(p.article.title for p in engine.feeds.articles(OTHER)) == sorted(
        s.title for s in shared
    )
    assert engine.feeds.stored_count() == 4
    question = _sentence(shared[1])
    assert _titles(engine, OTHER, question)[0] == shared[1].title
    assert shared[1].title not in _titles(engine, GUILD, question)


def test_an_empty_feed_and_one_with_link_less_items_are_followed_and_polled(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    engine, _ = make_engine(tmp_path)
    empty = feed_site.put(
        "/empty.xml",
        "application/rss+xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet Weekly</title>'
        "<link>https://quiet.example/</link></channel></rss>",
    )
    board = feed_site.put(
        "/board.xml",
        "application/rss+xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Notice Board</title>'
        "<item><guid isPermaLink='false'>n1</guid><title>Ferry timetable</title>"
        "<description>The winter ferry leaves at seven from the north pier.</description>"
        "</item></channel></rss>",
    )
    assert engine.add_feed(GUILD, empty).title == "Quiet Weekly"
    assert engine.add_feed(GUILD, board).title == "Notice Board"

    report = engine.poll_feeds()

    assert [(r.feed.title, r.error, len(r.added)) for r in report.feeds] == [
        ("Quiet Weekly", None, 0),
        ("Notice Board", None, 1),
    ]
    hit = engine.ask("When does the winter ferry leave?", k=1, collections={GUILD}).hits[0]
    assert (hit.article.title, hit.article.source) == ("Ferry timetable", "Notice Board")
