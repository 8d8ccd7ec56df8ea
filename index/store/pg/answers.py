"""Answers that were sent (`index/store/answers.py`'s contract) in PostgreSQL: a button
pressed on any bot process finds the answer whichever process gave it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import psycopg

from index.errors import UnknownAnswerError
from index.models import AnswerRecord, ShownHit
from index.store.answers import filters_from, filters_json
from index.store.pg.connection import PgDatabase


class PgAnswerStore:
    def __init__(self, db: PgDatabase, retention_days: float) -> None:
        self.db = db
        self.retention = retention_days * 86400

    def close(self) -> None:
        """The pool belongs to the process's stores, which close it."""

    def add(self, record: AnswerRecord) -> None:
        with self.db.transaction() as conn:
            if self.retention > 0:
                # The hits go with their answer (ON DELETE CASCADE).
                conn.execute(
                    "DELETE FROM answers WHERE created_at < %s",
                    (record.created_at - self.retention,),
                )
            conn.execute(
                "INSERT INTO answers VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    record.id,
                    record.scope,
                    record.question,
                    None if record.collections is None else json.dumps(record.collections),
                    record.k,
                    record.asker,
                    record.private,
                    record.created_at,
                    record.matched,
                    filters_json(record.filters),
                ),
            )
            for page, hits in enumerate(record.pages):
                _insert_hits(conn, record.id, page, hits)

    def set_page(self, answer_id: str, page: int, hits: Sequence[ShownHit]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM answer_hits WHERE answer_id = %s AND page = %s", (answer_id, page)
            )
            _insert_hits(conn, answer_id, page, hits)

    def get(self, answer_id: str) -> AnswerRecord:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, scope, question, collections, k, asker, private, created_at, "
                "matched, filters FROM answers WHERE id = %s",
                (answer_id,),
            ).fetchone()
            if row is None:
                raise UnknownAnswerError()
            hit_rows = conn.execute(
                "SELECT page, passage_id, article_id, title, url, quote, quote_start, quote_end "
                "FROM answer_hits WHERE answer_id = %s ORDER BY page, rank",
                (answer_id,),
            ).fetchall()
        aid, scope, question, collections, k, asker, private, created, matched, filters = row
        if self.retention > 0 and time.time() - created > self.retention:
            raise UnknownAnswerError()
        pages: dict[int, list[ShownHit]] = {}
        for page, *hit in hit_rows:
            pages.setdefault(page, []).append(ShownHit(*hit))
        count = max(pages, default=-1) + 1
        return AnswerRecord(
            id=aid,
            scope=scope,
            question=question,
            collections=None if collections is None else tuple(json.loads(collections)),
            k=k,
            asker=asker,
            private=private,
            created_at=created,
            matched=matched,
            pages=tuple(tuple(pages.get(p, ())) for p in range(count)),
            filters=filters_from(filters),
        )


def _insert_hits(
    conn: psycopg.Connection, answer_id: str, page: int, hits: Sequence[ShownHit]
) -> None:
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO answer_hits VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
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
