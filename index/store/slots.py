"""Starts spaced in time across every process that shares the state: at most one start per
key per interval, whichever process asks. The Discord bot's shards take one before each
gateway IDENTIFY (Discord allows one per rate-limit bucket every 5 seconds, counted over all
the bot's connections, in every process and on every machine).

SQLite in the data directory (`slots.sqlite`): one row per key with the time of its last
start, read and moved on in one `BEGIN IMMEDIATE` transaction, so two processes asking at
once cannot both get the slot. The contract (what a PostgreSQL store must also do, e.g. a row
locked `FOR UPDATE`, timed by the server's clock so that machines' clocks need not agree):
- `take(key, interval)` returns 0.0 and records the start when the key's last start was at
  least `interval` seconds ago (or never); otherwise it records nothing and returns the
  seconds left until the key is free. The caller sleeps that long and asks again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from index.store.statedb import StateDb

SLOTS_NAME = "slots.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slots (
    key TEXT PRIMARY KEY,
    taken_at REAL NOT NULL
);
"""


class SpacedSlots(Protocol):
    def take(self, key: str, interval: float) -> float: ...


class SqliteSpacedSlots:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._db = StateDb(path, _SCHEMA)
        self._clock = clock

    def close(self) -> None:
        self._db.close()

    def take(self, key: str, interval: float) -> float:
        with self._db.transaction() as conn:
            now = self._clock()
            row = conn.execute("SELECT taken_at FROM slots WHERE key = ?", (key,)).fetchone()
            if row is not None:
                left = float(row[0]) + interval - now
                if left > 0:
                    return left
            conn.execute(
                "INSERT INTO slots (key, taken_at) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET taken_at = excluded.taken_at",
                (key, now),
            )
            return 0.0
