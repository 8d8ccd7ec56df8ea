"""Articles added by server admins (`index/store/library.py`'s contract) in PostgreSQL: one
row per article and collection, in the order they were first added, so any worker builds
from the same library."""

from __future__ import annotations

import json

from index.errors import InputError
from index.models import Article, ParsedArticle
from index.store.library import check_changeable, is_named, parsed_of, record_of, scoped
from index.store.pg.connection import PgDatabase


class PgLibrary:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    def articles(self, collection: str) -> list[ParsedArticle]:
        check_changeable(collection)
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT record FROM library_articles WHERE collection = %s ORDER BY position",
                (collection,),
            ).fetchall()
        return [parsed_of(json.loads(r[0])) for r in rows]

    def add(self, collection: str, new: list[ParsedArticle]) -> list[Article]:
        """Store `new` in `collection` under collection-scoped ids; same id replaces."""
        check_changeable(collection)
        added = []
        with self.db.transaction() as conn:
            for parsed in new:
                mine = scoped(collection, parsed)
                conn.execute(
                    "INSERT INTO library_articles (collection, id, record) VALUES (%s, %s, %s) "
                    "ON CONFLICT (collection, id) DO UPDATE SET record = EXCLUDED.record",
                    (
                        collection,
                        mine.article.id,
                        json.dumps(record_of(mine), ensure_ascii=False),
                    ),
                )
                added.append(mine.article)
        return added

    def remove(self, collection: str, article_id: str) -> Article:
        for parsed in self.articles(collection):
            if is_named(collection, parsed.article, article_id):
                with self.db.transaction() as conn:
                    conn.execute(
                        "DELETE FROM library_articles WHERE collection = %s AND id = %s",
                        (collection, parsed.article.id),
                    )
                return parsed.article
        raise InputError(f"no article {article_id!r} in this server's collection")

    def collections(self) -> list[str]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT collection FROM library_articles ORDER BY collection"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def read_all(self) -> list[ParsedArticle]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT record FROM library_articles ORDER BY collection, position"
            ).fetchall()
        return [parsed_of(json.loads(r[0])) for r in rows]
