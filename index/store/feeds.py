"""Followed feeds and the articles they brought, in the data directory's `feeds.sqlite`.

A feed is one subscription per canonical URL, however many collections (servers) follow it:
it is fetched once per poll, and each article it brings is stored once. Which collections hold
an article is a membership row per collection, with when it was added there, so retention,
`feeds remove` and searches stay per collection: an article goes when no collection holds it
any more. Each follower keeps its own settings (the channel for headlines).

Every change is one SQLite transaction, so a crash leaves the state before or after it, and the
state outlives the process. Feed articles are kept apart from the articles admins add by hand
(`library/`): retention prunes only these. Canonical URLs already seen in a collection are
remembered beyond their article's retention, so a pruned story still in its feed is not added
again.

The contract (`FeedStore`) and its SQLite implementation; the PostgreSQL one is
`index/store/pg/feeds.py`. The same contract tests run against both.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import InputError
from index.ingest.canonical import canonical_url
from index.models import SHARED_COLLECTION, Article, ArticleRef, FeedInfo, ParsedArticle, Span
from index.store.library import record_of
from index.store.statedb import enable_wal
from index.text.minhash import PERMUTATIONS, from_bytes, to_bytes

FEEDS_NAME = "feeds.sqlite"
# 1: a feed row and an article row per collection. 2: shared subscriptions and articles.
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    added_at TEXT NOT NULL,
    last_poll TEXT,
    next_poll TEXT,
    errors INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS follows (
    collection TEXT NOT NULL,
    feed_id INTEGER NOT NULL,
    channel_id INTEGER,
    added_at TEXT NOT NULL,
    PRIMARY KEY (collection, feed_id)
);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    added_at TEXT NOT NULL,
    from_summary INTEGER NOT NULL,
    record TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS article_urls (
    url TEXT PRIMARY KEY,
    article_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    collection TEXT NOT NULL,
    article_id TEXT NOT NULL,
    feed_id INTEGER,
    added_at TEXT NOT NULL,
    date TEXT,
    PRIMARY KEY (collection, article_id)
);
CREATE INDEX IF NOT EXISTS members_by_article ON members (article_id);
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
class Subscription:
    """One feed URL, fetched once per poll for every collection that follows it."""

    id: int
    url: str
    title: str | None
    etag: str | None
    last_modified: str | None
    last_poll: str | None
    next_poll: str | None
    errors: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed as one collection follows it: the subscription's state, the follower's channel."""

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


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article already stored (for some collection), with what a new member needs."""

    parsed: ParsedArticle
    from_summary: bool
    signature: np.ndarray
    urls: tuple[str, ...]


class FeedStore(Protocol):
    def add_feed(
        self, collection: str, url: str, title: str | None, channel_id: int | None, now: datetime
    ) -> FeedRow: ...
    def ensure_feeds(self, collection: str, urls: Sequence[str], now: datetime) -> None: ...
    def find_feed(self, collection: str, key: str) -> FeedRow: ...
    def remove_feed(self, feed: FeedRow) -> int: ...
    def feeds(self, collection: str | None = None) -> list[FeedRow]: ...
    def due(self, collection: str | None, now: datetime, force: bool) -> list[Subscription]: ...
    def followers(self, feed: Subscription) -> list[FeedRow]: ...
    def record_success(
        self,
        feed: Subscription,
        *,
        title: str | None,
        etag: str | None,
        last_modified: str | None,
        now: datetime,
        next_poll: datetime,
    ) -> None: ...
    def record_failure(
        self, feed: Subscription, error: str, now: datetime, next_poll: datetime
    ) -> None: ...
    def info(self, feed: FeedRow) -> FeedInfo: ...
    def known(self, collection: str, urls: Sequence[str]) -> str | None: ...
    def mark_seen(
        self, collection: str, urls: Sequence[str], article_id: str | None, now: datetime
    ) -> None: ...
    def stored(self, urls: Sequence[str]) -> StoredArticle | None: ...
    def article(self, collection: str, article_id: str) -> Article | None: ...
    def has_source(self, collection: str, article_id: str, feed_id: int) -> bool: ...
    def signatures(self, collection: str) -> Signatures: ...
    def add_article(
        self,
        parsed: ParsedArticle,
        feed_id: int,
        from_summary: bool,
        signature: np.ndarray,
        urls: Sequence[str],
        now: datetime,
    ) -> None: ...
    def add_alternate(
        self,
        collection: str,
        article_id: str,
        copy: Article,
        feed_id: int,
        urls: Sequence[str],
        now: datetime,
    ) -> None: ...
    def articles(self, collection: str | None = None) -> list[ParsedArticle]: ...
    def article_count(self, collection: str) -> int: ...
    def stored_count(self) -> int: ...
    def collections(self) -> list[str]: ...
    def prune(
        self, collection: str, max_age_days: float, max_articles: int, now: datetime
    ) -> int: ...


class SqliteFeedStore:
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
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            try:
                enable_wal(conn, 30.0)
                _migrate(conn)
            finally:
                conn.close()
            self._created = True
        return self.path

    # --- feeds ------------------------------------------------------------------------------

    def add_feed(
        self, collection: str, url: str, title: str | None, channel_id: int | None, now: datetime
    ) -> FeedRow:
        with self._connect() as conn:
            feed_id = _subscribe(conn, canonical_url(url), title, now)
            try:
                conn.execute(
                    "INSERT INTO follows VALUES (?,?,?,?)",
                    (collection, feed_id, channel_id, iso(now)),
                )
            except sqlite3.IntegrityError:
                raise InputError(f"{url} is already followed here") from None
            return _follow(conn, collection, feed_id)

    def ensure_feeds(self, collection: str, urls: Sequence[str], now: datetime) -> None:
        """Follow each of `urls` not followed yet (the operator's feeds from settings)."""
        with self._connect() as conn:
            for url in urls:
                known = conn.execute(
                    "SELECT 1 FROM follows JOIN feeds ON feeds.id = feed_id "
                    "WHERE collection = ? AND url = ?",
                    (collection, canonical_url(url)),
                ).fetchone()
                if known is None:
                    feed_id = _subscribe(conn, canonical_url(url), None, now)
                    conn.execute(
                        "INSERT INTO follows VALUES (?,?,?,?)",
                        (collection, feed_id, None, iso(now)),
                    )

    def find_feed(self, collection: str, key: str) -> FeedRow:
        """A feed of `collection` by its id (as `feeds list` shows it) or its URL."""
        key = key.strip()
        url = canonical_url(key) if key.startswith(("http://", "https://")) else key
        with self._connect() as conn:
            row = conn.execute(
                _FOLLOW_COLUMNS + " WHERE collection = ? AND (url = ? OR CAST(id AS TEXT) = ?)",
                (collection, url, key),
            ).fetchone()
        if row is None:
            raise InputError(f"no feed {key!r} is followed here; see the feed list for ids")
        return FeedRow(*row)

    def remove_feed(self, feed: FeedRow) -> int:
        """Stop following `feed` in its collection and drop the articles it brought there;
        returns how many. Other collections that follow it keep it and theirs."""
        with self._connect() as conn:
            conn.execute(
                "DELETE FROM follows WHERE collection = ? AND feed_id = ?",
                (feed.collection, feed.id),
            )
            gone = [
                str(a)
                for (a,) in conn.execute(
                    "SELECT article_id FROM members WHERE collection = ? AND feed_id = ?",
                    (feed.collection, feed.id),
                )
            ]
            conn.execute(
                "DELETE FROM members WHERE collection = ? AND feed_id = ?",
                (feed.collection, feed.id),
            )
            conn.execute(
                "DELETE FROM alternates WHERE collection = ? AND feed_id = ?",
                (feed.collection, feed.id),
            )
            # Following it again brings its current entries back.
            conn.executemany(
                "DELETE FROM seen WHERE collection = ? AND article_id = ?",
                [(feed.collection, a) for a in gone],
            )
            _drop_orphans(conn, feed.collection)
            conn.execute(
                "DELETE FROM feeds WHERE id = ? AND id NOT IN (SELECT feed_id FROM follows)",
                (feed.id,),
            )
            return len(gone)

    def feeds(self, collection: str | None = None) -> list[FeedRow]:
        with self._connect() as conn:
            rows = conn.execute(
                _FOLLOW_COLUMNS + " WHERE ? IS NULL OR collection = ? ORDER BY collection, id",
                (collection, collection),
            ).fetchall()
        return [FeedRow(*r) for r in rows]

    def due(self, collection: str | None, now: datetime, force: bool) -> list[Subscription]:
        """The subscriptions to fetch now (those `collection` follows, or all followed)."""
        with self._connect() as conn:
            rows = conn.execute(
                _SUBSCRIPTION_COLUMNS + " WHERE id IN (SELECT feed_id FROM follows "
                "WHERE ? IS NULL OR collection = ?) "
                "AND (? OR next_poll IS NULL OR next_poll <= ?) ORDER BY id",
                (collection, collection, force, iso(now)),
            ).fetchall()
        return [Subscription(*r) for r in rows]

    def followers(self, feed: Subscription) -> list[FeedRow]:
        """Every collection's follow of `feed`."""
        with self._connect() as conn:
            rows = conn.execute(
                _FOLLOW_COLUMNS + " WHERE id = ? ORDER BY collection", (feed.id,)
            ).fetchall()
        return [FeedRow(*r) for r in rows]

    def record_success(
        self,
        feed: Subscription,
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
                (title, etag, last_modified, iso(now), iso(next_poll), feed.id),
            )

    def record_failure(
        self, feed: Subscription, error: str, now: datetime, next_poll: datetime
    ) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE feeds SET last_poll = ?, next_poll = ?, errors = errors + 1, "
                "last_error = ? WHERE id = ?",
                (iso(now), iso(next_poll), error, feed.id),
            )

    def info(self, feed: FeedRow) -> FeedInfo:
        with self._connect() as conn:
            items, from_summary = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(from_summary), 0) FROM members "
                "JOIN articles ON articles.id = article_id "
                "WHERE feed_id = ? AND collection = ?",
                (feed.id, feed.collection),
            ).fetchone()
            (also,) = conn.execute(
                "SELECT COUNT(*) FROM alternates WHERE feed_id = ? AND collection = ?",
                (feed.id, feed.collection),
            ).fetchone()
            current = conn.execute(
                _FOLLOW_COLUMNS + " WHERE id = ? AND collection = ?", (feed.id, feed.collection)
            ).fetchone()
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

    def stored(self, urls: Sequence[str]) -> StoredArticle | None:
        """The article stored for any collection that one of `urls` leads to: a collection
        that follows the feed later gets it without fetching its page again."""
        if not urls:
            return None
        marks = ",".join("?" * len(urls))
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT id, from_summary, record, signature FROM articles WHERE id IN "
                f"(SELECT article_id FROM article_urls WHERE url IN ({marks})) LIMIT 1",
                tuple(urls),
            ).fetchone()
            if row is None:
                return None
            links = conn.execute(
                "SELECT url FROM article_urls WHERE article_id = ? ORDER BY url", (row[0],)
            ).fetchall()
        return StoredArticle(
            article_of(json.loads(row[2])),
            bool(row[1]),
            from_bytes(row[3]),
            tuple(str(u) for (u,) in links),
        )

    def article(self, collection: str, article_id: str) -> Article | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT record FROM articles JOIN members ON article_id = id "
                "WHERE collection = ? AND id = ?",
                (collection, article_id),
            ).fetchone()
        if row is None:
            return None
        return replace(article_of(json.loads(row[0])).article, collection=collection)

    def has_source(self, collection: str, article_id: str, feed_id: int) -> bool:
        """Whether `feed_id` brought the article, or is one of its other sources already."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM members WHERE collection = ? AND article_id = ? AND feed_id = ? "
                "UNION SELECT 1 FROM alternates WHERE collection = ? AND article_id = ? "
                "AND feed_id = ?",
                (collection, article_id, feed_id, collection, article_id, feed_id),
            ).fetchone()
        return row is not None

    def signatures(self, collection: str) -> Signatures:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, signature FROM members JOIN articles ON articles.id = article_id "
                "WHERE collection = ? ORDER BY members.added_at",
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
        """Make the article a member of its collection; it is stored once, by the first
        collection that takes it."""
        a = parsed.article
        record = record_of(parsed)
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO articles VALUES (?,?,?,?,?)",
                (
                    a.id,
                    iso(now),
                    int(from_summary),
                    json.dumps(record, ensure_ascii=False),
                    to_bytes(signature),
                ),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO article_urls VALUES (?,?)",
                [(u, a.id) for u in {a.id, *urls}],
            )
            conn.execute(
                "INSERT OR REPLACE INTO members VALUES (?,?,?,?,?)",
                (a.collection, a.id, feed_id, iso(now), a.date),
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
        """Every feed article (of `collection`, or all), once per collection that holds it,
        as that collection's article (its `index_id`), with its other sources there."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT collection, id, record FROM members JOIN articles ON articles.id = "
                "article_id WHERE ? IS NULL OR collection = ? "
                "ORDER BY collection, members.added_at, id",
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
            parsed = article_of(json.loads(raw))
            out.append(
                replace(
                    parsed,
                    article=replace(parsed.article, id=index_id(coll, article_id), collection=coll),
                    also_in=tuple(also.get((coll, article_id), [])),
                )
            )
        return out

    def article_count(self, collection: str) -> int:
        with self._connect() as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM members WHERE collection = ?", (collection,)
            ).fetchone()
        return int(count)

    def stored_count(self) -> int:
        """Articles stored, each once whatever the number of collections holding it."""
        with self._connect() as conn:
            (count,) = conn.execute("SELECT COUNT(*) FROM articles").fetchone()
        return int(count)

    def collections(self) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT collection FROM follows UNION SELECT collection FROM members"
            ).fetchall()
        return sorted(str(c) for (c,) in rows)

    def prune(self, collection: str, max_age_days: float, max_articles: int, now: datetime) -> int:
        """Drop the collection's feed articles added more than `max_age_days` ago, then the
        oldest beyond `max_articles` (0 = no limit for either); returns how many went. Oldest
        is by when they were added, then by their date (one poll adds many at once). Only this
        collection's membership goes; the article itself when no collection holds it."""
        with self._connect() as conn:
            removed = 0
            if max_age_days > 0:
                cutoff = iso(now - timedelta(days=max_age_days))
                removed += conn.execute(
                    "DELETE FROM members WHERE collection = ? AND added_at < ?",
                    (collection, cutoff),
                ).rowcount
            if max_articles > 0:
                removed += conn.execute(
                    "DELETE FROM members WHERE collection = ? AND article_id NOT IN "
                    "(SELECT article_id FROM members WHERE collection = ? "
                    "ORDER BY added_at DESC, COALESCE(date, '') DESC, article_id DESC LIMIT ?)",
                    (collection, collection, max_articles),
                ).rowcount
            if removed:
                _drop_orphans(conn, collection)
            if max_age_days > 0:
                # Remembered twice as long as articles are kept: by then feeds have moved on.
                forget = iso(now - timedelta(days=2 * max_age_days))
                conn.execute(
                    "DELETE FROM seen WHERE collection = ? AND seen_at < ?", (collection, forget)
                )
            return int(removed)


