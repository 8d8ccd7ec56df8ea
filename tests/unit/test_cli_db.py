"""`articlebot db upgrade`, and what every other command says when the database's schema is
behind: the operator's side of the PostgreSQL state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_ERROR, EXIT_OK, main
from tests.postgres import fresh_database


@pytest.fixture
def empty_database(pg_server: str) -> Iterator[str]:
    with fresh_database(pg_server) as url:
        yield url


def test_upgrade_creates_the_schema_once_and_commands_refuse_a_database_behind(
    cli_env: Path,
    empty_database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTICLEBOT_DATABASE_URL", empty_database)

    assert main(["feedback"]) == EXIT_ERROR
    refused = capsys.readouterr().err
    assert "schema version 0" in refused and "Run `articlebot db upgrade`" in refused
    # The message names the server and database, never the URL's credentials.
    assert empty_database not in refused

    assert main(["db", "upgrade"]) == EXIT_OK
    first = capsys.readouterr().out
    assert main(["db", "upgrade"]) == EXIT_OK
    again = capsys.readouterr().out
    assert main(["feedback"]) == EXIT_OK
    reported = capsys.readouterr().out

    assert "applied 0001_state" in first and "applied 0003_slots" in first
    assert again.strip() == "Nothing to do: already current."
    assert reported.strip() == "No votes and no unanswered questions yet."


def test_upgrade_without_a_database_says_sqlite_needs_none(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == EXIT_ERROR
    assert "SQLite" in capsys.readouterr().err


def test_an_unreachable_database_is_one_line_naming_it(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.postgres import unused_port

    port = unused_port()
    monkeypatch.setenv(
        "ARTICLEBOT_DATABASE_URL", f"postgresql://bot:hunter2@127.0.0.1:{port}/articlebot"
    )
    assert main(["index", "status"]) == EXIT_ERROR
    error = capsys.readouterr().err
    assert f"articlebot on 127.0.0.1:{port}" in error and "hunter2" not in error
    assert len(error.strip().splitlines()) == 1
