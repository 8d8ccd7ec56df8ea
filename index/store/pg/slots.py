"""Starts spaced in time across processes (the `SpacedSlots` contract in
`index/store/slots.py`: `take(key, interval)` returns 0.0 and records the start when the key's
last start was at least `interval` seconds ago, else the seconds left) in PostgreSQL, so that
bot processes on several machines space their gateway IDENTIFYs together.

Times come from the server's clock, so the machines' clocks need not agree; a transaction
lock per key makes the read and the move one step for every process asking at once.
"""

from __future__ import annotations

from index.store.pg.connection import PgDatabase
from index.store.pg.locks import lock_key


class PgSpacedSlots:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    def take(self, key: str, interval: float) -> float:
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(f"slot:{key}"),))
            row = conn.execute(
                "SELECT extract(epoch FROM clock_timestamp())::float8, "
                "(SELECT taken_at FROM slots WHERE key = %s)",
                (key,),
            ).fetchone()
            now, taken_at = (row[0], row[1]) if row else (0.0, None)
            if taken_at is not None and taken_at + interval > now:
                return float(taken_at + interval - now)
            conn.execute(
                "INSERT INTO slots VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET taken_at = EXCLUDED.taken_at",
                (key, now),
            )
            return 0.0
