"""Watched questions and their posts (`index/store/watches.py`'s contract) in PostgreSQL,
shared by every bot process (adds, removals, delivery) and the worker (matching), on
whichever host they run.

Adding takes a transaction-scoped advisory lock, as SQLite's store takes its write lock
first: the limits are counted and the watch inserted under it, so two adds at once cannot
both pass the last free place. A removal deletes the watch row before its undelivered posts,
and a round locks each watch it posts to (`FOR KEY SHARE`) before inserting, so a watch
removed while a round commits keeps no post behind it, whichever commits first. Times are
the callers' epoch seconds, as in the SQLite file, so expiry agrees with the faces' clocks.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

from index.models import SHARED_COLLECTION
from index.store.pg.connection import PgDatabase
from index.store.pg.locks import lock_key
from index.store.watches import (
    DAY_SECONDS,
    WATCH_COLUMNS,
    Baseline,
    NewPost,
    NewWatch,
    Watch,
    WatchAdded,
    WatchHistory,
    WatchLimits,
    WatchPost,
    WatchTarget,
    member_limit_error,
    question_key,
    result_json,
    result_of,
    server_limit_error,
    watch_columns,
    watch_of_row,
)

_ADD_LOCK = lock_key("watches:add")


class PgWatchStore:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    def close(self) -> None:
        """The pool belongs to the process's stores, which close it."""

    def add(self, watch: NewWatch, limits: WatchLimits, now: float) -> WatchAdded:
        key = question_key(watch.question)
        expires = now + limits.expiry_days * DAY_SECONDS
        vector = np.ascontiguousarray(watch.vector, dtype=np.float32).tobytes()
        outlets = json.dumps(list(watch.outlets))
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADD_LOCK,))
            _delete(conn, "expires_at <= %s", (now,))
            _changed(conn)
            row = conn.execute(
                "UPDATE watches SET question = %s, model = %s, vector = %s, outlets = %s, "
                "since = %s, renewed_at = %s, expires_at = %s WHERE collection = %s "
                "AND owner = %s AND target = %s AND channel_id = %s AND question_key = %s "
                f"RETURNING {WATCH_COLUMNS}",
                (
                    watch.question,
                    watch.model,
                    vector,
                    outlets,
                    watch.since,
                    now,
                    expires,
                    watch.collection,
                    watch.owner,
                    watch.target.value,
                    watch.channel_id,
                    key,
                ),
            ).fetchone()
            if row is not None:
                return WatchAdded(watch_of_row(row), renewed=True)
            mine = _count(conn, "owner = %s", watch.owner)
            if mine >= limits.per_member:
                raise member_limit_error(mine)
            if watch.collection != SHARED_COLLECTION:
                here = _count(conn, "collection = %s", watch.collection)
                if here >= limits.per_server:
                    raise server_limit_error(here)
            row = conn.execute(
                "INSERT INTO watches (collection, owner, target, channel_id, question, "
                "question_key, model, vector, outlets, since, created_at, renewed_at, "
                "expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                f"RETURNING {WATCH_COLUMNS}",
                (
                    watch.collection,
                    watch.owner,
                    watch.target.value,
                    watch.channel_id,
                    watch.question,
                    key,
                    watch.model,
                    vector,
                    outlets,
                    watch.since,
                    now,
                    now,
                    expires,
                ),
            ).fetchone()
            return WatchAdded(watch_of_row(_present(row)), renewed=False)

    def get(self, watch_id: int, now: float) -> Watch | None:
        with self.db.transaction() as conn:
            row = conn.execute(
                f"SELECT {WATCH_COLUMNS} FROM watches WHERE id = %s AND expires_at > %s",
                (watch_id, now),
            ).fetchone()
        return None if row is None else watch_of_row(row)

    def watches(
        self, now: float, *, owner: str | None = None, collection: str | None = None
    ) -> list[Watch]:
        """The live watches of `owner` and/or `collection`, oldest first."""
        sql = f"SELECT {WATCH_COLUMNS} FROM watches WHERE expires_at > %s"
        args: list[object] = [now]
        if owner is not None:
            sql += " AND owner = %s"
            args.append(owner)
        if collection is not None:
            sql += " AND collection = %s"
            args.append(collection)
        with self.db.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        return [watch_of_row(r) for r in rows]

    def remove(self, watch_id: int) -> Watch | None:
        with self.db.transaction() as conn:
            removed = _delete(conn, "id = %s", (watch_id,))
        return watch_of_row(removed[0]) if removed else None

    def remove_member(self, owner: str, collection: str | None = None) -> int:
        """A member's DM watches (in `collection`, or everywhere): they left, or closed
        their DMs to the bot."""
        where, args = "owner = %s AND target = %s", [owner, WatchTarget.DM.value]
        if collection is not None:
            where += " AND collection = %s"
            args.append(collection)
        with self.db.transaction() as conn:
            return len(_delete(conn, where, args))

    def remove_channel(self, channel_id: int) -> int:
        with self.db.transaction() as conn:
            return len(
                _delete(
                    conn,
                    "target = %s AND channel_id = %s",
                    (WatchTarget.CHANNEL.value, channel_id),
                )
            )

    def purge_expired(self, now: float) -> int:
        with self.db.transaction() as conn:
            return len(_delete(conn, "expires_at <= %s", (now,)))

    def active(self, now: float) -> list[Watch]:
        return self.watches(now)

    def version(self) -> int:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT version FROM watch_version WHERE id = 1").fetchone()
        return 0 if row is None else int(row[0])

    def history(self, watch_ids: Collection[int], since: float) -> dict[int, WatchHistory]:
        ids = list(watch_ids)
        with self.db.transaction() as conn:
            sent = conn.execute(
                "SELECT watch_id, article_id FROM watch_sent WHERE watch_id = ANY(%s)", (ids,)
            ).fetchall()
            counted = conn.execute(
                "SELECT watch_id, count(*) FROM watch_posts WHERE watch_id = ANY(%s) "
                "AND created_at > %s GROUP BY watch_id",
                (ids, since),
            ).fetchall()
        articles: dict[int, set[str]] = {i: set() for i in ids}
        for watch_id, article_id in sent:
            articles[int(watch_id)].add(str(article_id))
        posts = {int(w): int(n) for w, n in counted}
        return {i: WatchHistory(frozenset(articles[i]), posts.get(i, 0)) for i in ids}

    def baseline(self) -> Baseline | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT state, segments FROM watch_baseline WHERE id = 1").fetchone()
        if row is None:
            return None
        return Baseline(str(row[0]), frozenset(json.loads(str(row[1]))))

    def unseen(self, articles: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        if not articles:
            return set()
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT t.a, t.d FROM unnest(%s::text[], %s::text[]) AS t(a, d) "
                "WHERE NOT EXISTS (SELECT 1 FROM watch_seen_articles s "
                "WHERE s.article_id = t.a AND s.digest = t.d)",
                ([a for a, _ in articles], [d for _, d in articles]),
            ).fetchall()
        return {(str(a), str(d)) for a, d in rows}

    def commit_round(
        self,
        baseline: Baseline,
        seen: Iterable[tuple[str, str]],
        posts: Sequence[NewPost],
        now: float,
    ) -> None:
        with self.db.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO watch_seen_articles VALUES (%s, %s) ON CONFLICT DO NOTHING",
                list(seen),
            )
            for post in posts:
                # A watch removed while the round ran gets nothing; the row lock keeps one
                # being removed now from losing the race to this post.
                alive = cur.execute(
                    "SELECT 1 FROM watches WHERE id = %s FOR KEY SHARE", (post.watch_id,)
                ).fetchone()
                if alive is None:
                    continue
                cur.execute(
                    "INSERT INTO watch_posts (watch_id, body, created_at) VALUES (%s, %s, %s)",
                    (post.watch_id, json.dumps(result_json(post.result)), now),
                )
                cur.executemany(
                    "INSERT INTO watch_sent VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    [(post.watch_id, a) for a in post.articles],
                )
            cur.execute(
                "INSERT INTO watch_baseline VALUES (1, %s, %s) ON CONFLICT (id) DO UPDATE "
                "SET state = EXCLUDED.state, segments = EXCLUDED.segments",
                (baseline.state, json.dumps(sorted(baseline.segments))),
            )

    def unposted(self, limit: int, targets: Collection[WatchTarget]) -> list[WatchPost]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"SELECT p.id, p.body, p.created_at, {watch_columns('w')} FROM watch_posts p "
                "JOIN watches w ON w.id = p.watch_id WHERE p.posted_at IS NULL "
                "AND w.target = ANY(%s) ORDER BY p.id LIMIT %s",
                ([t.value for t in targets], limit),
            ).fetchall()
        return [
            WatchPost(int(r[0]), watch_of_row(r[3:]), result_of(json.loads(str(r[1]))), r[2])
            for r in rows
        ]

    def mark_posted(self, post_id: int, now: float) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE watch_posts SET posted_at = %s WHERE id = %s", (now, post_id))