def index_id(collection: str, article_id: str) -> str:
    """The id a collection's copy of a feed article has in the index, where ids are unique
    across collections. The operator's shared collection keeps the bare canonical URL (its ids
    from before feeds were shared stay valid); a server's is scoped like its hand-added
    articles."""
    return article_id if collection == SHARED_COLLECTION else f"{collection}/{article_id}"


_SUBSCRIPTION_COLUMNS = (
    "SELECT id, url, title, etag, last_modified, last_poll, next_poll, errors, last_error "
    "FROM feeds"
)
_FOLLOW_COLUMNS = (
    "SELECT * FROM (SELECT feeds.id AS id, collection, url, title, channel_id, etag, "
    "last_modified, last_poll, next_poll, errors, last_error "
    "FROM follows JOIN feeds ON feeds.id = follows.feed_id)"
)


def _subscribe(conn: sqlite3.Connection, url: str, title: str | None, now: datetime) -> int:
    """The subscription to `url` (canonical), made when no collection follows it yet.

    An existing one is due now and fetched whole (no validators): the new follower gets the
    feed's current entries at the next poll, not a 304; the others already know them."""
    row = conn.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()
    if row is None:
        cursor = conn.execute(
            "INSERT INTO feeds (url, title, added_at, next_poll) VALUES (?,?,?,?)",
            (url, title, iso(now), iso(now)),
        )
        return int(cursor.lastrowid or 0)
    conn.execute(
        "UPDATE feeds SET title = COALESCE(title, ?), etag = NULL, last_modified = NULL, "
        "next_poll = MIN(COALESCE(next_poll, ?), ?) WHERE id = ?",
        (title, iso(now), iso(now), row[0]),
    )
    return int(row[0])


