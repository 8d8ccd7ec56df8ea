"""SQLite storage for one index generation: articles and passages.

Row numbers are dense and start at 0, so a passage's row is also its row in the vector and
lexical indexes.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from index.errors import IndexCorruptError
from index.models import Article, ArticleRef, Span

_SCHEMA = """
CREATE TABLE articles (
    row INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    source TEXT,
    url TEXT,
    text TEXT NOT NULL,
    digest TEXT NOT NULL,
    origin TEXT NOT NULL
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY,
    article_row INTEGER NOT NULL REFERENCES articles(row),
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    sentences TEXT NOT NULL,
    digest TEXT NOT NULL,
    text_key TEXT NOT NULL
);
CREATE INDEX passages_by_article ON passages(article_row);
CREATE TABLE alternates (
    article_row INTEGER NOT NULL REFERENCES articles(row),
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    source TEXT,
    url TEXT,
    collection TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class PassageColumns:
    """Each passage's article row, first and end character, indexed by passage row."""

    article: np.ndarray
    start: np.ndarray
    end: np.ndarray


@dataclass(frozen=True, slots=True)
class StoredArticle:
    row: int
    article: Article
    digest: str
    origin: str
    also_in: tuple[ArticleRef, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredPassage:
    row: int
    article_row: int
    char_start: int
    char_end: int
    sentences: tuple[Span, ...]
    digest: str
    text_key: str


def passage_text_key(text: str) -> str:
    """Equal for passages whose words are equal, whatever their case, spacing or punctuation."""
    return hashlib.sha1(re.sub(r"\W+", " ", text.lower()).strip().encode()).hexdigest()[:20]


def write_store(
    path: Path,
    articles: Sequence[StoredArticle],
    passages: Iterable[StoredPassage],
) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(_SCHEMA)
        conn.executemany(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    a.row,
                    a.article.id,
                    a.article.collection,
                    a.article.title,
                    a.article.date,
                    a.article.source,
                    a.article.url,
                    a.article.text,
                    a.digest,
                    a.origin,
                )
                for a in articles
            ),
        )
        conn.executemany(
            "INSERT INTO passages VALUES (?,?,?,?,?,?,?)",
            (
                (
                    p.row,
                    p.article_row,
                    p.char_start,
                    p.char_end,
                    json.dumps([[s.start, s.end] for s in p.sentences]),
                    p.digest,
                    p.text_key,
                )
                for p in passages
            ),
        )
        conn.executemany(
            "INSERT INTO alternates VALUES (?,?,?,?,?,?,?)",
            (
                (a.row, r.id, r.title, r.date, r.source, r.url, r.collection)
                for a in articles
                for r in a.also_in
            ),
        )
        conn.commit()
    finally:
        conn.close()


