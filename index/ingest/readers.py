"""Turn article sources (folders, files, JSONL, URLs) into `ParsedArticle`s.

Every reader keeps the text it stores verbatim: offsets computed later index it exactly.
Bad input raises `InputError` with a reason; `read_sources` collects those per file and goes on,
and an unexpected error in one file's reader is that file's problem alone.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import trafilatura

from index.errors import InputError
from index.ingest.collections import Item, article_from_record, iter_json, iter_jsonl
from index.ingest.dates import html_date_params
from index.ingest.fetch import Fetched, fetch_url
from index.ingest.frontmatter import read_front_matter
from index.ingest.plaintext import parse_head
from index.ingest.records import (
    fallback_title,
    normalise_date,
    problem,
    scalar_text,
    with_cleanup,
)
from index.models import (
    SHARED_COLLECTION,
    Article,
    ParsedArticle,
    ReadReport,
    SourceProblem,
    Span,
)
from index.store.source_cache import SourceCache, stat_of

# Re-exported: evaluation datasets are collections of records too.
__all__ = ["article_from_record"]

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")
# Files that hold many articles: limited per article, and as a whole by a much larger bound.
COLLECTION_SUFFIXES = (".json", ".jsonl")


@dataclass(frozen=True, slots=True)
class ReadLimits:
    max_article_bytes: int
    max_collection_bytes: int


Job = Callable[[], Iterable[Item]]
"""One file's (or one fetched page's) reading as a picklable call; items come out in order."""
Runner = Callable[[Job, str], Iterable[Item]]
"""Runs a job for the source named by its second argument: here (`in_process`), or bounded in
time and memory in a child process (`index.ingest.isolation.ReaderProcess.run`)."""


def in_process(job: Job, origin: str) -> Iterable[Item]:
    return job()


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def decode_text(data: bytes, origin: str, charset: str | None = None) -> str:
    """Decode article bytes; binary, undecodable or empty input is refused with a reason.

    Text is UTF-8 (or UTF-16 with a byte-order mark). Bytes that are not UTF-8 are decoded with
    `charset` when a web server declared one: many pages are still served as windows-1252.
    """
    if not data.strip():
        raise InputError(f"{origin}: empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{origin}: not valid UTF-16 text") from None
    else:
        if b"\x00" in data[:8192]:
            raise InputError(f"{origin}: binary file, not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            declared = _decode_declared(data, charset)
            if declared is None:
                raise InputError(
                    f"{origin}: not UTF-8 text (undecodable byte at offset {exc.start})"
                ) from None
            text = declared
    if not text.strip():
        raise InputError(f"{origin}: empty file")
    return text


def _decode_declared(data: bytes, charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return None


def parse_plain_text(text: str, article_id: str, origin: str, collection: str) -> ParsedArticle:
    head = parse_head(text)
    title = head.title or fallback_title(article_id)
    article = Article(id=article_id, title=title, text=text, date=head.date, collection=collection)
    return with_cleanup(article, head.excluded, head.body_start, origin)


# The heading's text is taken whole and trimmed in Python: a pattern that trims it itself
# ("(.+?)[ \t#]*$") takes quadratic time on a heading with a long run of spaces.
_MD_HEADING_RE = re.compile(r"^#[ \t]+([^\n]*)", re.MULTILINE)


def parse_markdown(text: str, article_id: str, origin: str, collection: str) -> ParsedArticle:
    meta: dict[str, object] = {}
    excluded: list[Span] = []
    body_start = 0
    front = read_front_matter(text, origin)
    if front is not None:
        meta = front.meta
        excluded.append(Span(0, front.end))
        body_start = front.end
    title = scalar_text(meta.get("title"))
    if title is None:
        heading = _MD_HEADING_RE.search(text, body_start)
        if heading and not text[body_start : heading.start()].strip():
            title = heading.group(1).rstrip(" \t#\r").strip() or None
            excluded.append(Span(heading.start(), heading.end()))
            body_start = heading.end()
    if not text[body_start:].strip():
        raise InputError(f"{origin}: no article text after the front matter")
    article = Article(
        id=scalar_text(meta.get("id")) or article_id,
        title=title or fallback_title(article_id),
        text=text,
        date=normalise_date(meta.get("date")),
        source=scalar_text(meta.get("source")),
        url=scalar_text(meta.get("url")),
        collection=collection,
    )
    return with_cleanup(article, excluded, body_start, origin)


def parse_html(
    html: str, article_id: str, origin: str, collection: str, url: str | None = None
) -> ParsedArticle:
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params=html_date_params(),
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{origin}: no article text found in the page")
    title = scalar_text(getattr(doc, "title", None))
    # trafilatura keeps the page's <h1> as the first line: it is the title, not a sentence.
    excluded: list[Span] = []
    body_start = 0
    first_line = re.match(r"\s*([^\n]+)", text)
    if title and first_line and first_line.group(1).strip() == title:
        excluded.append(Span(first_line.start(1), first_line.end(1)))
        body_start = first_line.end(1)
    article = Article(
        id=article_id,
        title=title or fallback_title(article_id),
        text=text,
        date=normalise_date(getattr(doc, "date", None)),
        source=scalar_text(getattr(doc, "sitename", None)),
        url=url or scalar_text(getattr(doc, "url", None)),
        collection=collection,
    )
    return with_cleanup(article, excluded, body_start, origin)


def iter_stream(
    stream: IO[bytes],
    name: str,
    article_id: str,
    origin: str,
    collection: str,
    max_article_bytes: int,
) -> Iterator[Item]:
    """Articles (and problems of single lines or records) of one file, by its name's suffix.

    The caller has bounded the stream's size: by the article limit for a single-article
    file, by the collection limit for `.jsonl` and `.json`.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"{origin}: unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if suffix == ".jsonl":
        head = stream.read(8192)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError(f"{origin}: a .jsonl file must be UTF-8, not UTF-16")
        if not head.strip():
            raise InputError(f"{origin}: empty file")
        if b"\x00" in head:
            raise InputError(f"{origin}: binary file, not text")
        stream.seek(0)
        yield from iter_jsonl(stream, article_id, origin, collection, max_article_bytes)
        return
    text = decode_text(stream.read(), origin)
    if suffix == ".json":
        yield from iter_json(text, article_id, origin, collection, max_article_bytes)
    elif suffix in (".html", ".htm"):
        yield parse_html(text, article_id, origin, collection)
    elif suffix in (".md", ".markdown"):
        yield parse_markdown(text, article_id, origin, collection)
    else:
        yield parse_plain_text(text, article_id, origin, collection)


