"""`articlebot start` without a token, as `make run` runs it on a fresh machine: the worker
child builds the first index, the chat answers from it, and end of input stops both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.postgres import fresh_database

ARTICLEBOT = Path(sys.executable).parent / "articlebot"
SEEDS = Path(__file__).resolve().parents[2] / "seeds"
KIRBY = "Who said the targets were chosen because the facilities were used by militants?"

pytestmark = pytest.mark.integration


def test_first_run_chat_waits_for_the_workers_index_and_stops_it_at_the_end(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    env["ARTICLEBOT_SOURCES"] = str(SEEDS)
    done = subprocess.run(
        [str(ARTICLEBOT), "start", "--data-dir", str(tmp_path / "data")],
        input=KIRBY + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert "First run: the worker is building the index" in done.stdout
    assert "The United States is attacking" in done.stdout
    assert "index.worker: worker" in done.stderr and done.stderr.rstrip().endswith("stopped")
    assert (tmp_path / "data" / "CURRENT").is_file()


def test_first_start_on_an_empty_database_creates_its_schema_and_publishes_there(
    tmp_path: Path, pg_server: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    env["ARTICLEBOT_SOURCES"] = str(SEEDS)
    with fresh_database(pg_server) as url:
        env["ARTICLEBOT_DATABASE_URL"] = url
        done = subprocess.run(
            [str(ARTICLEBOT), "start", "--data-dir", str(tmp_path / "data")],
            input=KIRBY + "\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
        )
        with psycopg.connect(url) as conn:
            pointer = conn.execute("SELECT name FROM index_pointer").fetchone()

    assert done.returncode == 0, done.stderr
    assert "The United States is attacking" in done.stdout
    # The state went to the database: the index states stay in the data directory, the
    # pointer, the jobs and the answers do not.
    assert pointer is not None and (tmp_path / "data" / pointer[0]).is_dir()
    assert not (tmp_path / "data" / "CURRENT").exists()
    assert not (tmp_path / "data" / "jobs.sqlite").exists()
