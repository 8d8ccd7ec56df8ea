"""Read news feeds (RSS 0.9x/2.0, RSS 1.0, Atom 1.0 through feedparser; JSON Feed 1.1) and
turn their entries into articles.

Every request goes through the guarded fetcher (size and time limits, private addresses
refused, redirects re-checked). A feed is fetched conditionally with the validators of its last
answer, so an unchanged feed costs one 304 and no parsing. Each entry's page is fetched and
extracted like any linked article; when it cannot be, the entry's own content stands in, and
the article says so.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit
from xml.sax import SAXException

import feedparser

from index.errors import InputError
from index.ingest.canonical import canonical_url, head_links, page_canonical
from index.ingest.dates import normalise_date
from index.ingest.fetch import Fetched, fetch_url
from index.ingest.readers import decode_text, fallback_title, parse_fetched
from index.models import Article, ParsedArticle

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
    }
)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Marks an article whose text is the feed's summary, not its page (in `origin`, as logs show).
FROM_FEED_SUMMARY = "feed summary"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int
    timeout: float
    allow_private: bool


@dataclass(frozen=True, slots=True)
class FeedEntry:
    key: str
    link: str | None
    title: str | None
    date: str | None
    content: str
    source: str | None = None
    """The outlet the entry names (RSS `<source>`, Atom `<source><title>`)."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    format: str
    entries: tuple[FeedEntry, ...]


@dataclass(frozen=True, slots=True)
class FeedFetch:
    """One fetch of a feed: `feed` is None when the server said nothing changed (304)."""

    url: str
    feed: ParsedFeed | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class EntryArticle:
    """A feed entry as an article, with the URL it is known by and how its text was got."""

    parsed: ParsedArticle
    canonical: str | None
    links: tuple[str, ...]
    from_summary: bool
    page_error: str | None = None


def fetch_feed(
    url: str,
    limits: FetchLimits,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    discover: bool = False,
) -> FeedFetch:
    """Fetch and parse the feed at `url`. With `discover`, a site's HTML page is accepted in
    place of a feed, and the feed its `<link rel="alternate">` names is fetched instead."""
    fetched = _fetch(url, limits, etag, last_modified)
    if fetched.not_modified:
        return FeedFetch(url, None, fetched.etag, fetched.last_modified)
    if fetched.content_type in _HTML_TYPES and not _looks_like_feed(fetched.body):
        if not discover:
            raise InputError(f"{url}: an HTML page, not a feed")
        found = discover_feed(decode_text(fetched.body, url, fetched.charset), fetched.url)
        if found is None:
            raise InputError(
                f"{url}: neither a feed nor a page that links to one "
                '(no <link rel="alternate"> of an RSS, Atom or JSON feed type)'
            )
        return fetch_feed(found, limits)
    feed = parse_feed(fetched.body, fetched.url, fetched.content_type, fetched.charset)
    return FeedFetch(fetched.url, feed, fetched.etag, fetched.last_modified)


def _fetch(url: str, limits: FetchLimits, etag: str | None, last_modified: str | None) -> Fetched:
    return fetch_url(
        url,
        max_bytes=limits.max_bytes,
        timeout=limits.timeout,
        allow_private=limits.allow_private,
        etag=etag,
        last_modified=last_modified,
    )


def _looks_like_feed(body: bytes) -> bool:
    # Some servers label every document text/html; the root element tells.
    head = body[:1024].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith((b"<rss", b"<feed", b"<rdf"))


def discover_feed(html: str, page_url: str) -> str | None:
    """The first feed a page advertises with `<link rel="alternate" type=...>`."""
    for link in head_links(html, page_url):
        if "alternate" in link.rel and link.type in FEED_TYPES:
            return link.href
    return None


def parse_feed(
    body: bytes, url: str, content_type: str = "", charset: str | None = None
) -> ParsedFeed:
    """Entries of an RSS, RDF, Atom or JSON feed, newest first as the feed lists them.

    `content_type` and `charset` are the response's: without them feedparser flags every
    document as suspect ("no Content-type specified")."""
    if content_type in ("application/feed+json", "application/json") or body.lstrip()[:1] == b"{":
        return _parse_json_feed(body, url)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type + (f"; charset={charset}" if charset else "")
    parsed = feedparser.parse(body, response_headers=headers)
    if not parsed.version:
        reason = parsed.get("bozo_exception") or "no RSS, Atom or RDF root element"
        raise InputError(f"{url}: not a valid feed ({reason})")
    entries = tuple(
        entry for e in parsed.entries if (entry := _feedparser_entry(e, url)) is not None
    )
    # A mislabelled media type or charset is not damage; broken XML is. feedparser salvages
    # what it can from it: a salvage without one linked entry is a broken feed, not an
    # empty one.
    broken = isinstance(parsed.get("bozo_exception"), SAXException)
    if broken and not any(e.link for e in entries):
        raise InputError(f"{url}: not a valid feed ({parsed.get('bozo_exception')})")
    title = _clean(parsed.feed.get("title"))
    return ParsedFeed(title=title, format=str(parsed.version), entries=entries)


