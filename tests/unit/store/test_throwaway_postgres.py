"""A machine without a PostgreSQL server still runs the PostgreSQL tests: the fixture starts a
throwaway server of its own (tests/postgres.py). Forced here by pointing the tests at a port
where nothing listens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from index.store.backend import StateStores
from index.store.jobs import JobKind
from index.store.pg.connection import PgDatabase
from index.store.pg.migrate import upgrade
from tests.postgres import NoServerError, answers, fresh_database, server, unused_port


def test_without_a_server_a_throwaway_one_is_started_serves_the_stores_and_goes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{unused_port()}/postgres"
    monkeypatch.setenv("ARTICLEBOT_TEST_DATABASE_URL", nowhere)
    try:
        with server() as url:
            assert url != nowhere and answers(url)
            with fresh_database(url) as database:
                assert [m.version for m in upgrade(database)] == [1, 2, 3]
                assert upgrade(database) == []
                db = PgDatabase(database).open()
                try:
                    queue = StateStores(tmp_path, db).jobs()
                    job = queue.submit(JobKind.REINDEX, {})
                    claimed = queue.claim("w", lease=60)
                finally:
                    db.close()
    except NoServerError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs PostgreSQL: {exc}")
        pytest.skip(f"cannot start PostgreSQL here: {exc}")

    assert claimed is not None and claimed.id == job.id
    # Stopped when the block ended: nothing answers there any more.
    assert not answers(url)
