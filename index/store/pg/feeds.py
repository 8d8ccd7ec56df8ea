"""Followed feeds, their schedule and the articles they brought (`index/store/feeds.py`'s
contract) in PostgreSQL, so any worker polls from the same subscriptions and every process
sees the same memberships.

The tables mirror the SQLite file's (the articles table is `feed_articles` here, beside the
library's); each method is one transaction. Two processes subscribing to one URL at once
end with one subscription (the URL is unique and the insert yields to the other's).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import psycopg

from index.errors import InputError
from index.ingest.canonical import canonical_url
from index.models import Article, ArticleRef, FeedInfo, ParsedArticle
from index.store.feeds import (
    FeedRow,
    Signatures,
    StoredArticle,
    Subscription,
    article_of,
    index_id,
    iso,
)
from index.store.library import record_of
from index.store.pg.connection import PgDatabase
from index.text.minhash import PERMUTATIONS, from_bytes, to_bytes

_SUBSCRIPTIONS = (
    "SELECT id, url, title, etag, last_modified, last_poll, next_poll, errors, last_error "
    "FROM feeds"
)
_FOLLOWS = (
    "SELECT feeds.id, collection, url, title, channel_id, etag, last_modified, last_poll, "
    "next_poll, errors, last_error FROM follows JOIN feeds ON feeds.id = follows.feed_id"
)


class PgFeedStore:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    # --- feeds ------------------------------------------------------------------------------

    def add_feed(
        self, collection: str, url: str, title: str | None, channel_id: int | None, now: datetime
    ) -> FeedRow:
        with self.db.transaction() as conn:
            feed_id = _subscribe(conn, canonical_url(url), title, now)
            inserted = conn.execute(
                "INSERT INTO follows VALUES (%s,%s,%s,%s) ON CONFLICT DO NOTHING RETURNING 1",
                (collection, feed_id, channel_id, iso(now)),
            ).fetchone()
            if inserted is None:
                # Raising rolls the subscription's reset back with it.
                raise InputError(f"{url} is already followed here")
            return _follow(conn, collection, feed_id)

    def ensure_feeds(self, collection: str, urls: Sequence[str], now: datetime) -> None:
        """Follow each of `urls` not followed yet (the operator's feeds from settings)."""
        with self.db.transaction() as conn:
            for url in urls:
                known = conn.execute(
                    "SELECT 1 FROM follows JOIN feeds ON feeds.id = feed_id "
                    "WHERE collection = %s AND url = %s",
                    (collection, canonical_url(url)),
                ).fetchone()
                if known is None:
                    feed_id = _subscribe(conn, canonical_url(url), None, now)
                    conn.execute(
                        "INSERT INTO follows VALUES (%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                        (collection, feed_id, None, iso(now)),
                    )

    def find_feed(self, collection: str, key: str) -> FeedRow:
        """A feed of `collection` by its id (as `feeds list` shows it) or its URL."""
        key = key.strip()
        url = canonical_url(key) if key.startswith(("http://", "https://")) else key
        with self.db.transaction() as conn:
            row = conn.execute(
                _FOLLOWS + " WHERE collection = %s AND (url = %s OR feeds.id::text = %s)",
                (collection, url, key),
            ).fetchone()
        if row is None:
            raise InputError(f"no feed {key!r} is followed here; see the feed list for ids")
        return FeedRow(*row)

    def remove_feed(self, feed: FeedRow) -> int:
        """Stop following `feed` in its collection and drop the articles it brought there;
        returns how many. Other collections that follow it keep it and theirs."""
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM follows WHERE collection = %s AND feed_id = %s",
                (feed.collection, feed.id),
            )
            gone = [
                str(r[0])
                for r in conn.execute(
                    "DELETE FROM members WHERE collection = %s AND feed_id = %s "
                    "RETURNING article_id",
                    (feed.collection, feed.id),
                ).fetchall()
            ]
            conn.execute(
                "DELETE FROM alternates WHERE collection = %s AND feed_id = %s",
                (feed.collection, feed.id),
            )
            # Following it again brings its current entries back.
            conn.execute(
                "DELETE FROM seen WHERE collection = %s AND article_id = ANY(%s)",
                (feed.collection, gone),
            )
            _drop_orphans(conn, feed.collection)
            conn.execute(
                "DELETE FROM feeds WHERE id = %s AND id NOT IN (SELECT feed_id FROM follows)",
                (feed.id,),
            )
            return len(gone)

    def feeds(self, collection: str | None = None) -> list[FeedRow]:
        with self.db.transaction() as conn:
            if collection is None:
                rows = conn.execute(_FOLLOWS + " ORDER BY collection, feeds.id").fetchall()
            else:
                rows = conn.execute(
                    _FOLLOWS + " WHERE collection = %s ORDER BY collection, feeds.id",
                    (collection,),
                ).fetchall()
        return [FeedRow(*r) for r in rows]

    def due(self, collection: str | None, now: datetime, force: bool) -> list[Subscription]:
        """The subscriptions to fetch now (those `collection` follows, or all followed)."""
        followed = "SELECT feed_id FROM follows" + (
            "" if collection is None else " WHERE collection = %(collection)s"
        )
        when = "" if force else " AND (next_poll IS NULL OR next_poll <= %(now)s)"
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"{_SUBSCRIPTIONS} WHERE id IN ({followed}){when} ORDER BY id",
                {"collection": collection, "now": iso(now)},
            ).fetchall()
        return [Subscription(*r) for r in rows]

    def followers(self, feed: Subscription) -> list[FeedRow]:
        """Every collection's follow of `feed`."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                _FOLLOWS + " WHERE feeds.id = %s ORDER BY collection", (feed.id,)
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
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE feeds SET title = COALESCE(%s, title), etag = %s, last_modified = %s, "
                "last_poll = %s, next_poll = %s, errors = 0, last_error = NULL WHERE id = %s",
                (title, etag, last_modified, iso(now), iso(next_poll), feed.id),
            )

    def record_failure(
        self, feed: Subscription, error: str, now: datetime, next_poll: datetime
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE feeds SET last_poll = %s, next_poll = %s, errors = errors + 1, "
                "last_error = %s WHERE id = %s",
                (iso(now), iso(next_poll), error, feed.id),
            )

    def info(self, feed: FeedRow) -> FeedInfo:
        with self.db.transaction() as conn:
            counted = conn.execute(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE from_summary) FROM members "
                "JOIN feed_articles ON feed_articles.id = article_id "
                "WHERE feed_id = %s AND collection = %s",
                (feed.id, feed.collection),
            ).fetchone()
            also = conn.execute(
                "SELECT COUNT(*) FROM alternates WHERE feed_id = %s AND collection = %s",
                (feed.id, feed.collection),
            ).fetchone()
            current = conn.execute(
                _FOLLOWS + " WHERE feeds.id = %s AND collection = %s", (feed.id, feed.collection)
            ).fetchone()
        items, from_summary = counted if counted else (0, 0)
        row = FeedRow(*current) if current is not None else feed
        return FeedInfo(
            id=row.id,
            collection=row.collection,
            url=row.url,
            title=row.title,
            channel_id=row.channel_id,
            items=int(items) + int(also[0] if also else 0),
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
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT COALESCE(article_id, '') FROM seen WHERE collection = %s "
                "AND url = ANY(%s) ORDER BY article_id IS NULL LIMIT 1",
                (collection, list(urls)),
            ).fetchone()
        return None if row is None else str(row[0])

    def mark_seen(
        self, collection: str, urls: Sequence[str], article_id: str | None, now: datetime
    ) -> None:
        with self.db.transaction() as conn:
            _mark(conn, collection, urls, article_id, now)

    def stored(self, urls: Sequence[str]) -> StoredArticle | None:
        """The article stored for any collection that one of `urls` leads to: a collection
        that follows the feed later gets it without fetching its page again."""
        if not urls:
            return None
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, from_summary, record, signature FROM feed_articles WHERE id IN "
                "(SELECT article_id FROM article_urls WHERE url = ANY(%s)) LIMIT 1",
                (list(urls),),
            ).fetchone()
            if row is None:
                return None
            links = conn.execute(
                'SELECT url FROM article_urls WHERE article_id = %s ORDER BY url COLLATE "C"',
                (row[0],),
            ).fetchall()
        return StoredArticle(
            article_of(json.loads(row[2])),
            bool(row[1]),
            from_bytes(bytes(row[3])),
            tuple(str(u) for (u,) in links),
        )

    def article(self, collection: str, article_id: str) -> Article | None:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT record FROM feed_articles JOIN members ON article_id = id "
                "WHERE collection = %s AND id = %s",
                (collection, article_id),
            ).fetchone()
        if row is None:
            return None
        return replace(article_of(json.loads(row[0])).article, collection=collection)

    def has_source(self, collection: str, article_id: str, feed_id: int) -> bool:
        """Whether `feed_id` brought the article, or is one of its other sources already."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT 1 FROM members WHERE collection = %s AND article_id = %s "
                "AND feed_id = %s UNION SELECT 1 FROM alternates WHERE collection = %s "
                "AND article_id = %s AND feed_id = %s",
                (collection, article_id, feed_id, collection, article_id, feed_id),
            ).fetchone()
        return row is not None

    def signatures(self, collection: str) -> Signatures:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, signature FROM members "
                "JOIN feed_articles ON feed_articles.id = article_id "
                "WHERE collection = %s ORDER BY members.added_at",
                (collection,),
            ).fetchall()
        if not rows:
            return Signatures([], np.empty((0, PERMUTATIONS), dtype=np.uint32))
        return Signatures(
            [str(i) for i, _ in rows], np.stack([from_bytes(bytes(s)) for _, s in rows])
        )

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
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO feed_articles VALUES (%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                (
                    a.id,
                    iso(now),
                    from_summary,
                    json.dumps(record_of(parsed), ensure_ascii=False),
                    to_bytes(signature),
                ),
            )
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO article_urls VALUES (%s,%s) ON CONFLICT DO NOTHING",
                    [(u, a.id) for u in sorted({a.id, *urls})],
                )
            conn.execute(
                "INSERT INTO members VALUES (%s,%s,%s,%s,%s) "
                "ON CONFLICT (collection, article_id) DO UPDATE SET feed_id = EXCLUDED.feed_id, "
                "added_at = EXCLUDED.added_at, date = EXCLUDED.date",
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
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO alternates (collection, article_id, url, title, date, source, "
                "feed_id) VALUES (%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (collection, article_id, url, feed_id) DO UPDATE SET "
                "title = EXCLUDED.title, date = EXCLUDED.date, source = EXCLUDED.source",
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
        only = "" if collection is None else " WHERE collection = %(collection)s"
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT collection, id, record FROM members JOIN feed_articles "
                f"ON feed_articles.id = article_id{only} "
                'ORDER BY collection COLLATE "C", members.added_at, id COLLATE "C"',
                {"collection": collection},
            ).fetchall()
            alternates = conn.execute(
                "SELECT collection, article_id, url, title, date, source FROM alternates"
                f"{only} ORDER BY seq",
                {"collection": collection},
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
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM members WHERE collection = %s", (collection,)
            ).fetchone()
        return int(row[0]) if row else 0

    def stored_count(self) -> int:
        """Articles stored, each once whatever the number of collections holding it."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT COUNT(*) FROM feed_articles").fetchone()
        return int(row[0]) if row else 0

    def collections(self) -> list[str]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT collection FROM follows UNION SELECT collection FROM members"
            ).fetchall()
        return sorted(str(c) for (c,) in rows)

    def prune(self, collection: str, max_age_days: float, max_articles: int, now: datetime) -> int:
        """Drop the collection's feed articles added more than `max_age_days` ago, then the
        oldest beyond `max_articles` (0 = no limit for either); returns how many went."""
        with self.db.transaction() as conn:
            removed = 0
            if max_age_days > 0:
                cutoff = iso(now - timedelta(days=max_age_days))
                removed += conn.execute(
                    "DELETE FROM members WHERE collection = %s AND added_at < %s",
                    (collection, cutoff),
                ).rowcount
            if max_articles > 0:
                removed += conn.execute(
                    "DELETE FROM members WHERE collection = %s AND article_id NOT IN "
                    "(SELECT article_id FROM members WHERE collection = %s ORDER BY added_at "
                    'DESC, COALESCE(date, \'\') COLLATE "C" DESC, article_id COLLATE "C" DESC '
                    "LIMIT %s)",
                    (collection, collection, max_articles),
                ).rowcount
            if removed:
                _drop_orphans(conn, collection)
            if max_age_days > 0:
                # Remembered twice as long as articles are kept: by then feeds have moved on.
                forget = iso(now - timedelta(days=2 * max_age_days))
                conn.execute(
                    "DELETE FROM seen WHERE collection = %s AND seen_at < %s",
                    (collection, forget),
                )
            return int(removed)


def _subscribe(conn: psycopg.Connection, url: str, title: str | None, now: datetime) -> int:
    """The subscription to `url` (canonical), made when no collection follows it yet; an
    existing one is due now and fetched whole (no validators), so the new follower gets the
    feed's current entries at the next poll."""
    made = conn.execute(
        "INSERT INTO feeds (url, title, added_at, next_poll) VALUES (%s,%s,%s,%s) "
        "ON CONFLICT (url) DO NOTHING RETURNING id",
        (url, title, iso(now), iso(now)),
    ).fetchone()
    if made is not None:
        return int(made[0])
    row = conn.execute(
        "UPDATE feeds SET title = COALESCE(title, %s), etag = NULL, last_modified = NULL, "
        "next_poll = LEAST(COALESCE(next_poll, %s), %s) WHERE url = %s RETURNING id",
        (title, iso(now), iso(now), url),
    ).fetchone()
    if row is None:
        raise InputError(f"{url}: the subscription went away while it was being followed")
    return int(row[0])


def _follow(conn: psycopg.Connection, collection: str, feed_id: int) -> FeedRow:
    row = conn.execute(
        _FOLLOWS + " WHERE feeds.id = %s AND collection = %s", (feed_id, collection)
    ).fetchone()
    return FeedRow(*row)  # type: ignore[misc]


def _drop_orphans(conn: psycopg.Connection, collection: str) -> None:
    """Other sources of articles `collection` no longer holds, and articles no collection
    holds."""
    conn.execute(
        "DELETE FROM alternates WHERE collection = %s AND article_id NOT IN "
        "(SELECT article_id FROM members WHERE collection = %s)",
        (collection, collection),
    )
    conn.execute("DELETE FROM feed_articles WHERE id NOT IN (SELECT article_id FROM members)")
    conn.execute("DELETE FROM article_urls WHERE article_id NOT IN (SELECT id FROM feed_articles)")


def _mark(
    conn: psycopg.Connection,
    collection: str,
    urls: Sequence[str],
    article_id: str | None,
    now: datetime,
) -> None:
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO seen VALUES (%s,%s,%s,%s) ON CONFLICT (collection, url) "
            "DO UPDATE SET article_id = EXCLUDED.article_id, seen_at = EXCLUDED.seen_at",
            [(collection, u, article_id, iso(now)) for u in dict.fromkeys(urls)],
        )
