"""The pointer to the live index state (`index/store/pointer.py`'s contract) as the one row
of `index_pointer`: every process reads the same name, and publishing is one committed
UPDATE."""

from __future__ import annotations

import time

from index.store.pg.connection import PgDatabase


class PgIndexPointer:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    def read(self) -> str | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT name FROM index_pointer WHERE id = 1").fetchone()
        return None if row is None else str(row[0])

    def write(self, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO index_pointer VALUES (1, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
                "published_at = EXCLUDED.published_at",
                (name, time.time()),
            )