def iter_bytes(
    data: bytes,
    name: str,
    article_id: str,
    origin: str,
    collection: str,
    max_article_bytes: int,
) -> Iterator[Item]:
    return iter_stream(io.BytesIO(data), name, article_id, origin, collection, max_article_bytes)


def parse_bytes(
    data: bytes,
    name: str,
    article_id: str,
    origin: str,
    collection: str = SHARED_COLLECTION,
    max_article_bytes: int | None = None,
) -> tuple[list[ParsedArticle], list[SourceProblem]]:
    """Parse one file's bytes by its name's suffix; each article of a collection file is
    limited to `max_article_bytes` (by default, the size of `data`)."""
    limit = len(data) if max_article_bytes is None else max_article_bytes
    return split_items(iter_bytes(data, name, article_id, origin, collection, limit))


def split_items(items: Iterable[Item]) -> tuple[list[ParsedArticle], list[SourceProblem]]:
    articles: list[ParsedArticle] = []
    problems: list[SourceProblem] = []
    for item in items:
        if isinstance(item, ParsedArticle):
            articles.append(item)
        else:
            problems.append(item)
    return articles, problems


def read_file(
    path: Path, article_id: str, limits: ReadLimits, collection: str = SHARED_COLLECTION
) -> Iterator[Item]:
    """The items of one file on disk; its size is checked before anything is read."""
    origin = str(path)
    is_collection = path.suffix.lower() in COLLECTION_SUFFIXES
    limit = limits.max_collection_bytes if is_collection else limits.max_article_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            what = "collection file too large" if is_collection else "too large"
            raise InputError(f"{origin}: {what} ({size} bytes, limit {limit})")
        with path.open("rb") as stream:
            yield from iter_stream(
                stream, path.name, article_id, origin, collection, limits.max_article_bytes
            )
    except OSError as exc:
        raise InputError(f"{origin}: cannot read ({exc.strerror or exc})") from None


def parse_fetched(fetched: Fetched, source: str, collection: str) -> ParsedArticle:
    """The article in a page fetched for the link `source` (HTML, plain text or Markdown)."""
    text = decode_text(fetched.body, source, fetched.charset)
    if fetched.content_type in ("text/plain", "text/markdown"):
        # Markdown keeps its front matter and heading rules whether it comes from disk or a link.
        parse = parse_markdown if fetched.content_type == "text/markdown" else parse_plain_text
        parsed = parse(text, source, source, collection)
        return ParsedArticle(
            article=dataclasses.replace(parsed.article, url=parsed.article.url or fetched.url),
            excluded=parsed.excluded,
            origin=parsed.origin,
        )
    if fetched.content_type not in ("text/html", "application/xhtml+xml"):
        raise InputError(f"{source}: not an article page ({fetched.content_type})")
    return parse_html(text, source, source, collection, url=fetched.url)


