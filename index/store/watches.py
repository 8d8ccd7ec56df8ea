"""Watched questions, the posts their matches make, and what the matcher has already seen.
SQLite in the data directory (`watches.sqlite`), or PostgreSQL (`index/store/pg/watches.py`)
when the state is there.

The contract (`WatchStore`, what a PostgreSQL store must also do):
- `add` stores a watch, or renews the same one (same place, owner, target and question, in
  any case and spacing): its expiry moves on, its vector and filters are replaced. A new watch
  beyond the owner's or the server's limit is refused with `WatchLimitError`, in the same
  transaction that counts, so two adds at once cannot both pass the last free place.
- Expired watches are never returned; `purge_expired` deletes them (and their posts).
- `version` changes whenever a watch is added, renewed or removed, so the matcher may keep
  the live watches (and what it derived from them) between rounds.
- The matcher reads the live watches (`active`), what each was already sent and how many posts
  it made lately (`history`), and which articles it has considered before (`baseline`,
  `unseen`); it writes one round with `commit_round`, in one transaction: the posts, the
  articles sent to each watch, the articles now seen and the new baseline. A crash before
  the commit leaves the round to be done again; after it, nothing is done twice.
- The faces read the posts to deliver (`unposted`) and mark each one delivered
  (`mark_posted`). Removing a watch removes its undelivered posts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import InputError
from index.models import SHARED_COLLECTION, ArticleRef, Hit, SearchResult, Span
from index.store.statedb import StateDb

WATCHES_NAME = "watches.sqlite"
DAY_SECONDS = 86_400.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS watches (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    owner TEXT NOT NULL,
    target TEXT NOT NULL,
    channel_id INTEGER NOT NULL DEFAULT 0,
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    outlets TEXT NOT NULL,
    since TEXT,
    created_at REAL NOT NULL,
    renewed_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS watches_same
    ON watches (collection, owner, target, channel_id, question_key);
CREATE INDEX IF NOT EXISTS watches_by_owner ON watches (owner, expires_at);
CREATE TABLE IF NOT EXISTS watch_posts (
    id INTEGER PRIMARY KEY,
    watch_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    posted_at REAL
);
CREATE INDEX IF NOT EXISTS watch_posts_unposted ON watch_posts (posted_at, id);
CREATE INDEX IF NOT EXISTS watch_posts_by_watch ON watch_posts (watch_id, created_at);
CREATE TABLE IF NOT EXISTS watch_sent (
    watch_id INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (watch_id, article_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen_articles (
    article_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (article_id, digest)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watch_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO watch_version VALUES (1, 0);
CREATE TABLE IF NOT EXISTS baseline (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL,
    segments TEXT NOT NULL
);
"""


class WatchTarget(StrEnum):
    """Where a watch's matches go: the owner's DMs, a channel, or the command line."""

    DM = "dm"
    CHANNEL = "channel"
    CLI = "cli"


class WatchLimitError(InputError):
    """A new watch beyond a member's or a server's limit."""


@dataclass(frozen=True, slots=True)
class WatchLimits:
    per_member: int
    per_server: int
    expiry_days: float


@dataclass(frozen=True, slots=True)
class NewWatch:
    """A watch as a face asks for it. `collection` is the place's own collection (a server's,
    or the shared one for DMs and the command line): the watch searches it and the shared one.
    `vector` is the question encoded as `/ask` encodes it, by `model`."""

    collection: str
    owner: str
    target: WatchTarget
    question: str
    model: str
    vector: np.ndarray
    channel_id: int = 0
    outlets: tuple[str, ...] = ()
    since: str | None = None


@dataclass(frozen=True, slots=True)
class Watch:
    id: int
    collection: str
    owner: str
    target: WatchTarget
    channel_id: int
    question: str
    model: str
    vector: np.ndarray
    outlets: tuple[str, ...]
    since: str | None
    created_at: float
    renewed_at: float
    expires_at: float

    @property
    def collections(self) -> frozenset[str]:
        """What the watch searches: its place's collection and the shared one."""
        return frozenset({SHARED_COLLECTION, self.collection})


@dataclass(frozen=True, slots=True)
class WatchAdded:
    watch: Watch
    renewed: bool


