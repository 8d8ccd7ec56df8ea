"""The two roles sharing one PostgreSQL database (and one data directory: the index files stay
local): a real `articlebot worker` process runs the job the answering side submits and
publishes through the database's pointer, and an answer stored by one process takes a vote
pressed in another, which the first then counts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from index.engine import AnsweringEngine
from index.jobs import ArticlesAdded
from index.store.pg.connection import PgDatabase

pytestmark = pytest.mark.integration

ARTICLEBOT = Path(sys.executable).parent / "articlebot"
# Time the worker gets to build its first index (the model loads, the ONNX export runs).
FIRST_INDEX_SECONDS = 240
SCOPE = "guild:1"

# Another bot process pressing 👎 on an answer it did not give: it finds the answer in the
# shared database and records the member's vote there.
PRESS = """
import json, sys
from config import load_settings
from index.engine import AnsweringEngine

engine = AnsweringEngine(load_settings(env_file=None))
record = engine.answer(sys.argv[1], sys.argv[2])
passage = record.pages[0][0].passage_id
outcome = engine.vote(sys.argv[2], record.id, passage, "member:9", -1)
print(json.dumps({"question": record.question, "passage": passage, "down": outcome.downvoters}))
"""


@pytest.fixture
def worker(tmp_path: Path, pg_db: PgDatabase) -> Iterator[Settings]:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "harbour.txt").write_text(
        "Harbour council\n\nThe harbour council approved the new sea wall on Tuesday. "
        "Fishermen said the old wall had cracked in the winter storms.",
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "data", sources=(str(sources),), database_url=pg_db.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    env |= {"ARTICLEBOT_DATABASE_URL": pg_db.url, "ARTICLEBOT_SOURCES": str(sources)}
    process = subprocess.Popen(
        [str(ARTICLEBOT), "worker", "--data-dir", str(settings.data_dir)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield settings
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=60)
        assert process.returncode == 0, log


def test_a_job_submitted_by_the_bot_is_run_by_the_worker_and_votes_cross_processes(
    worker: Settings, tmp_path: Path
) -> None:
    engine = AnsweringEngine(worker)
    try:
        _submit_ask_and_vote_elsewhere(engine, worker, tmp_path)
    finally:
        engine.stores.close()


def _submit_ask_and_vote_elsewhere(
    engine: AnsweringEngine, worker: Settings, tmp_path: Path
) -> None:
    deadline = time.monotonic() + FIRST_INDEX_SECONDS
    while not engine.has_index():
        assert time.monotonic() < deadline, "the worker built no first index"
        time.sleep(0.5)

    job = engine.jobs.add_upload(
        SCOPE, "note.txt", b"Lighthouse\n\nThe Zorblatt lighthouse was painted cobalt blue."
    )
    added = ArticlesAdded.of(engine.jobs.wait(job))

    assert [a.title for a in added.added] == ["Lighthouse"]
    # Published through the database: the data directory has no CURRENT file.
    assert not (worker.data_dir / "CURRENT").exists()
    result = engine.ask("What colour is the Zorblatt lighthouse?", collections=[SCOPE])
    assert result.matched and "cobalt blue" in result.hits[0].quote
    answer_id = engine.remember_answer(result, scope=SCOPE, asker="member:1", k=3)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTICLEBOT_", "DISCORD_"))}
    env |= {
        "ARTICLEBOT_DATABASE_URL": str(worker.database_url),
        "ARTICLEBOT_DATA_DIR": str(worker.data_dir),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    pressed = subprocess.run(
        [sys.executable, "-c", PRESS, answer_id, SCOPE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )

    assert pressed.returncode == 0, pressed.stderr
    other = json.loads(pressed.stdout)
    assert other["question"] == "What colour is the Zorblatt lighthouse?" and other["down"] == 1
    report = engine.feedback_report(SCOPE)
    assert [(p.passage_id, p.down) for p in report.passages] == [(other["passage"], 1)]
