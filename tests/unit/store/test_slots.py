"""Spaced starts across processes (the shards' IDENTIFY slots), on SQLite and PostgreSQL: one
start per key per interval, whichever process asks, and of several asking at once only one
gets the slot."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from index.store.backend import StateStores
from index.store.pg.connection import PgDatabase
from index.store.slots import SpacedSlots


@contextlib.contextmanager
def _another_process(stores: StateStores) -> Iterator[StateStores]:
    """Stores over the same state through connections of their own, as another process has."""
    if stores.db is None:
        yield StateStores(stores.data_dir)
        return
    db = PgDatabase(stores.db.url, pool_size=2).open()
    try:
        yield StateStores(stores.data_dir, db)
    finally:
        db.close()


def test_a_key_starts_once_per_interval_across_processes(stores: StateStores) -> None:
    with _another_process(stores) as other:
        first, second = stores.slots(), other.slots()

        assert first.take("identify:0", 60.0) == 0.0
        left = second.take("identify:0", 60.0)
        assert 0.0 < left <= 60.0
        assert second.take("identify:1", 60.0) == 0.0
        # A refused take does not push the slot later.
        assert 0.0 < first.take("identify:0", 60.0) <= left


def test_after_the_interval_the_key_is_free_again(stores: StateStores) -> None:
    slots = stores.slots()
    assert slots.take("k", 0.05) == 0.0
    time.sleep(0.1)
    assert slots.take("k", 0.05) == 0.0


def test_of_many_asking_at_once_one_gets_the_slot(stores: StateStores) -> None:
    askers = 4
    start = threading.Barrier(askers)
    got: list[float] = []

    def ask(slots: SpacedSlots) -> None:
        start.wait()
        got.append(slots.take("identify:0", 60.0))

    with contextlib.ExitStack() as stack:
        # Each asker on connections of its own, as separate processes are.
        own = [stack.enter_context(_another_process(stores)) for _ in range(askers)]
        threads = [threading.Thread(target=ask, args=(s.slots(),)) for s in own]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(got) == askers
    assert sorted(got)[0] == 0.0 and all(g > 0 for g in sorted(got)[1:])
