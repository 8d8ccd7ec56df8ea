"""What each source file read into last time, kept so an unchanged file is not parsed again.

An entry is keyed by the file's path and how it was read (article id, collection, limits) and
holds the file's size and modification time (ns) when read: a file whose size and mtime are
unchanged gives its stored articles and problems back without being opened. Editing a file
changes its mtime; tools that restore an old mtime on new content of the same size are the
blind spot every build system of this kind shares (make, rsync's quick check).

One SQLite file in the data directory; each entry is replaced in one transaction.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from index.models import Article, ArticleRef, ParsedArticle, SourceProblem, Span

SOURCE_CACHE_NAME = "source-cache.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    items TEXT NOT NULL
);
"""

Item = ParsedArticle | SourceProblem


class SourceCache:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / SOURCE_CACHE_NAME

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path)
        try:
            conn.executescript(_SCHEMA)
            yield conn
        finally:
            conn.close()

    def get(self, key: str, path: Path) -> list[Item] | None:
        """The items `path` gave when read as `key`, if it has not changed since."""
        try:
            stat = path.stat()
        except OSError:
            return None
        try:
            with self._connect() as conn:
                row = conn.execute(
                    "SELECT size, mtime_ns, items FROM files WHERE key = ?", (key,)
                ).fetchone()
        except sqlite3.DatabaseError:
            return None
        if row is None or (row[0], row[1]) != (stat.st_size, stat.st_mtime_ns):
            return None
        return [_item(raw) for raw in json.loads(row[2])]

    def put(self, key: str, path: Path, items: Sequence[Item], size: int, mtime_ns: int) -> None:
        """Keeps what `path` gave, with the size and mtime it had before it was read (a file
        changed while being read is read again next time)."""
        if (size, mtime_ns) != _stat(path):
            return
        try:
            with self._connect() as conn, conn:
                conn.execute(
                    "INSERT OR REPLACE INTO files VALUES (?,?,?,?)",
                    (key, size, mtime_ns, json.dumps([_raw(i) for i in items])),
                )
        except sqlite3.DatabaseError:
            return


def stat_of(path: Path) -> tuple[int, int] | None:
    try:
        return _stat(path)
    except OSError:
        return None


def _stat(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _raw(item: Item) -> dict[str, Any]:
    if isinstance(item, SourceProblem):
        return {"problem": [item.origin, item.reason]}
    a = item.article
    return {
        "article": [a.id, a.title, a.text, a.date, a.source, a.url, a.collection],
        "excluded": [[s.start, s.end] for s in item.excluded],
        "origin": item.origin,
        "also_in": [[r.id, r.title, r.date, r.source, r.url, r.collection] for r in item.also_in],
    }


def _item(raw: dict[str, Any]) -> Item:
    if "problem" in raw:
        return SourceProblem(*raw["problem"])
    i, title, text, date, source, url, collection = raw["article"]
    return ParsedArticle(
        Article(i, title, text, date, source, url, collection),
        tuple(Span(s, e) for s, e in raw["excluded"]),
        raw["origin"],
        tuple(ArticleRef(*r) for r in raw["also_in"]),
    )
