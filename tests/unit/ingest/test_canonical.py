from __future__ import annotations

from index.ingest.canonical import canonical_url, head_links, page_canonical


def test_tracking_parameters_fragment_port_and_host_case_are_dropped() -> None:
    url = (
        "HTTPS://News.Example.COM:443/world/story?id=7&utm_source=rss&utm_medium=feed"
        "&fbclid=x1&gclid=y&mc_cid=z&page=2#comments"
    )
    assert canonical_url(url) == "https://news.example.com/world/story?id=7&page=2"


def test_a_port_that_is_not_the_default_stays() -> None:
    assert canonical_url("http://example.org:8080/a") == "http://example.org:8080/a"
    assert canonical_url("http://example.org:80") == "http://example.org/"


def test_the_page_canonical_link_wins() -> None:
    html = (
        '<html><head><link rel="canonical" href="/world/story?utm_campaign=x"></head>'
        '<body><link rel="canonical" href="https://elsewhere.example/"></body></html>'
    )
    assert page_canonical(html, "https://news.example/amp/story") == (
        "https://news.example/world/story"
    )
    assert page_canonical("<p>no head</p>", "https://news.example/a?fbclid=1") == (
        "https://news.example/a"
    )


def test_head_links_are_absolute() -> None:
    html = (
        '<head><link rel="Alternate" type="application/rss+xml; charset=utf-8" href="rss"></head>'
    )
    (link,) = head_links(html, "https://news.example/world/")
    assert link.rel == frozenset({"alternate"})
    assert link.type == "application/rss+xml"
    assert link.href == "https://news.example/world/rss"
