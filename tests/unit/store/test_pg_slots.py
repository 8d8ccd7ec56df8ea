"""Spaced starts in PostgreSQL (the shards' IDENTIFY slots), by the server's clock: one start
per key per interval, whichever connection asks."""

from __future__ import annotations

import threading
import time

from index.store.pg.connection import PgDatabase
from index.store.pg.slots import PgSpacedSlots


def test_a_key_starts_once_per_interval_across_connections(pg_db: PgDatabase) -> None:
    other = PgDatabase(pg_db.url, pool_size=2).open()
    try:
        first, second = PgSpacedSlots(pg_db), PgSpacedSlots(other)

        assert first.take("identify:0", 60.0) == 0.0
        left = second.take("identify:0", 60.0)
        assert 0.0 < left <= 60.0
        assert second.take("identify:1", 60.0) == 0.0
        # A refused take does not push the slot later.
        assert 0.0 < first.take("identify:0", 60.0) <= left
    finally:
        other.close()


def test_after_the_interval_the_key_is_free_again(pg_db: PgDatabase) -> None:
    slots = PgSpacedSlots(pg_db)
    assert slots.take("k", 0.05) == 0.0
    time.sleep(0.1)
    assert slots.take("k", 0.05) == 0.0


def test_of_many_asking_at_once_one_gets_the_slot(pg_db: PgDatabase) -> None:
    slots = PgSpacedSlots(pg_db)
    start = threading.Barrier(4)
    got: list[float] = []

    def ask() -> None:
        start.wait()
        got.append(slots.take("identify:0", 60.0))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(got)[0] == 0.0 and all(g > 0 for g in sorted(got)[1:])