class Store:
    """Read access to one generation's SQLite file, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # Quoted: a "#", "?" or "%" in the data directory's path would end or alter the URI.
            self._conn = sqlite3.connect(
                f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True, check_same_thread=False
            )
            self._conn.execute("SELECT count(*) FROM articles").fetchone()
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(path, f"SQLite cannot read it: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(self.path, f"SQLite cannot read it: {exc}") from None

    def article_refs(self) -> list[ArticleRef]:
        rows = self._query(
            "SELECT id, title, date, source, url, collection FROM articles ORDER BY row"
        )
        return [ArticleRef(*map(_opt_str, r)) for r in rows]  # type: ignore[arg-type]

    def alternates(self) -> dict[int, tuple[ArticleRef, ...]]:
        """Other outlets' copies of each article, by article row (generations built before
        syndicated copies were merged have none)."""
        if not self._query("SELECT 1 FROM sqlite_master WHERE name = 'alternates'"):
            return {}
        out: dict[int, list[ArticleRef]] = {}
        for row, *ref in self._query(
            "SELECT article_row, id, title, date, source, url, collection FROM alternates "
            "ORDER BY rowid"
        ):
            out.setdefault(int(row), []).append(ArticleRef(*map(_opt_str, ref)))  # type: ignore[arg-type,call-overload]
        return {row: tuple(refs) for row, refs in out.items()}

    def article_index(self) -> list[tuple[int, str, str, str]]:
        """(row, id, digest, collection) of every article, in row order."""
        rows = self._query("SELECT row, id, digest, collection FROM articles ORDER BY row")
        return [(int(r), str(i), str(d), str(c)) for r, i, d, c in rows]  # type: ignore[call-overload]

    def stored_articles(self) -> list[StoredArticle]:
        """Every article as it was written, with its other outlets' copies."""
        alternates = self.alternates()
        rows = self._query(
            "SELECT row, id, collection, title, date, source, url, text, digest, origin "
            "FROM articles ORDER BY row"
        )
        out = []
        for row, id_, collection, title, date, source, url, text, digest, origin in rows:
            article = Article(
                id=str(id_),
                title=str(title),
                text=str(text),
                collection=str(collection),
                date=_opt_str(date),
                source=_opt_str(source),
                url=_opt_str(url),
            )
            r = int(row)  # type: ignore[call-overload]
            out.append(StoredArticle(r, article, str(digest), str(origin), alternates.get(r, ())))
        return out

    def stored_passages(self) -> list[StoredPassage]:
        rows = self._query(
            "SELECT row, article_row, char_start, char_end, sentences, digest, text_key "
            "FROM passages ORDER BY row"
        )
        return [
            StoredPassage(
                int(row),  # type: ignore[call-overload]
                int(article),  # type: ignore[call-overload]
                int(start),  # type: ignore[call-overload]
                int(end),  # type: ignore[call-overload]
                tuple(Span(s, e) for s, e in json.loads(str(sentences))),
                str(digest),
                str(key),
            )
            for row, article, start, end, sentences, digest, key in rows
        ]

    def passage_digests_of(self, article_rows: Sequence[int]) -> list[tuple[int, str]]:
        """(row, digest) of the passages of `article_rows`."""
        out: list[tuple[int, str]] = []
        for article in article_rows:
            found = self._query(
                "SELECT row, digest FROM passages WHERE article_row = ?", (int(article),)
            )
            out.extend((int(r), str(d)) for r, d in found)  # type: ignore[call-overload]
        return out

    def article_digests(self) -> dict[str, str]:
        return {str(i): str(d) for i, d in self._query("SELECT id, digest FROM articles")}

    def article_text(self, article_row: int) -> str:
        rows = self._query("SELECT text FROM articles WHERE row = ?", (article_row,))
        return str(rows[0][0])

    def passage_spans(self) -> list[tuple[int, int, int]]:
        """(article_row, char_start, char_end) of every passage, in row order."""
        rows = self._query("SELECT article_row, char_start, char_end FROM passages ORDER BY row")
        return [(int(a), int(s), int(e)) for a, s, e in rows]  # type: ignore[call-overload]

    def passage_columns(self) -> PassageColumns:
        """Every passage's article row and span as arrays, read without a Python object per
        value: at 100k passages the list of tuples alone took 20 MB of a searcher's peak."""
        try:
            with self._lock:
                (count,) = self._conn.execute("SELECT count(*) FROM passages").fetchone()
                cursor = self._conn.execute(
                    "SELECT article_row, char_start, char_end FROM passages ORDER BY row"
                )
                flat = np.fromiter(
                    (v for row in cursor for v in row), dtype=np.int64, count=3 * int(count)
                )
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(self.path, f"SQLite cannot read it: {exc}") from None
        table = flat.reshape(-1, 3)
        return PassageColumns(
            np.ascontiguousarray(table[:, 0]),
            np.ascontiguousarray(table[:, 1]),
            np.ascontiguousarray(table[:, 2]),
        )

    def passage_sentences(self, row: int) -> tuple[Span, ...]:
        rows = self._query("SELECT sentences FROM passages WHERE row = ?", (row,))
        return tuple(Span(s, e) for s, e in json.loads(str(rows[0][0])))

    def passage_text_keys(self) -> list[str]:
        return [str(d) for (d,) in self._query("SELECT text_key FROM passages ORDER BY row")]

    def passage_digests(self) -> list[str]:
        return [str(d) for (d,) in self._query("SELECT digest FROM passages ORDER BY row")]


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
