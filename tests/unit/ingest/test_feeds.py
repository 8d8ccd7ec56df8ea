"""Feeds through the guarded fetcher against a loopback site: every format, discovery,
conditional requests, fallbacks to the entry's content and failures with a reason."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from index.errors import InputError
from index.ingest.feeds import (
    FROM_FEED_SUMMARY,
    FetchLimits,
    entry_article,
    fetch_feed,
    html_to_text,
    parse_feed,
)
from tests.feed_site import FeedSite, Story, atom, json_feed, rdf, rss20, stories

LIMITS = FetchLimits(max_bytes=1_000_000, timeout=5.0, allow_private=True)
Format = Callable[[str, str, Sequence[Story], str], str]
FORMATS: list[tuple[str, Format, str, str]] = [
    ("rss", rss20, "application/rss+xml", "rss20"),
    ("atom", atom, "application/atom+xml", "atom10"),
    ("rdf", rdf, "application/rdf+xml", "rss10"),
    ("json", json_feed, "application/feed+json", "json1.1"),
]


@pytest.mark.parametrize(("name", "render", "content_type", "version"), FORMATS)
def test_every_format_gives_entries_with_links_titles_dates_and_content(
    feed_site: FeedSite, name: str, render: Format, content_type: str, version: str
) -> None:
    news = list(stories(name, 3))
    url = feed_site.put(
        f"/{name}", content_type, render("Gazette", feed_site.base, news, feed_site.base)
    )

    fetched = fetch_feed(url, LIMITS)

    assert fetched.feed is not None
    assert fetched.feed.title == "Gazette"
    assert fetched.feed.format == version
    entry = fetched.feed.entries[0]
    assert entry.title == news[0].title
    assert entry.link is not None and entry.link.startswith(feed_site.url(news[0].path))
    # Every date in ISO 8601 with its zone; the same instant as the story's own.
    assert entry.date in ("2024-07-01T07:30:00+00:00", "2024-07-01T09:30:00+02:00")
    assert entry.content.startswith("The ")
    assert len(fetched.feed.entries) == 3


def test_second_fetch_is_conditional_and_unparsed(feed_site: FeedSite) -> None:
    url = feed_site.put("/rss", "application/rss+xml", rss20("G", "s", list(stories("a", 1)), ""))
    first = fetch_feed(url, LIMITS)

    again = fetch_feed(url, LIMITS, etag=first.etag, last_modified=first.last_modified)

    assert again.feed is None
    last = feed_site.requests("/rss")[-1]
    assert (last.status, last.if_none_match) == (304, first.etag)
    assert last.if_modified_since == first.last_modified


def test_a_site_page_leads_to_its_feed(feed_site: FeedSite) -> None:
    feed_site.put(
        "/feed.json", "application/feed+json", json_feed("G", "s", list(stories("a", 1)), "")
    )
    page = feed_site.put(
        "/",
        "text/html",
        '<html><head><link rel="alternate" type="application/feed+json" href="/feed.json">'
        "</head><body>Welcome</body></html>",
    )

    found = fetch_feed(page, LIMITS, discover=True)

    assert found.url == feed_site.url("/feed.json")
    with pytest.raises(InputError, match="an HTML page, not a feed"):
        fetch_feed(page, LIMITS)


def test_a_page_without_a_feed_link_is_refused_with_a_reason(feed_site: FeedSite) -> None:
    page = feed_site.put("/plain", "text/html", "<html><head></head><body>Hi</body></html>")
    with pytest.raises(InputError, match="neither a feed nor a page that links to one"):
        fetch_feed(page, LIMITS, discover=True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<rss><channel><item><title>broken", "not a valid feed"),
        (b"just some words", "not a valid feed"),
        (b'{"items": []}', "not a JSON feed"),
        (b"{not json", "not a valid JSON feed"),
    ],
)
def test_malformed_feeds_fail_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_feed(body, "https://news.example/feed")


def test_oversized_and_slow_feeds_fail_with_a_reason(feed_site: FeedSite) -> None:
    huge = feed_site.put("/huge", "application/rss+xml", b"<rss>" + b" " * 3000 + b"</rss>")
    slow = feed_site.put("/slow", "application/rss+xml", b"<rss/>", delay=2.0)
    small = FetchLimits(max_bytes=1000, timeout=0.5, allow_private=True)

    with pytest.raises(InputError, match="too large"):
        fetch_feed(huge, small)
    with pytest.raises(InputError, match=r"no answer within 0\.5 s"):
        fetch_feed(slow, small)


def test_entry_page_gives_title_date_outlet_and_canonical_url(feed_site: FeedSite) -> None:
    (story,) = stories("a", 1)
    feed_site.put_story(story, canonical=feed_site.url(story.path) + "?utm_medium=x")
    url = feed_site.put(
        "/rss", "application/rss+xml", rss20("Feed title", "s", [story], feed_site.base)
    )
    feed = fetch_feed(url, LIMITS).feed
    assert feed is not None

    made = entry_article(feed.entries[0], url, feed.title, "guild:1", LIMITS)

    article = made.parsed.article
    assert made.canonical == feed_site.url(story.path)
    assert (article.id, article.url) == (made.canonical, made.canonical)
    assert article.title == story.title
    assert article.source == "Harbour Gazette"
    assert article.date == "2024-07-01T07:30:00+00:00"
    assert not made.from_summary
    assert "number 0-5" in article.text


def test_a_page_that_fails_falls_back_to_the_entry_content(feed_site: FeedSite) -> None:
    (story,) = stories("gone", 1)
    url = feed_site.put(
        "/rss", "application/rss+xml", rss20("Feed title", "s", [story], feed_site.base)
    )
    feed = fetch_feed(url, LIMITS).feed
    assert feed is not None

    made = entry_article(feed.entries[0], url, feed.title, "guild:1", LIMITS)

    assert made.from_summary
    assert made.page_error is not None and "404" in made.page_error
    assert made.parsed.origin.endswith(f"({FROM_FEED_SUMMARY})")
    article = made.parsed.article
    assert article.text == story.body
    assert (article.title, article.source) == (story.title, "Feed title")
    assert article.url == feed_site.url(story.path)


def test_html_to_text_keeps_paragraphs_and_drops_markup() -> None:
    html = "<p>One &amp; <b>two</b>.</p><script>x()</script><div>Three<br>four</div>"
    assert html_to_text(html) == "One & two.\n\nThree\n\nfour"


def test_a_feed_that_redirects_to_a_private_address_is_refused(
    feed_site: FeedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loopback stands in for the public internet here; 127.0.0.2 is the private target.
    monkeypatch.setattr("index.ingest.fetch._is_public", lambda address: address == "127.0.0.1")
    port = feed_site.base.rsplit(":", 1)[1]
    url = feed_site.put("/moved", "text/plain", b"", location=f"http://127.0.0.2:{port}/rss")
    guarded = FetchLimits(max_bytes=1_000_000, timeout=5.0, allow_private=False)

    with pytest.raises(InputError, match=r"refused, 127\.0\.0\.2 is a private or local address"):
        fetch_feed(url, guarded)
    assert [r.status for r in feed_site.requests()] == [302]


EMPTY_RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet Weekly</title>'
    "<link>https://quiet.example/</link><description>Nothing yet</description></channel></rss>"
)
LINKLESS_RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Notice Board</title>'
    "<link>https://board.example/</link>"
    "<item><guid isPermaLink='false'>notice-1</guid><title>Ferry timetable changes</title>"
    "<description>&lt;p&gt;The winter ferry leaves at seven from the north pier.&lt;/p&gt;"
    "</description></item></channel></rss>"
)


def test_an_rss_feed_with_no_items_is_a_valid_empty_feed(feed_site: FeedSite) -> None:
    url = feed_site.put("/empty.xml", "application/rss+xml", EMPTY_RSS)

    fetched = fetch_feed(url, LIMITS)

    assert fetched.feed is not None
    assert (fetched.feed.title, fetched.feed.format, fetched.feed.entries) == (
        "Quiet Weekly",
        "rss20",
        (),
    )


def test_an_rss_feed_whose_items_have_no_links_gives_their_content(feed_site: FeedSite) -> None:
    url = feed_site.put("/board.xml", "application/rss+xml", LINKLESS_RSS)
    fetched = fetch_feed(url, LIMITS)
    assert fetched.feed is not None
    (entry,) = fetched.feed.entries

    made = entry_article(entry, url, fetched.feed.title, "guild:1", LIMITS)

    assert (entry.key, entry.link) == ("notice-1", None)
    article = made.parsed.article
    assert article.text == "The winter ferry leaves at seven from the north pier."
    assert (article.title, article.source) == ("Ferry timetable changes", "Notice Board")
    assert made.from_summary


def test_a_feed_served_as_text_xml_or_mislabelled_is_still_read(feed_site: FeedSite) -> None:
    # Servers label feeds text/xml, or text/plain: a wrong label is not damage.
    for path, content_type in (("/a.xml", "text/xml"), ("/b.xml", "text/plain")):
        url = feed_site.put(path, content_type, EMPTY_RSS)
        fetched = fetch_feed(url, LIMITS)
        assert fetched.feed is not None and fetched.feed.title == "Quiet Weekly"


def test_html_that_is_not_a_feed_is_refused_with_a_reason(feed_site: FeedSite) -> None:
    page = feed_site.put("/page", "text/html", "<html><body><p>Hello</p></body></html>")
    with pytest.raises(InputError, match="an HTML page, not a feed"):
        fetch_feed(page, LIMITS)
    with pytest.raises(InputError, match=r"not a valid feed \(.*not an XML media type"):
        parse_feed(b"<html><body><p>Hello</p></body></html>", page, "text/html")


NAMELESS_PAGE = (
    "<!doctype html><html><head><title>Bridge reopens</title></head><body><article>"
    "<h1>Bridge reopens</h1><p>The valley bridge reopened on Monday after six weeks of "
    "repairs to its northern arch. Engineers from the county checked every bolt.</p>"
    "<p>Residents of the east bank had driven forty minutes around the reservoir while it "
    "was shut, the mayor said at the ribbon cutting.</p></article></body></html>"
)


def test_a_page_that_names_no_site_takes_the_feeds_title_as_outlet(
    feed_site: FeedSite,
) -> None:
    feed_site.put("/valley/bridge.html", "text/html; charset=utf-8", NAMELESS_PAGE)
    story = Story("/valley/bridge.html", "Bridge reopens", "2024-07-01T09:30:00+02:00", "x")
    url = feed_site.put(
        "/valley.xml", "application/rss+xml", rss20("Valley Courier", "s", [story], feed_site.base)
    )
    feed = fetch_feed(url, LIMITS).feed
    assert feed is not None

    made = entry_article(feed.entries[0], url, feed.title, "guild:1", LIMITS)

    assert not made.from_summary
    assert "northern arch" in made.parsed.article.text
    assert made.parsed.article.source == "Valley Courier"


def test_an_entry_that_names_its_outlet_beats_the_feeds_title(feed_site: FeedSite) -> None:
    feed_site.put("/wire/bridge.html", "text/html; charset=utf-8", NAMELESS_PAGE)
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Aggregator</title>'
        f"<item><title>Bridge reopens</title><link>{feed_site.base}/wire/bridge.html</link>"
        '<source url="https://wire.example/rss">Wire Service</source></item></channel></rss>'
    )
    url = feed_site.put("/agg.xml", "application/rss+xml", body)
    feed = fetch_feed(url, LIMITS).feed
    assert feed is not None

    made = entry_article(feed.entries[0], url, feed.title, "guild:1", LIMITS)

    assert made.parsed.article.source == "Wire Service"