def fetched_items(fetched: Fetched, source: str, collection: str) -> Iterator[Item]:
    yield parse_fetched(fetched, source, collection)


class Fetcher(Protocol):
    """Downloads a page: `fetch_url`, or a cache in front of it that spares unchanged pages."""

    def __call__(
        self, url: str, *, max_bytes: int, timeout: float, allow_private: bool
    ) -> Fetched: ...


def read_url(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    collection: str = SHARED_COLLECTION,
    run: Runner = in_process,
    fetch: Fetcher = fetch_url,
) -> ParsedArticle:
    """The article at `url`: fetched here with `fetch`, parsed by `run`."""
    fetched = fetch(url, max_bytes=max_bytes, timeout=timeout, allow_private=allow_private)
    articles, _ = split_items(run(functools.partial(fetched_items, fetched, url, collection), url))
    if not articles:
        raise InputError(f"{url}: no article text found in the page")
    return articles[0]


def iter_article_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(
            part.startswith(".") for part in path.relative_to(folder).parts
        ):
            yield path


def read_sources(
    sources: Iterable[str],
    *,
    max_bytes: int,
    max_collection_bytes: int | None = None,
    timeout: float = 15.0,
    allow_private: bool = True,
    collection: str = SHARED_COLLECTION,
    run: Runner = in_process,
    fetch: Fetcher = fetch_url,
    cache: SourceCache | None = None,
) -> ReadReport:
    """Read every source; each bad one becomes a `SourceProblem` and the rest go on.

    `max_bytes` limits each article; `max_collection_bytes` (by default the same) each
    `.jsonl` or `.json` file as a whole. `run` reads each file or fetched page; URLs are
    downloaded with `fetch` (a caching fetcher spares unchanged pages); a file whose size and
    mtime are those `cache` saw gives its articles from there, unparsed.
    """
    limits = ReadLimits(max_bytes, max_collection_bytes or max_bytes)
    report = ReadReport()
    for source in sources:
        if is_url(source):
            fetch_and_read = functools.partial(
                read_url,
                source,
                max_bytes=max_bytes,
                timeout=timeout,
                allow_private=allow_private,
                collection=collection,
                run=run,
                fetch=fetch,
            )
            _read_one(report, source, functools.partial(_as_items, fetch_and_read))
            continue
        path = Path(source)
        if path.is_dir():
            for file in iter_article_files(path):
                if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                    reason = f"unsupported file type {file.suffix or '(none)'}, skipped"
                    report.problems.append(problem(str(file), reason))
                    continue
                article_id = file.relative_to(path).as_posix()
                _read_file(report, str(file), file, article_id, limits, collection, run, cache)
        elif path.is_file():
            _read_file(report, source, path, path.name, limits, collection, run, cache)
        else:
            report.problems.append(problem(source, "no such file or folder"))
    return report


def _read_file(
    report: ReadReport,
    origin: str,
    path: Path,
    article_id: str,
    limits: ReadLimits,
    collection: str,
    run: Runner,
    cache: SourceCache | None,
) -> None:
    job = functools.partial(read_file, path, article_id, limits, collection)
    if cache is None:
        _read_one(report, origin, functools.partial(run, job, origin))
        return
    key = json.dumps([str(path.resolve()), article_id, collection, dataclasses.astuple(limits)])
    cached = cache.get(key, path)
    if cached is not None:
        _read_one(report, origin, lambda: cached)
        return
    before = stat_of(path)
    articles, problems = len(report.articles), len(report.problems)
    _read_one(report, origin, functools.partial(run, job, origin))
    # A file that gave any problem is read again next time: a timeout or a reader bug may
    # not recur, and its problems are reported again either way.
    if before is not None and len(report.problems) == problems:
        cache.put(key, path, report.articles[articles:], *before)


def _read_one(report: ReadReport, origin: str, items: Callable[[], Iterable[Item]]) -> None:
    """Add one source's articles and problems to `report`; whatever goes wrong reading it is
    that source's problem alone, after the articles it gave so far."""
    try:
        for item in items():
            if isinstance(item, ParsedArticle):
                report.articles.append(item)
            else:
                report.problems.append(item)
    except InputError as exc:
        report.problems.append(problem(origin, str(exc).removeprefix(f"{origin}: ")))
    except Exception as exc:
        # A bug in a reader (or a library under it) must not cost the build every other file.
        log.exception("unexpected error while reading %s", origin)
        report.problems.append(problem(origin, f"unexpected error while reading ({_brief(exc)})"))


def _as_items(read: Callable[[], ParsedArticle]) -> list[Item]:
    return [read()]


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
