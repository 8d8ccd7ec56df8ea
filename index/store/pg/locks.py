"""The build and poll locks (`index/store/locks.py`'s contract) as PostgreSQL advisory locks,
so that processes on several machines take turns as processes on one machine do with flock.

A lock is held by a session of its own, outside the pool, for as long as the block runs: if
the holder dies its session ends and the server releases the lock.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator

from index.store.pg.connection import PgDatabase


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name`, the same in every process."""
    digest = hashlib.blake2b(f"articlebot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgLocks:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    @contextlib.contextmanager
    def exclusive(self, name: str, busy: Callable[[], Exception]) -> Iterator[None]:
        """Hold lock `name`, or raise `busy()` at once when another session has it."""
        key = lock_key(name)
        with self.db.connect() as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not row or not row[0]:
                raise busy()
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
