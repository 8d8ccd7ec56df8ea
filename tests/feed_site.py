"""A news site on 127.0.0.1 for feed tests and the feed benchmark.

It serves RSS 2.0, RSS 1.0 (RDF), Atom 1.0 and JSON Feed 1.1 documents and their article pages,
answers conditional requests (ETag / Last-Modified) with 304, and records every request, so a
test can count what a poll fetched. Pages can be slow, huge or redirect elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

LAST_MODIFIED = "Sun, 21 Jul 2024 08:00:00 GMT"


@dataclass
class Page:
    content_type: str
    body: bytes
    delay: float = 0.0
    location: str | None = None
    validators: bool = True

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


@dataclass(frozen=True)
class Request:
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    status: int


@dataclass(frozen=True)
class Story:
    """One news story: its page is at `path` on the site."""

    path: str
    title: str
    date: str
    body: str
    outlet: str = "Harbour Gazette"


@dataclass
class _State:
    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: ClassVar[_State]

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        page = self.state.pages.get(path)
        if page is None:
            self._record(404)
            self.send_error(404, "Not Found")
            return
        if page.delay:
            time.sleep(page.delay)
        if page.location is not None:
            self._record(302)
            self.send_response(302)
            self.send_header("Location", page.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if page.validators and (
            self.headers.get("If-None-Match") == page.etag
            or self.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            self._record(304)
            self.send_response(304)
            self.send_header("ETag", page.etag)
            self.end_headers()
            return
        self._record(200)
        self.send_response(200)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        if page.validators:
            self.send_header("ETag", page.etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(page.body)

    def _record(self, status: int) -> None:
        with self.state.lock:
            self.state.requests.append(
                Request(
                    self.path,
                    self.headers.get("If-None-Match"),
                    self.headers.get("If-Modified-Since"),
                    status,
                )
            )

    def log_message(self, format: str, *args: object) -> None:
        pass


class FeedSite:
    def __init__(self) -> None:
        self._state = _State()
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A slow page must not hold the test's teardown.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,))
        self._thread.daemon = True

    def __enter__(self) -> FeedSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def url(self, path: str) -> str:
        return self.base + path

    def put(self, path: str, content_type: str, body: bytes | str, **options: object) -> str:
        data = body.encode() if isinstance(body, str) else body
        self._state.pages[path] = Page(content_type, data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def requests(self, path: str | None = None) -> list[Request]:
        with self._state.lock:
            return [r for r in self._state.requests if path is None or r.path == path]

    def clear_requests(self) -> None:
        with self._state.lock:
            self._state.requests.clear()

    def put_story(self, story: Story, canonical: str | None = None) -> str:
        return self.put(story.path, "text/html; charset=utf-8", article_html(story, canonical))


def article_html(story: Story, canonical: str | None = None) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in story.body.split("\n\n"))
    link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    return (
        f"<!doctype html><html><head><title>{escape(story.title)}</title>{link}"
        f'<meta property="og:site_name" content="{escape(story.outlet)}">'
        f'<meta property="article:published_time" content="{story.date[:10]}">'
        f"</head><body><article><h1>{escape(story.title)}</h1>{paragraphs}</article>"
        "</body></html>"
    )


_WORDS = tuple(
    [
        "harbour",
        "council",
        "ferry",
        "bridge",
        "tide",
        "lighthouse",
        "market",
        "school",
        "library",
        "river",
        "storm",
        "budget",
        "festival",
        "museum",
        "railway",
        "station",
        "mayor",
        "farmers",
        "fishermen",
        "volunteers",
        "engineers",
        "teachers",
        "doctors",
        "residents",
        "repairs",
        "opening",
        "closure",
        "vote",
        "plan",
        "report",
        "survey",
        "record",
        "season",
        "winter",
        "summer",
        "spring",
        "autumn",
        "north",
        "south",
        "east",
        "west",
        "old",
        "new",
        "quiet",
        "busy",
        "early",
        "late",
    ]
)


def story_text(seed: int, sentences: int = 12) -> str:
    """Distinct, readable-enough news prose for story `seed`: paragraphs of 4 sentences."""
    rng = random.Random(seed)
    lines = []
    for i in range(sentences):
        words = rng.sample(_WORDS, 9)
        lines.append(
            f"The {words[0]} {words[1]} said the {words[2]} {words[3]} would reach the "
            f"{words[4]} {words[5]} before the {words[6]} {words[7]} {words[8]} number {seed}-{i}."
        )
    return "\n\n".join(" ".join(lines[i : i + 4]) for i in range(0, len(lines), 4))


def rss20(title: str, site: str, stories: Sequence[Story], base: str) -> str:
    items = "".join(
        f"<item><title>{escape(s.title)}</title><link>{base}{s.path}?utm_source=rss</link>"
        f"<guid>{base}{s.path}</guid><pubDate>{_rfc822(s.date)}</pubDate>"
        f"<description>{escape(_summary_html(s))}</description></item>"
        for s in stories
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{site}</link>{items}</channel></rss>"
    )


def atom(title: str, site: str, stories: Sequence[Story], base: str) -> str:
    entries = "".join(
        f"<entry><title>{escape(s.title)}</title><link href='{base}{s.path}'/>"
        f"<id>{base}{s.path}</id><updated>{s.date}</updated>"
        f"<content type='html'>{escape(_summary_html(s))}</content></entry>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><link href='{site}'/><id>{site}</id>"
        f"<updated>2024-07-21T08:00:00Z</updated>{entries}</feed>"
    )


def rdf(title: str, site: str, stories: Sequence[Story], base: str) -> str:
    items = "".join(
        f"<item rdf:about='{base}{s.path}'><title>{escape(s.title)}</title>"
        f"<link>{base}{s.path}</link><dc:date>{s.date}</dc:date>"
        f"<description>{escape(_summary_html(s))}</description></item>"
        for s in stories
    )
    return (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel rdf:about='{site}'><title>{escape(title)}</title><link>{site}</link>"
        f"<description>news</description></channel>{items}</rdf:RDF>"
    )


def json_feed(title: str, site: str, stories: Sequence[Story], base: str) -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": site,
            "items": [
                {
                    "id": f"{base}{s.path}",
                    "url": f"{base}{s.path}?fbclid=abc",
                    "title": s.title,
                    "date_published": s.date,
                    "content_html": _summary_html(s),
                }
                for s in stories
            ],
        }
    )


def _summary_html(story: Story) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in story.body.split("\n\n"))


def _rfc822(iso: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(iso))


def stories(prefix: str, count: int, first_seed: int = 0) -> Iterator[Story]:
    for i in range(count):
        seed = first_seed + i
        yield Story(
            path=f"/{prefix}/story-{seed}.html",
            title=f"Story {seed}: the {_WORDS[seed % len(_WORDS)]} report",
            date=f"2024-07-{1 + seed % 28:02d}T09:30:00+02:00",
            body=story_text(seed),
        )
