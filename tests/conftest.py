"""Shared by the unit and integration layers (tests/discord has its own conftest)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from index.store.backend import StateStores
from index.store.pg.connection import PgDatabase
from index.store.pg.migrate import upgrade
from tests.feed_site import FeedSite
from tests.milvus import NoMilvusServerError, lite_server
from tests.postgres import NoServerError, fresh_database, server


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run `bot.cli.main` as on a clean machine: in `tmp_path`, without the caller's settings.

    `main()` reads `.env` from the working directory and installs its own log handler on the
    root logger; both would leak between tests, so the directory is a fresh one and the
    logging set-up is put back afterwards.
    """
    for name in list(os.environ):
        if name.startswith(("ARTICLEBOT_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield tmp_path
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def feed_site() -> Iterator[FeedSite]:
    """A loopback news site serving feeds and article pages (see tests/feed_site.py)."""
    with FeedSite() as site:
        yield site


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server (tests/postgres.py): found, or started for this run. Without one
    the test skips, except under CI=true, where a missing server is a failure."""
    try:
        with server() as url:
            yield url
    except NoServerError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs PostgreSQL: {exc}")
        pytest.skip(f"no PostgreSQL: {exc}")


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`milvus-lite server` on a loopback port (tests/milvus.py), for this run: each test
    keeps to collections of its own. Missing, the test skips, except under CI=true, where
    the dev install holds it and a missing server is a failure."""
    try:
        with lite_server(tmp_path_factory.mktemp("milvus-server")) as uri:
            yield uri
    except NoMilvusServerError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs milvus-lite server: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pg_url(pg_server: str) -> Iterator[str]:
    """A database of this run's own, at the current schema, dropped at the end."""
    with fresh_database(pg_server) as url:
        upgrade(url)
        yield url


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[PgDatabase]:
    """The run's database emptied for this test, through a pool of its own."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_version'"
            ).fetchall()
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE".encode())
    db = PgDatabase(pg_url, pool_size=4).open()
    try:
        yield db
    finally:
        db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStores]:
    """Each store contract's tests run once per implementation: SQLite files in `tmp_path`,
    and PostgreSQL."""
    if request.param == "sqlite":
        yield StateStores(tmp_path)
    else:
        yield StateStores(tmp_path, request.getfixturevalue("pg_db"))
