"""Answers that were sent, with the hits each page showed, so that buttons pressed on them
later (after a restart too) can page, show context and take votes.

The contract, and its SQLite implementation (`answers.sqlite` in the data directory); the
PostgreSQL one, which lets a button pressed in one process find an answer another process
gave, is `index/store/pg/answers.py`. Answers older than the retention are forgotten when a
new one is stored, and unknown when asked for.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from index.errors import UnknownAnswerError
from index.models import AnswerRecord, SearchFilters, ShownHit, Sort
from index.store.statedb import StateDb

ANSWERS_NAME = "answers.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    question TEXT NOT NULL,
    collections TEXT,
    k INTEGER NOT NULL,
    asker TEXT NOT NULL,
    private INTEGER NOT NULL,
    created_at REAL NOT NULL,
    matched INTEGER NOT NULL,
    filters TEXT
);
CREATE INDEX IF NOT EXISTS answers_by_time ON answers(created_at);
CREATE TABLE IF NOT EXISTS answer_hits (
    answer_id TEXT NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    passage_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    quote TEXT NOT NULL,
    quote_start INTEGER NOT NULL,
    quote_end INTEGER NOT NULL,
    PRIMARY KEY (answer_id, page, rank)
);
"""


def new_answer_id() -> str:
    # 12 url-safe characters: short enough for a Discord custom_id, too many to guess.
    return secrets.token_urlsafe(9)


class AnswerStore(Protocol):
    def add(self, record: AnswerRecord) -> None: ...
    def set_page(self, answer_id: str, page: int, hits: Sequence[ShownHit]) -> None: ...
    def get(self, answer_id: str) -> AnswerRecord: ...
    def close(self) -> None: ...


class SqliteAnswerStore:
    def __init__(self, data_dir: Path, retention_days: float) -> None:
        self._db = StateDb(data_dir / ANSWERS_NAME, _SCHEMA)
        self.retention = retention_days * 86400

    def close(self) -> None:
        self._db.close()

    def add(self, record: AnswerRecord) -> None:
        with self._db.transaction() as conn:
            if self.retention > 0:
                cutoff = record.created_at - self.retention
                old = "SELECT id FROM answers WHERE created_at < ?"
                conn.execute(f"DELETE FROM answer_hits WHERE answer_id IN ({old})", (cutoff,))
                conn.execute("DELETE FROM answers WHERE created_at < ?", (cutoff,))
            conn.execute(
                "INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.scope,
                    record.question,
                    None if record.collections is None else json.dumps(record.collections),
                    record.k,
                    record.asker,
                    int(record.private),
                    record.created_at,
                    int(record.matched),
                    filters_json(record.filters),
                ),
            )
            for page, hits in enumerate(record.pages):
                _insert_hits(conn, record.id, page, hits)

    def set_page(self, answer_id: str, page: int, hits: Sequence[ShownHit]) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM answer_hits WHERE answer_id = ? AND page = ?", (answer_id, page)
            )
            _insert_hits(conn, answer_id, page, hits)

    def get(self, answer_id: str) -> AnswerRecord:
        rows = self._db.query("SELECT * FROM answers WHERE id = ?", (answer_id,))
        if not rows:
            raise UnknownAnswerError()
        (aid, scope, question, collections, k, asker, private, created, matched, filters) = rows[0]
        if self.retention > 0 and time.time() - float(str(created)) > self.retention:
            raise UnknownAnswerError()
        hit_rows = self._db.query(
            "SELECT page, passage_id, article_id, title, url, quote, quote_start, quote_end "
            "FROM answer_hits WHERE answer_id = ? ORDER BY page, rank",
            (answer_id,),
        )
        pages: dict[int, list[ShownHit]] = {}
        for page, pid, article, title, url, quote, qs, qe in hit_rows:
            pages.setdefault(int(str(page)), []).append(
                ShownHit(
                    str(pid),
                    str(article),
                    str(title),
                    None if url is None else str(url),
                    str(quote),
                    int(str(qs)),
                    int(str(qe)),
                )
            )
        count = max(pages, default=-1) + 1
        return AnswerRecord(
            id=str(aid),
            scope=str(scope),
            question=str(question),
            collections=None if collections is None else tuple(json.loads(str(collections))),
            k=int(str(k)),
            asker=str(asker),
            private=bool(private),
            created_at=float(str(created)),
            matched=bool(matched),
            pages=tuple(tuple(pages.get(p, ())) for p in range(count)),
            filters=filters_from(filters),
        )


def filters_json(filters: SearchFilters | None) -> str | None:
    if filters is None:
        return None

    def when(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return json.dumps(
        {
            "since": when(filters.since),
            "until": when(filters.until),
            "outlets": list(filters.outlets),
            "sort": filters.sort.value,
            "as_of": when(filters.as_of),
        }
    )


def filters_from(stored: object) -> SearchFilters | None:
    if stored is None:
        return None
    record = json.loads(str(stored))

    def when(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    return SearchFilters(
        since=when(record["since"]),
        until=when(record["until"]),
        outlets=tuple(record["outlets"]),
        sort=Sort(record["sort"]),
        as_of=when(record["as_of"]),
    )


def _insert_hits(
    conn: sqlite3.Connection, answer_id: str, page: int, hits: Sequence[ShownHit]
) -> None:
    conn.executemany(
        "INSERT INTO answer_hits VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                answer_id,
                page,
                rank,
                h.passage_id,
                h.article_id,
                h.title,
                h.url,
                h.quote,
                h.quote_start,
                h.quote_end,
            )
            for rank, h in enumerate(hits)
        ],
    )
