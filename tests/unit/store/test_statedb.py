"""The state files' SQLite: processes that open a new one at once all get it."""

from __future__ import annotations

import multiprocessing
import sqlite3
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from index.store.answers import SqliteAnswerStore
from index.store.statedb import enable_wal

PROCESSES = 4
ROUNDS = 10


def _open_answers(data_dir: str, start: Barrier) -> None:
    start.wait()
    SqliteAnswerStore(Path(data_dir), retention_days=30.0).close()


def test_processes_opening_a_new_state_file_at_once_all_open_it(tmp_path: Path) -> None:
    # Before the switch to WAL was retried, about a third of such rounds had a process fail
    # with "database is locked" (reported as a damaged file): two bot shards answering their
    # first questions together.
    context = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        data_dir = tmp_path / f"round-{round_}"
        start = context.Barrier(PROCESSES)
        processes = [
            context.Process(target=_open_answers, args=(str(data_dir), start))
            for _ in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [p.exitcode for p in processes] == [0] * PROCESSES


def test_the_switch_gives_up_on_a_lock_held_past_its_time(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(other, seconds=0.2)
    holder.execute("ROLLBACK")
    holder.close()
    enable_wal(other, seconds=0.2)
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()
