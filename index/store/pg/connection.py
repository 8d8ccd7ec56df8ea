"""One process's connections to the PostgreSQL database named by ARTICLEBOT_DATABASE_URL: a
psycopg pool every PostgreSQL store shares, and the check that the schema is the one this
articlebot was written for.

A block of work is one transaction on one pooled connection: committed when the block ends,
rolled back when it raises, so a crash leaves the state before or after it. Connection
failures become a `DatabaseError` naming the server (never the password).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from index.errors import DatabaseError, SchemaBehindError
from index.store.pg.migrate import LATEST, schema_version, where

log = logging.getLogger(__name__)

# Seconds to wait for a connection before saying the server cannot be reached.
CONNECT_TIMEOUT = 10
# Enough for a bot's worker threads and a worker's heartbeat beside its job; locks hold
# connections of their own, outside the pool.
POOL_SIZE = 8


class PgDatabase:
    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.where = where(url)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=CONNECT_TIMEOUT,
            open=False,
            name="articlebot",
        )

    def open(self) -> PgDatabase:
        """Connect, and refuse a database whose schema is not this articlebot's."""
        # One plain attempt first: an unreachable server is one clear error at once, not the
        # pool's retries logged for CONNECT_TIMEOUT seconds.
        self.connect().close()
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout:
            self._pool.close()
            raise DatabaseError(f"Cannot connect to the database {self.where}.") from None
        with self.transaction() as conn:
            found = schema_version(conn)
        if found != LATEST:
            self._pool.close()
            raise SchemaBehindError(self.where, found, LATEST)
        return self

    def close(self) -> None:
        self._pool.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise DatabaseError(f"No connection to the database {self.where}.") from None
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"The database {self.where} failed: {_first_line(exc)}") from None

    def connect(self) -> psycopg.Connection:
        """A connection of its own, outside the pool (a lock held for a build's length)."""
        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.OperationalError as exc:
            raise DatabaseError(
                f"Cannot connect to the database {self.where}: {_first_line(exc)}"
            ) from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
