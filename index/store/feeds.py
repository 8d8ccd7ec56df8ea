"""Followed feeds and the articles they brought, per collection, in the data directory's
`feeds.sqlite`.

Every change is one SQLite transaction, so a crash leaves the state before or after it, and the
state outlives the process. Feed articles are kept apart from the articles admins add by hand
(`library/`): retention prunes only these. Canonical URLs already seen in a collection are
remembered beyond their article's retention, so a pruned story still in its feed is not added
again.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from index.errors import InputError
from index.models import Article, ArticleRef, FeedInfo, ParsedArticle, Span
from index.text.minhash import PERMUTATIONS, from_bytes, to_bytes

FEEDS_NAME = "feeds.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT,
    channel_id INTEGER,
    etag TEXT,
    last_modified TEXT,
    added_at TEXT NOT NULL,
    last_poll TEXT,
    next_poll TEXT,
    errors INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (collection, url)
);
CREATE TABLE IF NOT EXISTS articles (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    feed_id INTEGER,
    added_at TEXT NOT NULL,
    date TEXT,
    from_summary INTEGER NOT NULL,
    record TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS alternates (
    collection TEXT NOT NULL,
    article_id TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    source TEXT,
    feed_id INTEGER,
    PRIMARY KEY (collection, article_id, url, feed_id)
);
CREATE TABLE IF NOT EXISTS seen (
    collection TEXT NOT NULL,
    url TEXT NOT NULL,
    article_id TEXT,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (collection, url)
);
"""


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    collection: str
    url: str
    title: str | None
    channel_id: int | None
    etag: str | None
    last_modified: str | None
    last_poll: str | None
    next_poll: str | None
    errors: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Signatures:
    """The MinHash signatures of a collection's feed articles, one row per id."""

    ids: list[str]
    matrix: np.ndarray


class FeedStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FEEDS_NAME
        self._created = False

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        conn = sqlite3.connect(self._ready(), timeout=30.0)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def _ready(self) -> Path:
        # Once per store object: a poll opens the file a few times per feed.
        if not self._created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
            finally:
                conn.close()
            self._created = True
        return self.path

    # --- feeds ------------------------------------------------------------------------------

    def add_feed(
        self, collection: str, url: str, title: str | None, channel_id: int | None, now: datetime
    ) -> FeedRow:
        with self._connect() as conn:
            try:
                cursor = conn.execute(
                    "INSERT INTO feeds (collection, url, title, channel_id, added_at, next_poll) "
                    "VALUES (?,?,?,?,?,?)",
                    (collection, url, title, channel_id, _iso(now), _iso(now)),
                )
            except sqlite3.IntegrityError:
                raise InputError(f"{url} is already followed here") from None
            return self._feed(conn, int(cursor.lastrowid or 0))

    def ensure_feeds(self, collection: str, urls: Sequence[str], now: datetime) -> None:
        """Follow each of `urls` not followed yet (the operator's feeds from settings)."""
        with self._connect() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO feeds (collection, url, added_at, next_poll) "
                "VALUES (?,?,?,?)",
                [(collection, url, _iso(now), _iso(now)) for url in urls],
            )

    def find_feed(self, collection: str, key: str) -> FeedRow:
        """A feed of `collection` by its id (as `feeds list` shows it) or its URL."""
        with self._connect() as conn:
            row = conn.execute(
                _FEED_COLUMNS + " WHERE collection = ? AND (url = ? OR CAST(id AS TEXT) = ?)",
                (collection, key.strip(), key.strip()),
            ).fetchone()
        if row is None:
            raise InputError(f"no feed {key!r} is followed here; see the feed list for ids")
        return FeedRow(*row)

    def remove_feed(self, feed: FeedRow) -> int:
        """Stop following `feed` and drop the articles it brought; returns how many."""
        with self._connect() as conn:
            conn.execute("DELETE FROM feeds WHERE id = ?", (feed.id,))
            removed = conn.execute(
                "DELETE FROM articles WHERE feed_id = ? AND collection = ?",
                (feed.id, feed.collection),
            ).rowcount
            conn.execute(
                "DELETE FROM alternates WHERE feed_id = ? AND collection = ?",
                (feed.id, feed.collection),
            )
            conn.execute(
                "DELETE FROM alternates WHERE collection = ? AND article_id NOT IN "
                "(SELECT id FROM articles WHERE collection = ?)",
                (feed.collection, feed.collection),
            )
            return int(removed)

    def feeds(self, collection: str | None = None) -> list[FeedRow]:
        with self._connect() as conn:
            rows = conn.execute(
                _FEED_COLUMNS + " WHERE ? IS NULL OR collection = ? ORDER BY collection, id",
                (collection, collection),
            ).fetchall()
        return [FeedRow(*r) for r in rows]

    def due(self, collection: str | None, now: datetime, force: bool) -> list[FeedRow]:
        return [
            f
            for f in self.feeds(collection)
            if force or f.next_poll is None or f.next_poll <= _iso(now)
        ]

    def record_success(
        self,
        feed: FeedRow,
        *,
        title: str | None,
        etag: str | None,
        last_modified: str | None,
        now: datetime,
        next_poll: datetime,
    ) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE feeds SET title = COALESCE(?, title), etag = ?, last_modified = ?, "
                "last_poll = ?, next_poll = ?, errors = 0, last_error = NULL WHERE id = ?",
                (title, etag, last_modified, _iso(now), _iso(next_poll), feed.id),
            )

    def record_failure(self, feed: FeedRow, error: str, now: datetime, next_poll: datetime) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE feeds SET last_poll = ?, next_poll = ?, errors = errors + 1, "
                "last_error = ? WHERE id = ?",
                (_iso(now), _iso(next_poll), error, feed.id),
            )

    def info(self, feed: FeedRow) -> FeedInfo:
        with self._connect() as conn:
            items, from_summary = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(from_summary), 0) FROM articles "
                "WHERE feed_id = ? AND collection = ?",
                (feed.id, feed.collection),
            ).fetchone()
            (also,) = conn.execute(
                "SELECT COUNT(*) FROM alternates WHERE feed_id = ? AND collection = ?",
                (feed.id, feed.collection),
            ).fetchone()
            current = conn.execute(_FEED_COLUMNS + " WHERE id = ?", (feed.id,)).fetchone()
        row = FeedRow(*current) if current is not None else feed
        return FeedInfo(
            id=row.id,
            collection=row.collection,
            url=row.url,
            title=row.title,
            channel_id=row.channel_id,
            items=int(items) + int(also),
            last_poll=row.last_poll,
            next_poll=row.next_poll,
            last_error=row.last_error,
            from_summary=int(from_summary),
        )

    @staticmethod
    def _feed(conn: sqlite3.Connection, feed_id: int) -> FeedRow:
        return FeedRow(*conn.execute(_FEED_COLUMNS + " WHERE id = ?", (feed_id,)).fetchone())

    # --- articles ---------------------------------------------------------------------------

    def known(self, collection: str, urls: Sequence[str]) -> str | None:
        """The id of the article any of `urls` (canonical) belongs to here; "" for a URL seen
        without an article (an entry that could not be read); None when none was seen."""
        if not urls:
            return None
        marks = ",".join("?" * len(urls))
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT COALESCE(article_id, '') FROM seen "
                f"WHERE collection = ? AND url IN ({marks}) ORDER BY article_id IS NULL LIMIT 1",
                (collection, *urls),
            ).fetchone()
        return None if row is None else str(row[0])

    def mark_seen(
        self, collection: str, urls: Sequence[str], article_id: str | None, now: datetime
    ) -> None:
        with self._connect() as conn:
            _mark(conn, collection, urls, article_id, now)

    def article(self, collection: str, article_id: str) -> Article | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT record FROM articles WHERE collection = ? AND id = ?",
                (collection, article_id),
            ).fetchone()
        return None if row is None else _article(json.loads(row[0])).article

    def has_source(self, collection: str, article_id: str, feed_id: int) -> bool:
        """Whether `feed_id` brought the article, or is one of its other sources already."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM articles WHERE collection = ? AND id = ? AND feed_id = ? "
                "UNION SELECT 1 FROM alternates WHERE collection = ? AND article_id = ? "
                "AND feed_id = ?",
                (collection, article_id, feed_id, collection, article_id, feed_id),
            ).fetchone()
        return row is not None

    def signatures(self, collection: str) -> Signatures:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, signature FROM articles WHERE collection = ? ORDER BY added_at",
                (collection,),
            ).fetchall()
        if not rows:
            return Signatures([], np.empty((0, PERMUTATIONS), dtype=np.uint32))
        return Signatures([str(i) for i, _ in rows], np.stack([from_bytes(s) for _, s in rows]))

    def add_article(
        self,
        parsed: ParsedArticle,
        feed_id: int,
        from_summary: bool,
        signature: np.ndarray,
        urls: Sequence[str],
        now: datetime,
    ) -> None:
        a = parsed.article
        record = {
            **asdict(a),
            "excluded": [[s.start, s.end] for s in parsed.excluded],
            "origin": parsed.origin,
        }
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?,?,?)",
                (
                    a.collection,
                    a.id,
                    feed_id,
                    _iso(now),
                    a.date,
                    int(from_summary),
                    json.dumps(record, ensure_ascii=False),
                    to_bytes(signature),
                ),
            )
            _mark(conn, a.collection, urls, a.id, now)

    def add_alternate(
        self,
        collection: str,
        article_id: str,
        copy: Article,
        feed_id: int,
        urls: Sequence[str],
        now: datetime,
    ) -> None:
        """Record `copy` (the same story from another outlet) as a source of `article_id`."""
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO alternates VALUES (?,?,?,?,?,?,?)",
                (
                    collection,
                    article_id,
                    copy.url or copy.id,
                    copy.title,
                    copy.date,
                    copy.source,
                    feed_id,
                ),
            )
            _mark(conn, collection, [*urls, copy.url or copy.id], article_id, now)

    def articles(self, collection: str | None = None) -> list[ParsedArticle]:
        """Every feed article (of `collection`, or all), with its other sources."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT collection, id, record FROM articles "
                "WHERE ? IS NULL OR collection = ? ORDER BY collection, added_at, id",
                (collection, collection),
            ).fetchall()
            alternates = conn.execute(
                "SELECT collection, article_id, url, title, date, source FROM alternates "
                "WHERE ? IS NULL OR collection = ? ORDER BY rowid",
                (collection, collection),
            ).fetchall()
        also: dict[tuple[str, str], list[ArticleRef]] = {}
        for coll, article_id, url, title, date, source in alternates:
            also.setdefault((coll, article_id), []).append(
                ArticleRef(f"{coll}/{url}", title, date, source, url, coll)
            )
        out = []
        for coll, article_id, raw in rows:
            parsed = _article(json.loads(raw))
            out.append(replace(parsed, also_in=tuple(also.get((coll, article_id), []))))
        return out

    def article_count(self, collection: str) -> int:
        with self._connect() as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM articles WHERE collection = ?", (collection,)
            ).fetchone()
        return int(count)

    def collections(self) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT collection FROM feeds UNION SELECT collection FROM articles"
            ).fetchall()
        return sorted(str(c) for (c,) in rows)

    def prune(self, collection: str, max_age_days: float, max_articles: int, now: datetime) -> int:
        """Drop the collection's feed articles added more than `max_age_days` ago, then the
        oldest beyond `max_articles` (0 = no limit for either); returns how many went. Oldest
        is by when they were added, then by their date (one poll adds many at once)."""
        with self._connect() as conn:
            removed = 0
            if max_age_days > 0:
                cutoff = _iso(now - timedelta(days=max_age_days))
                removed += conn.execute(
                    "DELETE FROM articles WHERE collection = ? AND added_at < ?",
                    (collection, cutoff),
                ).rowcount
            if max_articles > 0:
                removed += conn.execute(
                    "DELETE FROM articles WHERE collection = ? AND id NOT IN (SELECT id FROM "
                    "articles WHERE collection = ? "
                    "ORDER BY added_at DESC, COALESCE(date, '') DESC, id DESC LIMIT ?)",
                    (collection, collection, max_articles),
                ).rowcount
            if removed:
                conn.execute(
                    "DELETE FROM alternates WHERE collection = ? AND article_id NOT IN "
                    "(SELECT id FROM articles WHERE collection = ?)",
                    (collection, collection),
                )
            if max_age_days > 0:
                # Remembered twice as long as articles are kept: by then feeds have moved on.
                forget = _iso(now - timedelta(days=2 * max_age_days))
                conn.execute(
                    "DELETE FROM seen WHERE collection = ? AND seen_at < ?", (collection, forget)
                )
            return int(removed)


_FEED_COLUMNS = (
    "SELECT id, collection, url, title, channel_id, etag, last_modified, last_poll, next_poll, "
    "errors, last_error FROM feeds"
)


def _article(record: dict[str, object]) -> ParsedArticle:
    excluded = tuple(Span(s, e) for s, e in record.pop("excluded"))  # type: ignore[attr-defined]
    origin = str(record.pop("origin"))
    return ParsedArticle(Article(**record), excluded, origin)  # type: ignore[arg-type]


def _mark(
    conn: sqlite3.Connection,
    collection: str,
    urls: Sequence[str],
    article_id: str | None,
    now: datetime,
) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO seen VALUES (?,?,?,?)",
        [(collection, u, article_id, _iso(now)) for u in urls],
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
