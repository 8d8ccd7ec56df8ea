"""Collection files: `.jsonl` (one article a line) and `.json` (one article or a list).

Each article is limited on its own (`max_article_bytes`), never the file as a whole; a
`.jsonl` file is read line by line with each line's read bounded, so memory does not grow
with the file. A bad line or record is reported by its number and the rest are kept.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import IO, Any

from index.errors import InputError
from index.ingest.records import fallback_title, normalise_date, problem, scalar_text, with_cleanup
from index.models import Article, ParsedArticle, SourceProblem

log = logging.getLogger(__name__)

Item = ParsedArticle | SourceProblem

# Beyond this many bad lines in one file the rest are counted, not listed: a binary or
# truncated file would otherwise report millions of lines.
MAX_LISTED_PROBLEMS = 200


def article_from_record(
    record: Any, fallback_id: str, origin: str, collection: str
) -> ParsedArticle:
    """One JSON object with at least `text`; `id` and `text` are kept verbatim."""
    if not isinstance(record, dict):
        raise InputError(f'{origin}: expected a JSON object with a "text" field')
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f'{origin}: no "text" field, or it is empty')
    given_id = record.get("id")
    article_id = scalar_text(given_id) if given_id not in (None, "") else fallback_id
    if article_id is None:
        raise InputError(f'{origin}: "id" must be a string or a number')
    article = Article(
        id=str(given_id) if isinstance(given_id, str) else article_id,
        title=scalar_text(record.get("title")) or fallback_title(fallback_id),
        text=text,
        date=normalise_date(record.get("date")),
        source=scalar_text(record.get("source")),
        url=scalar_text(record.get("url")),
        collection=collection,
    )
    return with_cleanup(article, (), 0, origin)


class BadJson(Exception):
    """JSON that cannot be loaded: `detail` says why and, when known, where in the line;
    the message adds the line."""

    def __init__(self, detail: str, line: int | None = None, column: int | None = None) -> None:
        if column is not None:
            detail = f"{detail}{'' if detail.endswith(' at') else ' at'} column {column}"
        super().__init__(detail if line is None else f"{detail} of line {line}")
        self.detail = detail


def loads(text: str | bytes) -> Any:
    """`json.loads`, with every way it can fail as a `BadJson`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadJson(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise BadJson("nested too deeply") from None
    except ValueError as exc:
        # Python refuses to convert integers of more than 4300 digits (quadratic work).
        if "integer string conversion" in str(exc):
            raise BadJson(f"a number of more than {sys.get_int_max_str_digits()} digits") from None
        raise BadJson(_short(exc)) from None


def iter_jsonl(
    stream: IO[bytes],
    stem: str,
    origin: str,
    collection: str,
    max_article_bytes: int,
) -> Iterator[Item]:
    """Articles and problems of a `.jsonl` stream, in order, one line in memory at a time."""
    articles = 0
    problems = 0
    for number, line in _lines(stream, max_article_bytes):
        where = f"{origin} line {number}"
        reason = None
        if isinstance(line, int):
            reason = f"article too large ({line} bytes, limit {max_article_bytes})"
        elif line.strip():
            try:
                body = line.rstrip(b"\r\n")
                record = loads(body.removeprefix(b"\xef\xbb\xbf") if number == 1 else body)
                yield article_from_record(record, f"{stem}:{number}", where, collection)
                articles += 1
                continue
            except BadJson as exc:
                reason = f"invalid JSON ({exc.detail})"
            except InputError as exc:
                reason = str(exc).removeprefix(f"{where}: ")
            except Exception as exc:
                log.exception("%s: unexpected error", where)
                reason = f"unexpected error ({type(exc).__name__}: {_short(exc)})"
        if reason is None:
            continue
        problems += 1
        if problems <= MAX_LISTED_PROBLEMS:
            yield problem(where, reason)
    if problems > MAX_LISTED_PROBLEMS:
        yield problem(origin, f"{problems - MAX_LISTED_PROBLEMS} more bad lines not listed")
    if not articles and not problems:
        raise InputError(f"{origin}: no articles in the file")


def _lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | int]]:
    """(line number, line) for each line; a line longer than `limit` bytes is skipped without
    being held and given as its length instead."""
    number = 0
    while True:
        line = stream.readline(limit + 2)
        if not line:
            return
        number += 1
        size = len(line) - line.endswith(b"\n")
        if size <= limit:
            yield number, line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(1 << 20)
            size += len(line) - line.endswith(b"\n")
        yield number, size


def iter_json(
    text: str, article_id: str, origin: str, collection: str, max_article_bytes: int
) -> Iterator[Item]:
    """Articles of a `.json` file: one object, or a list of them (each limited on its own)."""
    try:
        loaded = loads(text)
    except BadJson as exc:
        raise InputError(f"{origin}: invalid JSON ({exc})") from None
    records = loaded if isinstance(loaded, list) else [loaded]
    many = len(records) > 1
    for i, record in enumerate(records):
        where = f"{origin} item {i + 1}" if many else origin
        try:
            size = _text_bytes(record)
            if size > max_article_bytes:
                raise InputError(
                    f"{where}: article too large ({size} bytes, limit {max_article_bytes})"
                )
            yield article_from_record(
                record, f"{article_id}#{i}" if many else article_id, where, collection
            )
        except InputError as exc:
            if not many:
                raise
            yield problem(where, str(exc).removeprefix(f"{where}: "))
    if not records:
        raise InputError(f"{origin}: no articles in the file")


def _text_bytes(record: Any) -> int:
    text = record.get("text") if isinstance(record, dict) else None
    return len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else 0


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