def _follow(conn: sqlite3.Connection, collection: str, feed_id: int) -> FeedRow:
    return FeedRow(
        *conn.execute(
            _FOLLOW_COLUMNS + " WHERE id = ? AND collection = ?", (feed_id, collection)
        ).fetchone()
    )


def _drop_orphans(conn: sqlite3.Connection, collection: str) -> None:
    """Other sources of articles `collection` no longer holds, and articles no collection
    holds."""
    conn.execute(
        "DELETE FROM alternates WHERE collection = ? AND article_id NOT IN "
        "(SELECT article_id FROM members WHERE collection = ?)",
        (collection, collection),
    )
    conn.execute("DELETE FROM articles WHERE id NOT IN (SELECT article_id FROM members)")
    conn.execute("DELETE FROM article_urls WHERE article_id NOT IN (SELECT id FROM articles)")


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the file to the current schema in one transaction: an interrupted migration
    leaves the old file as it was."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the lock.
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version >= SCHEMA_VERSION:
            conn.execute("COMMIT")
            return
        columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(feeds)")}
        if "collection" in columns:
            _from_per_collection(conn)
        else:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _from_per_collection(conn: sqlite3.Connection) -> None:
    """Schema 1 (a feed row and an article row per collection) to shared subscriptions.

    Feeds whose URLs are the same once canonical become one subscription with the smallest old
    id (the id `feeds list` showed stays for its first follower). A subscription that merged
    several rows loses its validators: its next fetch is whole, so each follower gets the
    entries it lacked. An article held by several collections keeps the record read from its
    page rather than a feed summary, else the latest."""
    for table in ("feeds", "articles", "alternates"):
        conn.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    old_feeds = conn.execute(
        "SELECT id, collection, url, title, channel_id, etag, last_modified, added_at, "
        "last_poll, next_poll, errors, last_error FROM old_feeds ORDER BY id"
    ).fetchall()
    groups: dict[str, list[tuple[Any, ...]]] = {}
    for row in old_feeds:
        groups.setdefault(canonical_url(row[2]), []).append(row)
    new_id: dict[int, int] = {}
    for url, rows in groups.items():
        first = rows[0]
        single = len(rows) == 1
        polls = [r[8] for r in rows if r[8]]
        dues = [r[9] for r in rows if r[9]]
        healthiest = min(rows, key=lambda r: r[10])
        conn.execute(
            "INSERT INTO feeds VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                first[0],
                url,
                next((r[3] for r in rows if r[3]), None),
                first[5] if single else None,
                first[6] if single else None,
                min(r[7] for r in rows),
                max(polls) if polls else None,
                min(dues) if dues else None,
                healthiest[10],
                healthiest[11],
            ),
        )
        for r in rows:
            new_id[r[0]] = first[0]
            conn.execute(
                "INSERT OR IGNORE INTO follows VALUES (?,?,?,?)", (r[1], first[0], r[4], r[7])
            )
    old_articles = conn.execute(
        "SELECT collection, id, feed_id, added_at, date, from_summary, record, signature "
        "FROM old_articles ORDER BY from_summary DESC, added_at, collection"
    ).fetchall()
    for coll, article_id, feed_id, added_at, date, from_summary, record, sig in old_articles:
        # Ordered so that the record kept is the last one written: read from its page if any.
        conn.execute(
            "INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?)",
            (article_id, added_at, from_summary, record, sig),
        )
        url = json.loads(record).get("url")
        conn.executemany(
            "INSERT OR IGNORE INTO article_urls VALUES (?,?)",
            [(u, article_id) for u in {article_id, url} if u],
        )
        conn.execute(
            "INSERT OR REPLACE INTO members VALUES (?,?,?,?,?)",
            (coll, article_id, new_id.get(feed_id, feed_id), added_at, date),
        )
    conn.executemany(
        "INSERT OR IGNORE INTO alternates VALUES (?,?,?,?,?,?,?)",
        [
            (*r[:6], new_id.get(r[6], r[6]))
            for r in conn.execute(
                "SELECT collection, article_id, url, title, date, source, feed_id "
                "FROM old_alternates"
            ).fetchall()
        ],
    )
    for table in ("feeds", "articles", "alternates"):
        conn.execute(f"DROP TABLE old_{table}")


def article_of(record: dict[str, object]) -> ParsedArticle:
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
        [(collection, u, article_id, iso(now)) for u in urls],
    )


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
