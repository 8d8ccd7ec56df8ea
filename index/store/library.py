"""Articles added by server admins, kept per collection in the data directory.

Each collection is one JSONL file (`library/<collection>.jsonl`) holding the articles verbatim;
every index build reads them beside the operator's shared sources. Files are rewritten
atomically, so a crash mid-write leaves the previous file. That is the local implementation of
the contract below; the PostgreSQL one is `index/store/pg/library.py`.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Protocol

from index.errors import InputError
from index.models import SHARED_COLLECTION, Article, ParsedArticle, Span

_SAFE_RE = re.compile(r"[^A-Za-z0-9_.-]+")


class Library(Protocol):
    def articles(self, collection: str) -> list[ParsedArticle]: ...
    def add(self, collection: str, new: list[ParsedArticle]) -> list[Article]: ...
    def remove(self, collection: str, article_id: str) -> Article: ...
    def collections(self) -> list[str]: ...
    def read_all(self) -> list[ParsedArticle]: ...


def check_changeable(collection: str) -> None:
    if collection == SHARED_COLLECTION:
        raise InputError("the shared collection is the operator's; it is not changed here")


def scoped(collection: str, parsed: ParsedArticle) -> ParsedArticle:
    """`parsed` as an article of `collection`, under a collection-scoped id."""
    a = parsed.article
    article_id = a.id if a.id.startswith(f"{collection}/") else f"{collection}/{a.id}"
    return ParsedArticle(
        replace(a, id=article_id, collection=collection), parsed.excluded, parsed.origin
    )


def is_named(collection: str, article: Article, article_id: str) -> bool:
    """Whether `article_id` names `article`, with or without its collection's prefix."""
    return article_id in (article.id, article.id.removeprefix(f"{collection}/"))


def record_of(parsed: ParsedArticle) -> dict[str, Any]:
    return {
        **asdict(parsed.article),
        "excluded": [[x.start, x.end] for x in parsed.excluded],
        "origin": parsed.origin,
    }


def parsed_of(record: dict[str, Any]) -> ParsedArticle:
    excluded = tuple(Span(s, e) for s, e in record.pop("excluded", []))
    origin = record.pop("origin", "")
    return ParsedArticle(Article(**record), excluded, origin)


class FileLibrary:
    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "library"
        self._lock = threading.Lock()

    def _path(self, collection: str) -> Path:
        check_changeable(collection)
        return self.folder / f"{_SAFE_RE.sub('_', collection)}.jsonl"

    def articles(self, collection: str) -> list[ParsedArticle]:
        path = self._path(collection)
        if not path.is_file():
            return []
        return [
            parsed_of(json.loads(line))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]

    def _write(self, collection: str, articles: list[ParsedArticle]) -> None:
        path = self._path(collection)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for p in articles:
                fh.write(json.dumps(record_of(p), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)

    def add(self, collection: str, new: list[ParsedArticle]) -> list[Article]:
        """Store `new` in `collection` under collection-scoped ids; same id replaces."""
        with self._lock:
            existing = {p.article.id: p for p in self.articles(collection)}
            added = []
            for parsed in new:
                mine = scoped(collection, parsed)
                existing[mine.article.id] = mine
                added.append(mine.article)
            self._write(collection, list(existing.values()))
            return added

    def remove(self, collection: str, article_id: str) -> Article:
        with self._lock:
            stored = self.articles(collection)
            for p in stored:
                if is_named(collection, p.article, article_id):
                    self._write(collection, [q for q in stored if q is not p])
                    return p.article
        raise InputError(f"no article {article_id!r} in this server's collection")

    def collections(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        names = []
        for path in sorted(self.folder.glob("*.jsonl")):
            first = next((ln for ln in path.read_text(encoding="utf-8").splitlines() if ln), None)
            if first:
                names.append(str(json.loads(first)["collection"]))
        return names

    def read_all(self) -> list[ParsedArticle]:
        return [p for collection in self.collections() for p in self.articles(collection)]
