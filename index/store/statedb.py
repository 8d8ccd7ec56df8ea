"""Writable SQLite beside the index for engine state (answers, votes), shared by threads.

Every change runs in one transaction, so a crash leaves the previous state whole; WAL lets
readers go on while a write commits.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from index.errors import IndexCorruptError

# How long a statement waits for another process's lock before it fails.
BUSY_SECONDS = 5.0


class StateDb:
    def __init__(self, path: Path, schema: str) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                path, timeout=BUSY_SECONDS, check_same_thread=False, isolation_level=None
            )
            enable_wal(self._conn)
            self._conn.executescript(schema)
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(path, f"SQLite cannot read it: {exc}") from None

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise IndexCorruptError(self.path, f"SQLite cannot write it: {exc}") from None

    def query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        try:
            with self._lock:
                return self._conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(self.path, f"SQLite cannot read it: {exc}") from None


def enable_wal(conn: sqlite3.Connection, seconds: float = BUSY_SECONDS) -> None:
    """Put the file in WAL mode. SQLite does not wait on its busy timeout for this switch: when
    processes open a new file at once (two bot shards answering their first questions), all
    but one get "database is locked" straight away, so the switch is tried again until
    `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