def _changed(conn: Any) -> None:
    # An upsert rather than a seeded row: the version is whatever was counted, from nothing.
    conn.execute(
        "INSERT INTO watch_version VALUES (1, 1) "
        "ON CONFLICT (id) DO UPDATE SET version = watch_version.version + 1"
    )


def _count(conn: Any, where: str, value: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM watches WHERE {where}", (value,)).fetchone()
    return int(_present(row)[0])


def _delete(conn: Any, where: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
    """Delete the watches `where` names with their undelivered posts and sent articles;
    returns the watches' rows. The watch rows go first, so a round posting to one waits
    until they are gone, or they wait until its posts are in and then delete them."""
    rows = conn.execute(f"DELETE FROM watches WHERE {where} RETURNING {WATCH_COLUMNS}", args)
    removed = [tuple(r) for r in rows.fetchall()]
    if removed:
        ids = [int(r[0]) for r in removed]
        _changed(conn)
        conn.execute(
            "DELETE FROM watch_posts WHERE watch_id = ANY(%s) AND posted_at IS NULL", (ids,)
        )
        conn.execute("DELETE FROM watch_sent WHERE watch_id = ANY(%s)", (ids,))
    return sorted(removed, key=lambda r: int(r[0]))


def _present(row: Any) -> Any:
    if row is None:
        raise RuntimeError("a row the statement returns was missing")
    return row
