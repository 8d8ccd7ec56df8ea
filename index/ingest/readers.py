"""Turn article sources (folders, files, JSONL, URLs) into `ParsedArticle`s.

Every reader keeps the text it stores verbatim: offsets computed later index it exactly.
Bad input raises `InputError` with a reason; `read_sources` collects those per file and goes on.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import trafilatura
import yaml

from index.errors import InputError
from index.ingest.cleanup import boilerplate_spans
from index.ingest.fetch import Fetched, fetch_url
from index.ingest.plaintext import parse_date, parse_head
from index.models import (
    SHARED_COLLECTION,
    Article,
    ParsedArticle,
    ReadReport,
    SourceProblem,
    Span,
)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")


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


def _with_cleanup(
    article: Article, excluded: Iterable[Span], body_start: int, origin: str
) -> ParsedArticle:
    spans = [*excluded, *boilerplate_spans(article.text, body_start)]
    return ParsedArticle(
        article=article, excluded=tuple(sorted(spans, key=lambda s: s.start)), origin=origin
    )


def parse_plain_text(text: str, article_id: str, origin: str, collection: str) -> ParsedArticle:
    head = parse_head(text)
    title = head.title or fallback_title(article_id)
    article = Article(id=article_id, title=title, text=text, date=head.date, collection=collection)
    return _with_cleanup(article, head.excluded, head.body_start, origin)


# "\r" allowed before each "\n": files saved on Windows end their lines with CRLF.
_FRONT_MATTER_RE = re.compile(r"\A---[ \t\r]*\n(.*?\n)---[ \t\r]*(?:\n|\Z)", re.DOTALL)
_MD_HEADING_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def parse_markdown(text: str, article_id: str, origin: str, collection: str) -> ParsedArticle:
    meta: dict[str, Any] = {}
    excluded: list[Span] = []
    body_start = 0
    front = _FRONT_MATTER_RE.match(text)
    if front:
        try:
            loaded = yaml.safe_load(front.group(1))
        except yaml.YAMLError as exc:
            raise InputError(f"{origin}: bad YAML front matter ({exc})") from None
        if isinstance(loaded, dict):
            meta = loaded
        excluded.append(Span(0, front.end()))
        body_start = front.end()
    title = _str_or_none(meta.get("title"))
    if title is None:
        heading = _MD_HEADING_RE.search(text, body_start)
        if heading and not text[body_start : heading.start()].strip():
            title = heading.group(1).strip()
            excluded.append(Span(heading.start(), heading.end()))
            body_start = heading.end()
    if not text[body_start:].strip():
        raise InputError(f"{origin}: no article text after the front matter")
    article = Article(
        id=_str_or_none(meta.get("id")) or article_id,
        title=title or fallback_title(article_id),
        text=text,
        date=_normalise_date(meta.get("date")),
        source=_str_or_none(meta.get("source")),
        url=_str_or_none(meta.get("url")),
        collection=collection,
    )
    return _with_cleanup(article, excluded, body_start, origin)


def parse_html(
    html: str, article_id: str, origin: str, collection: str, url: str | None = None
) -> ParsedArticle:
    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise InputError(f"{origin}: no article text found in the page")
    title = _str_or_none(getattr(doc, "title", None))
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
        date=_normalise_date(getattr(doc, "date", None)),
        source=_str_or_none(getattr(doc, "sitename", None)),
        url=url or _str_or_none(getattr(doc, "url", None)),
        collection=collection,
    )
    return _with_cleanup(article, excluded, body_start, origin)


def article_from_record(
    record: Any, fallback_id: str, origin: str, collection: str
) -> ParsedArticle:
    """One JSON object with at least `text`; `id` and `text` are kept verbatim."""
    if not isinstance(record, dict):
        raise InputError(f'{origin}: expected a JSON object with a "text" field')
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f'{origin}: no "text" field, or it is empty')
    article_id = record.get("id")
    article = Article(
        id=str(article_id) if article_id not in (None, "") else fallback_id,
        title=_str_or_none(record.get("title")) or fallback_title(fallback_id),
        text=text,
        date=_normalise_date(record.get("date")),
        source=_str_or_none(record.get("source")),
        url=_str_or_none(record.get("url")),
        collection=collection,
    )
    return _with_cleanup(article, (), 0, origin)


def parse_bytes(
    data: bytes, name: str, article_id: str, origin: str, collection: str = SHARED_COLLECTION
) -> tuple[list[ParsedArticle], list[SourceProblem]]:
    """Parse one file's bytes by its name's suffix. Used for files on disk and uploads alike."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"{origin}: unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    text = decode_text(data, origin)
    if suffix == ".jsonl":
        return _parse_jsonl(text, article_id, origin, collection)
    if suffix == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{origin}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
        records = loaded if isinstance(loaded, list) else [loaded]
        return _collect(
            (
                article_from_record(
                    r, f"{article_id}#{i}" if len(records) > 1 else article_id, origin, collection
                )
                for i, r in enumerate(records)
            ),
            origin,
        )
    if suffix in (".html", ".htm"):
        return [parse_html(text, article_id, origin, collection)], []
    if suffix in (".md", ".markdown"):
        return [parse_markdown(text, article_id, origin, collection)], []
    return [parse_plain_text(text, article_id, origin, collection)], []


