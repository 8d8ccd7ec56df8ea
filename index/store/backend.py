"""Where the state lives, chosen once from the settings: SQLite files (and flock, and the
CURRENT file) in the data directory by default, or the PostgreSQL database named by
`ARTICLEBOT_DATABASE_URL`. Every store is built here and nowhere else, so the rest of the
engine holds only the contracts (`JobQueue`, `FeedStore`, `Library`, `AnswerStore`,
`FeedbackStore`, `Locks`, `IndexPointer`).

One process opens one `StateStores` (one connection pool) and passes it down. The PostgreSQL
modules are imported only when a database is configured. The URL and source caches stay local
in every case: they only spare refetching and reparsing on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from config.settings import Settings
from index.store.answers import AnswerStore, SqliteAnswerStore
from index.store.feedback import FeedbackStore, SqliteFeedbackStore
from index.store.feeds import FeedStore, SqliteFeedStore
from index.store.files import DataFiles
from index.store.jobs import JobQueue, SqliteJobQueue
from index.store.layout import DataDir
from index.store.library import FileLibrary, Library
from index.store.locks import FileLocks, Locks
from index.store.pointer import FilePointer, IndexPointer
from index.store.slots import SpacedSlots, SqliteSpacedSlots

if TYPE_CHECKING:
    from index.store.pg.connection import PgDatabase


def upgrade_database(settings: Settings) -> list[str]:
    """Apply the PostgreSQL migrations the configured database lacks; returns their names
    (none when it is current, or when the state is SQLite, whose files make themselves)."""
    if settings.database_url is None:
        return []
    from index.store.pg.migrate import upgrade

    return [f"{m.version:04d}_{m.name}" for m in upgrade(settings.database_url)]


class StateStores:
    def __init__(self, data_dir: Path, db: PgDatabase | None = None) -> None:
        self.data_dir = data_dir
        self.db = db
        self.files = DataFiles(data_dir)

    @classmethod
    def open(cls, settings: Settings) -> StateStores:
        """The stores `settings` name; with a database, connected and its schema checked."""
        if settings.database_url is None:
            return cls(settings.data_dir)
        from index.store.pg.connection import PgDatabase

        return cls(settings.data_dir, PgDatabase(settings.database_url).open())

    @property
    def kind(self) -> str:
        return "sqlite" if self.db is None else "postgresql"

    def close(self) -> None:
        if self.db is not None:
            self.db.close()

    def jobs(self, clock: Callable[[], float] = time.time) -> JobQueue:
        if self.db is None:
            return SqliteJobQueue(self.files.jobs, clock)
        from index.store.pg.jobs import PgJobQueue

        return PgJobQueue(self.db, clock)

    def feeds(self) -> FeedStore:
        if self.db is None:
            return SqliteFeedStore(self.data_dir)
        from index.store.pg.feeds import PgFeedStore

        return PgFeedStore(self.db)

    def library(self) -> Library:
        if self.db is None:
            return FileLibrary(self.data_dir)
        from index.store.pg.library import PgLibrary

        return PgLibrary(self.db)

    def answers(self, retention_days: float) -> AnswerStore:
        if self.db is None:
            return SqliteAnswerStore(self.data_dir, retention_days)
        from index.store.pg.answers import PgAnswerStore

        return PgAnswerStore(self.db, retention_days)

    def feedback(self) -> FeedbackStore:
        if self.db is None:
            return SqliteFeedbackStore(self.data_dir)
        from index.store.pg.feedback import PgFeedbackStore

        return PgFeedbackStore(self.db)

    def locks(self) -> Locks:
        if self.db is None:
            return FileLocks(self.data_dir)
        from index.store.pg.locks import PgLocks

        return PgLocks(self.db)

    def pointer(self) -> IndexPointer:
        if self.db is None:
            return FilePointer(self.data_dir)
        from index.store.pg.pointer import PgIndexPointer

        return PgIndexPointer(self.db)

    def slots(self) -> SpacedSlots:
        if self.db is None:
            return SqliteSpacedSlots(self.files.slots)
        from index.store.pg.slots import PgSpacedSlots

        return PgSpacedSlots(self.db)

    def layout(self) -> DataDir:
        """The data directory, its index state named by this backend's pointer and its
        builds serialised by this backend's locks."""
        return DataDir(self.data_dir, self.pointer(), self.locks())
