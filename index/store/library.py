"""Articles added by server admins, kept per collection in the data directory.

Each collection is one JSONL file (`library/<collection>.jsonl`) holding the articles verbatim;
every index build reads them beside the operator's shared sources. Files are rewritten
atomically, so a crash mid-write leaves the previous file.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import asdict, replace
from pathlib import Path

from index.errors import InputError
from index.models import SHARED_COLLECTION, Article, ParsedArticle, Span

_SAFE_RE = re.compile(r"[^A-Za-z0-9_.-]+")


class Library:
    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "library"
        self._lock = threading.Lock()

    def _path(self, collection: str) -> Path:
        if collection == SHARED_COLLECTION:
            raise InputError("the shared collection is the operator's; it is not changed here")
        return self.folder / f"{_SAFE_RE.sub('_', collection)}.jsonl"

    def articles(self, collection: str) -> list[ParsedArticle]:
        path = self._path(collection)
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                excluded = tuple(Span(s, e) for s, e in record.pop("excluded", []))
                origin = record.pop("origin", "")
                out.append(ParsedArticle(Article(**record), excluded, origin))
        return out

    def _write(self, collection: str, articles: list[ParsedArticle]) -> None:
        path = self._path(collection)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for p in articles:
                record = {
                    **asdict(p.article),
                    "excluded": [[x.start, x.end] for x in p.excluded],
                    "origin": p.origin,
                }
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)

    def add(self, collection: str, new: list[ParsedArticle]) -> list[Article]:
        """Store `new` in `collection` under collection-scoped ids; same id replaces."""
        with self._lock:
            existing = {p.article.id: p for p in self.articles(collection)}
            added = []
            for parsed in new:
                a = parsed.article
                scoped = a.id if a.id.startswith(f"{collection}/") else f"{collection}/{a.id}"
                article = replace(a, id=scoped, collection=collection)
                existing[scoped] = ParsedArticle(article, parsed.excluded, parsed.origin)
                added.append(article)
            self._write(collection, list(existing.values()))
            return added

    def remove(self, collection: str, article_id: str) -> Article:
        with self._lock:
            stored = self.articles(collection)
            for p in stored:
                if article_id in (p.article.id, p.article.id.removeprefix(f"{collection}/")):
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