def _parse_jsonl(
    text: str, stem: str, origin: str, collection: str
) -> tuple[list[ParsedArticle], list[SourceProblem]]:
    articles: list[ParsedArticle] = []
    problems: list[SourceProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{origin} line {number}"
        try:
            record = json.loads(line)
            articles.append(article_from_record(record, f"{stem}:{number}", where, collection))
        except json.JSONDecodeError as exc:
            problems.append(SourceProblem(where, f"invalid JSON ({exc.msg})"))
        except InputError as exc:
            problems.append(SourceProblem(where, str(exc).removeprefix(f"{where}: ")))
    if not articles and not problems:
        raise InputError(f"{origin}: no articles in the file")
    return articles, problems


def _collect(
    items: Iterator[ParsedArticle], origin: str
) -> tuple[list[ParsedArticle], list[SourceProblem]]:
    articles: list[ParsedArticle] = []
    problems: list[SourceProblem] = []
    while True:
        try:
            articles.append(next(items))
        except StopIteration:
            return articles, problems
        except InputError as exc:
            problems.append(SourceProblem(origin, str(exc).removeprefix(f"{origin}: ")))


def read_file(
    path: Path, article_id: str, max_bytes: int, collection: str = SHARED_COLLECTION
) -> tuple[list[ParsedArticle], list[SourceProblem]]:
    origin = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{origin}: too large ({size} bytes, limit {max_bytes})")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{origin}: cannot read ({exc.strerror})") from None
    return parse_bytes(data, path.name, article_id, origin, collection)


class Fetcher(Protocol):
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
    fetch: Fetcher = fetch_url,
) -> ParsedArticle:
    fetched = fetch(url, max_bytes=max_bytes, timeout=timeout, allow_private=allow_private)
    return read_fetched(fetched, url, collection)


def read_fetched(fetched: Fetched, url: str, collection: str = SHARED_COLLECTION) -> ParsedArticle:
    """The article in a fetched page (HTML, plain text or Markdown), with `url` as its id."""
    text = decode_text(fetched.body, url, fetched.charset)
    if fetched.content_type in ("text/plain", "text/markdown"):
        # Markdown keeps its front matter and heading rules whether it comes from disk or a link.
        parse = parse_markdown if fetched.content_type == "text/markdown" else parse_plain_text
        parsed = parse(text, url, url, collection)
        return ParsedArticle(
            article=dataclasses.replace(parsed.article, url=parsed.article.url or fetched.url),
            excluded=parsed.excluded,
            origin=url,
        )
    if fetched.content_type not in ("text/html", "application/xhtml+xml"):
        raise InputError(f"{url}: not an article page ({fetched.content_type})")
    return parse_html(text, url, url, collection, url=fetched.url)


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
    timeout: float = 15.0,
    allow_private: bool = True,
    collection: str = SHARED_COLLECTION,
    fetch: Fetcher = fetch_url,
) -> ReadReport:
    """Read every source; each bad one becomes a `SourceProblem` and the rest go on.
    URLs are downloaded with `fetch` (a caching fetcher spares unchanged pages)."""
    report = ReadReport()
    for source in sources:
        try:
            if is_url(source):
                report.articles.append(
                    read_url(
                        source,
                        max_bytes=max_bytes,
                        timeout=timeout,
                        allow_private=allow_private,
                        collection=collection,
                        fetch=fetch,
                    )
                )
                continue
            path = Path(source)
            if path.is_dir():
                for file in iter_article_files(path):
                    if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                        report.problems.append(
                            SourceProblem(
                                str(file),
                                f"unsupported file type {file.suffix or '(none)'}, skipped",
                            )
                        )
                        continue
                    _read_one(
                        file, file.relative_to(path).as_posix(), max_bytes, collection, report
                    )
            elif path.is_file():
                _read_one(path, path.name, max_bytes, collection, report)
            else:
                raise InputError(f"{source}: no such file or folder")
        except InputError as exc:
            report.problems.append(_problem(source, exc))
    return report


def _read_one(
    path: Path, article_id: str, max_bytes: int, collection: str, report: ReadReport
) -> None:
    try:
        articles, problems = read_file(path, article_id, max_bytes, collection)
    except InputError as exc:
        report.problems.append(_problem(str(path), exc))
        return
    report.articles.extend(articles)
    report.problems.extend(problems)


def _problem(origin: str, exc: InputError) -> SourceProblem:
    return SourceProblem(origin, str(exc).removeprefix(f"{origin}: "))


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _normalise_date(value: Any) -> str | None:
    """ISO date when the value is recognisably a date; the given text otherwise."""
    text = _str_or_none(value)
    if text is None:
        return None
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return text[:10]
    parsed = parse_date(text)
    return parsed.isoformat() if parsed else text


def fallback_title(article_id: str) -> str:
    stem = (
        Path(article_id.split("#")[0]).stem
        if "/" in article_id or "." in article_id
        else article_id
    )
    return stem.replace("_", " ").replace("-", " ").strip() or article_id