@dataclass(frozen=True, slots=True)
class WatchHistory:
    """What a watch was already sent (article ids), and how many posts it made lately."""

    articles: frozenset[str]
    recent_posts: int


@dataclass(frozen=True, slots=True)
class Baseline:
    """The index state the matcher last finished, and the segments it named."""

    state: str
    segments: frozenset[str]


@dataclass(frozen=True, slots=True)
class NewPost:
    """One post a round makes for a watch: the hits, the articles they came from."""

    watch_id: int
    result: SearchResult
    articles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WatchPost:
    id: int
    watch: Watch
    result: SearchResult
    created_at: float


class WatchStore(Protocol):
    def add(self, watch: NewWatch, limits: WatchLimits, now: float) -> WatchAdded: ...
    def get(self, watch_id: int, now: float) -> Watch | None: ...
    def watches(
        self, now: float, *, owner: str | None = None, collection: str | None = None
    ) -> list[Watch]: ...
    def remove(self, watch_id: int) -> Watch | None: ...
    def remove_member(self, owner: str, collection: str | None = None) -> int: ...
    def remove_channel(self, channel_id: int) -> int: ...
    def purge_expired(self, now: float) -> int: ...
    def active(self, now: float) -> list[Watch]: ...
    def version(self) -> int: ...
    def history(self, watch_ids: Collection[int], since: float) -> dict[int, WatchHistory]: ...
    def baseline(self) -> Baseline | None: ...
    def unseen(self, articles: Sequence[tuple[str, str]]) -> set[tuple[str, str]]: ...
    def commit_round(
        self,
        baseline: Baseline,
        seen: Iterable[tuple[str, str]],
        posts: Sequence[NewPost],
        now: float,
    ) -> None: ...
    def unposted(self, limit: int, targets: Collection[WatchTarget]) -> list[WatchPost]: ...
    def mark_posted(self, post_id: int, now: float) -> None: ...


def question_key(question: str) -> str:
    """What makes two watched questions the same one: case and spacing do not count."""
    return " ".join(re.findall(r"\w+", question.casefold()))