def _feedparser_entry(entry: Any, feed_url: str) -> FeedEntry | None:
    link = _absolute_link(entry.get("link"))
    content = ""
    for part in entry.get("content") or []:
        content = html_to_text(str(part.get("value") or ""))
        if content:
            break
    if not content:
        content = html_to_text(str(entry.get("summary") or ""))
    key = _clean(entry.get("id")) or link or _clean(entry.get("title"))
    if key is None:
        return None
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    source = entry.get("source")
    return FeedEntry(
        key=key,
        link=link,
        title=_clean(entry.get("title")),
        date=normalise_date(when),
        content=content,
        source=_clean(source.get("title")) if isinstance(source, dict) else None,
    )


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{url}: not a valid JSON feed ({exc})") from None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise InputError(f'{url}: not a JSON feed (no "version" of https://jsonfeed.org)')
    items = data.get("items")
    if not isinstance(items, list):
        raise InputError(f'{url}: not a valid JSON feed ("items" is not a list)')
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = _absolute_link(item.get("url") or item.get("external_url"))
        key = _clean(item.get("id")) or link
        if key is None:
            continue
        text = item.get("content_text")
        content = (
            str(text).strip()
            if isinstance(text, str) and text.strip()
            else html_to_text(str(item.get("content_html") or item.get("summary") or ""))
        )
        entries.append(
            FeedEntry(
                key=key,
                link=link,
                title=_clean(item.get("title")),
                date=normalise_date(
                    _clean(item.get("date_published") or item.get("date_modified"))
                ),
                content=content,
            )
        )
    tail = version.rsplit("/", 1)[-1]
    return ParsedFeed(_clean(data.get("title")), f"json{tail}", tuple(entries))


def entry_article(
    entry: FeedEntry, feed_url: str, feed_title: str | None, collection: str, limits: FetchLimits
) -> EntryArticle:
    """The entry's page as an article; the entry's own content when the page fails.

    Title, date and outlet come from the page, else from the entry; the outlet last from the
    feed's title. The article's id is its canonical URL (the page's `rel=canonical` when it
    has one).
    """
    links = {canonical_url(entry.link)} if entry.link else set()
    page_error: str | None = None
    if entry.link:
        try:
            fetched = _fetch(entry.link, limits, None, None)
            canonical = canonical_url(fetched.url)
            if fetched.content_type in _HTML_TYPES:
                html = decode_text(fetched.body, entry.link, fetched.charset)
                canonical = page_canonical(html, fetched.url)
            links.add(canonical)
            parsed = parse_fetched(fetched, canonical, collection)
            page = parsed.article
            article = dataclasses.replace(
                page,
                id=canonical,
                url=canonical,
                title=entry.title
                if entry.title and page.title == fallback_title(canonical)
                else page.title,
                date=_merge_dates(page.date, entry.date),
                source=_page_outlet(page.source, (entry.link, fetched.url, canonical))
                or entry.source
                or feed_title,
            )
            return EntryArticle(
                ParsedArticle(article, parsed.excluded, feed_url),
                canonical,
                tuple(sorted(links)),
                from_summary=False,
            )
        except InputError as exc:
            page_error = str(exc)
    if not entry.content.strip():
        raise InputError(
            f"{entry.link or entry.key}: {page_error or 'no link'}, and the entry has no content"
        )
    link = canonical_url(entry.link) if entry.link else None
    article = Article(
        id=link or f"{feed_url}#{entry.key}",
        title=entry.title or fallback_title(entry.link or entry.key),
        text=entry.content,
        date=entry.date,
        source=entry.source or feed_title,
        url=link,
        collection=collection,
    )
    return EntryArticle(
        ParsedArticle(article, (), f"{feed_url} ({FROM_FEED_SUMMARY})"),
        link,
        tuple(sorted(links)),
        from_summary=True,
        page_error=page_error,
    )


def _page_outlet(sitename: str | None, urls: tuple[str, ...]) -> str | None:
    """The outlet the page names; None when the extractor only fell back to the host name of
    the URL (the page names no site), which must not beat the entry's or the feed's."""
    if sitename is None:
        return None
    name = sitename.strip().lower()
    for url in urls:
        parts = urlsplit(url)
        hosts = {parts.netloc.lower(), (parts.hostname or "").lower()}
        if name in hosts | {h.removeprefix("www.") for h in hosts}:
            return None
    return sitename


def _merge_dates(page: str | None, entry: str | None) -> str | None:
    """The page's date; the entry's timestamp when it is the same day told more precisely
    (pages often give a day only, feeds a time and zone)."""
    if page is None:
        return entry
    if entry is not None and len(page) == 10 and entry.startswith(page):
        return entry
    return page


class _TextOnly(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr"})
    _SKIP = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """A feed entry's HTML as paragraphs of plain text."""
    if "<" not in html and "&" not in html:
        return html.strip()
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    paragraphs = (re.sub(r"[ \t\r\n]+", " ", p).strip() for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def _absolute_link(value: Any) -> str | None:
    link = _clean(value)
    return link if link and link.startswith(("http://", "https://")) else None


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or None
