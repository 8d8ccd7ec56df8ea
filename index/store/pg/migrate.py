"""`articlebot db upgrade`: bring the PostgreSQL schema to this articlebot's version.

Migrations are the numbered SQL files beside this module (`migrations/0001_state.sql`, ...),
applied in order, each in its own transaction together with its row in `schema_version`, so
an interrupted upgrade leaves the database at the last whole version and running it again
goes on from there. Concurrent upgrades (two workers starting at once) take turns on an
advisory lock; the second finds nothing left to do.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg.conninfo import conninfo_to_dict

from index.errors import DatabaseError

_NAME_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# The advisory lock key upgrades take turns on (any constant no store uses).
_UPGRADE_LOCK = 0x61726D69  # "armi"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    folder = resources.files("index.store.pg") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME_RE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


LATEST = max(m.version for m in migrations())


def schema_version(conn: psycopg.Connection) -> int:
    """The version the database is at; 0 for one never upgraded."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def where(url: str) -> str:
    """The server and database of `url`, fit for a message: no user, no password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "named by ARTICLEBOT_DATABASE_URL"
    host = parts.get("host") or "localhost"
    return f"{parts.get('dbname') or '(default)'} on {host}:{parts.get('port') or 5432}"


def upgrade(url: str) -> list[Migration]:
    """Apply the migrations the database lacks; returns those applied (none when current)."""
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"Cannot connect to the database {where(url)}: {exc}".strip()) from None
    applied = []
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_UPGRADE_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                "applied_at DOUBLE PRECISION NOT NULL)"
            )
            current = schema_version(conn)
            if current > LATEST:
                raise DatabaseError(
                    f"The database has schema version {current}, newer than this articlebot "
                    f"knows ({LATEST}): upgrade articlebot."
                )
            for migration in migrations():
                if migration.version <= current:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_version VALUES (%s, %s, %s)",
                        (migration.version, migration.name, time.time()),
                    )
                applied.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_UPGRADE_LOCK,))
    return applied