class SqliteWatchStore:
    def __init__(self, path: Path) -> None:
        self.db = StateDb(path, SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, watch: NewWatch, limits: WatchLimits, now: float) -> WatchAdded:
        key = question_key(watch.question)
        expires = now + limits.expiry_days * DAY_SECONDS
        vector = np.ascontiguousarray(watch.vector, dtype=np.float32).tobytes()
        outlets = json.dumps(list(watch.outlets))
        with self.db.transaction() as conn:
            _delete(conn, "expires_at <= ?", (now,))
            _changed(conn)
            same = conn.execute(
                "SELECT id FROM watches WHERE collection = ? AND owner = ? AND target = ? "
                "AND channel_id = ? AND question_key = ?",
                (watch.collection, watch.owner, watch.target.value, watch.channel_id, key),
            ).fetchone()
            if same is not None:
                conn.execute(
                    "UPDATE watches SET question = ?, model = ?, vector = ?, outlets = ?, "
                    "since = ?, renewed_at = ?, expires_at = ? WHERE id = ?",
                    (
                        watch.question,
                        watch.model,
                        vector,
                        outlets,
                        watch.since,
                        now,
                        expires,
                        int(same[0]),
                    ),
                )
                return WatchAdded(_read(conn, int(same[0])), renewed=True)
            (mine,) = conn.execute(
                "SELECT COUNT(*) FROM watches WHERE owner = ?", (watch.owner,)
            ).fetchone()
            if mine >= limits.per_member:
                raise member_limit_error(mine)
            if watch.collection != SHARED_COLLECTION:
                (here,) = conn.execute(
                    "SELECT COUNT(*) FROM watches WHERE collection = ?", (watch.collection,)
                ).fetchone()
                if here >= limits.per_server:
                    raise server_limit_error(here)
            cursor = conn.execute(
                "INSERT INTO watches (collection, owner, target, channel_id, question, "
                "question_key, model, vector, outlets, since, created_at, renewed_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            )
            return WatchAdded(_read(conn, int(cursor.lastrowid or 0)), renewed=False)

    def get(self, watch_id: int, now: float) -> Watch | None:
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM watches WHERE id = ? AND expires_at > ?", (watch_id, now)
        )
        return watch_of_row(rows[0]) if rows else None

    def watches(
        self, now: float, *, owner: str | None = None, collection: str | None = None
    ) -> list[Watch]:
        """The live watches of `owner` and/or `collection`, oldest first."""
        sql = f"SELECT {_COLUMNS} FROM watches WHERE expires_at > ?"
        args: list[object] = [now]
        if owner is not None:
            sql += " AND owner = ?"
            args.append(owner)
        if collection is not None:
            sql += " AND collection = ?"
            args.append(collection)
        return [watch_of_row(r) for r in self.db.query(sql + " ORDER BY id", args)]

    def remove(self, watch_id: int) -> Watch | None:
        with self.db.transaction() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM watches WHERE id = ?", (watch_id,))
            found = row.fetchone()
            if found is None:
                return None
            _delete(conn, "id = ?", (watch_id,))
            return watch_of_row(found)

    def remove_member(self, owner: str, collection: str | None = None) -> int:
        """A member's DM watches (in `collection`, or everywhere): they left, or closed
        their DMs to the bot."""
        where, args = "owner = ? AND target = ?", [owner, WatchTarget.DM.value]
        if collection is not None:
            where += " AND collection = ?"
            args.append(collection)
        with self.db.transaction() as conn:
            return _delete(conn, where, args)

    def remove_channel(self, channel_id: int) -> int:
        with self.db.transaction() as conn:
            return _delete(
                conn, "target = ? AND channel_id = ?", (WatchTarget.CHANNEL.value, channel_id)
            )

    def purge_expired(self, now: float) -> int:
        with self.db.transaction() as conn:
            return _delete(conn, "expires_at <= ?", (now,))

    def active(self, now: float) -> list[Watch]:
        return [
            watch_of_row(r)
            for r in self.db.query(
                f"SELECT {_COLUMNS} FROM watches WHERE expires_at > ? ORDER BY id", (now,)
            )
        ]

    def version(self) -> int:
        ((version,),) = self.db.query("SELECT version FROM watch_version WHERE id = 1")
        return _int(version)

    def history(self, watch_ids: Collection[int], since: float) -> dict[int, WatchHistory]:
        out: dict[int, WatchHistory] = {}
        for watch_id in watch_ids:
            sent = self.db.query(
                "SELECT article_id FROM watch_sent WHERE watch_id = ?", (watch_id,)
            )
            ((posts,),) = self.db.query(
                "SELECT COUNT(*) FROM watch_posts WHERE watch_id = ? AND created_at > ?",
                (watch_id, since),
            )
            out[watch_id] = WatchHistory(frozenset(str(a) for (a,) in sent), int(posts))  # type: ignore[call-overload]
        return out

    def baseline(self) -> Baseline | None:
        rows = self.db.query("SELECT state, segments FROM baseline WHERE id = 1")
        if not rows:
            return None
        state, segments = rows[0]
        return Baseline(str(state), frozenset(json.loads(str(segments))))

    def unseen(self, articles: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        out = set()
        for article_id, digest in articles:
            found = self.db.query(
                "SELECT 1 FROM seen_articles WHERE article_id = ? AND digest = ?",
                (article_id, digest),
            )
            if not found:
                out.add((article_id, digest))
        return out

    def commit_round(
        self,
        baseline: Baseline,
        seen: Iterable[tuple[str, str]],
        posts: Sequence[NewPost],
        now: float,
    ) -> None:
        with self.db.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO seen_articles VALUES (?, ?)", list(seen))
            for post in posts:
                # A watch removed while the round ran gets nothing.
                if conn.execute("SELECT 1 FROM watches WHERE id = ?", (post.watch_id,)).fetchone():
                    conn.execute(
                        "INSERT INTO watch_posts (watch_id, body, created_at) VALUES (?, ?, ?)",
                        (post.watch_id, json.dumps(result_json(post.result)), now),
                    )
                    conn.executemany(
                        "INSERT OR IGNORE INTO watch_sent VALUES (?, ?)",
                        [(post.watch_id, a) for a in post.articles],
                    )
            conn.execute(
                "INSERT OR REPLACE INTO baseline VALUES (1, ?, ?)",
                (baseline.state, json.dumps(sorted(baseline.segments))),
            )

    def unposted(self, limit: int, targets: Collection[WatchTarget]) -> list[WatchPost]:
        kinds = [t.value for t in targets]
        marks = ", ".join("?" for _ in kinds)
        rows = self.db.query(
            f"SELECT p.id, p.body, p.created_at, {watch_columns('w')} FROM watch_posts p "
            f"JOIN watches w ON w.id = p.watch_id WHERE p.posted_at IS NULL "
            f"AND w.target IN ({marks}) ORDER BY p.id LIMIT ?",
            [*kinds, limit],
        )
        return [
            WatchPost(
                _int(r[0]), watch_of_row(r[3:]), result_of(json.loads(str(r[1]))), _float(r[2])
            )
            for r in rows
        ]

    def mark_posted(self, post_id: int, now: float) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE watch_posts SET posted_at = ? WHERE id = ?", (now, post_id))


# A watch's columns in the order `watch_of_row` reads them (the PostgreSQL store's too).
WATCH_COLUMNS = (
    "id, collection, owner, target, channel_id, question, model, vector, outlets, since, "
    "created_at, renewed_at, expires_at"
)
_COLUMNS = WATCH_COLUMNS


def watch_columns(alias: str) -> str:
    """`WATCH_COLUMNS` of the table named `alias` in a join."""
    return ", ".join(f"{alias}.{name.strip()}" for name in WATCH_COLUMNS.split(","))


def member_limit_error(count: int) -> WatchLimitError:
    return WatchLimitError(
        f"You already watch {count} questions, the most one member may; "
        "remove one with /watch remove first."
    )


def server_limit_error(count: int) -> WatchLimitError:
    return WatchLimitError(
        f"This server already watches {count} questions, the most it may; "
        "a question must be removed first."
    )


def _read(conn: Any, watch_id: int) -> Watch:
    return watch_of_row(
        conn.execute(f"SELECT {_COLUMNS} FROM watches WHERE id = ?", (watch_id,)).fetchone()
    )


def _changed(conn: Any) -> None:
    conn.execute("UPDATE watch_version SET version = version + 1 WHERE id = 1")


def _delete(conn: Any, where: str, args: Sequence[object]) -> int:
    ids = [int(r[0]) for r in conn.execute(f"SELECT id FROM watches WHERE {where}", args)]
    if ids:
        _changed(conn)
    for watch_id in ids:
        conn.execute(
            "DELETE FROM watch_posts WHERE watch_id = ? AND posted_at IS NULL", (watch_id,)
        )
        conn.execute("DELETE FROM watch_sent WHERE watch_id = ?", (watch_id,))
        conn.execute("DELETE FROM watches WHERE id = ?", (watch_id,))
    return len(ids)


def _int(value: object) -> int:
    return int(value)  # type: ignore[call-overload]


def _float(value: object) -> float:
    return float(value)  # type: ignore[arg-type]


def watch_of_row(row: Sequence[Any]) -> Watch:
    """A watch from its `WATCH_COLUMNS` (the vector's float32 bytes, the outlets' JSON)."""
    return Watch(
        id=int(row[0]),
        collection=str(row[1]),
        owner=str(row[2]),
        target=WatchTarget(row[3]),
        channel_id=int(row[4]),
        question=str(row[5]),
        model=str(row[6]),
        vector=np.frombuffer(bytes(row[7]), dtype=np.float32),
        outlets=tuple(json.loads(str(row[8]))),
        since=None if row[9] is None else str(row[9]),
        created_at=float(row[10]),
        renewed_at=float(row[11]),
        expires_at=float(row[12]),
    )


def result_json(result: SearchResult) -> dict[str, Any]:
    """A matched result as JSON: what a post stores and `articlebot watch matches` prints."""
    return {
        "question": result.question,
        "best_score": result.best_score,
        "hits": [asdict(h) for h in result.hits],
    }


def result_of(values: dict[str, Any]) -> SearchResult:
    hits = []
    for h in values["hits"]:
        fields = dict(h)
        fields["article"] = ArticleRef(**fields["article"])
        fields["also_in"] = tuple(ArticleRef(**a) for a in fields.get("also_in", ()))
        fields["sentences"] = tuple(Span(**s) for s in fields.get("sentences", ()))
        hits.append(Hit(**fields))
    return SearchResult(
        question=str(values["question"]),
        hits=tuple(hits),
        matched=True,
        best_score=float(values.get("best_score") or 0.0),
    )
