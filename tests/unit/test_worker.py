"""The worker runs jobs with the real update side (hash embedder, no torch): results the bot
can read back, refusals as messages, and a stop that hands a build back to the queue."""

from __future__ import annotations

from pathlib import Path

from config import load_settings
from index.encode.slot import EmbedderSlot
from index.jobs import ArticlesAdded, JobDesk, ReindexDone
from index.store.jobs import JobState
from index.updating import Updater
from index.worker import Worker
from tests.unit.conftest import HashEmbedder


def _worker(tmp_path: Path) -> tuple[Worker, JobDesk]:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "one.txt").write_text(
        "Harbour news\n\nThe harbour council paid for the new ladders. The paint was blue.",
        encoding="utf-8",
    )
    settings = load_settings(
        environ={}, env_file=None, data_dir=tmp_path / "data", sources=[str(sources)]
    )
    updater = Updater(settings, EmbedderSlot(settings.model, HashEmbedder()))
    return Worker(settings, updater), JobDesk(updater.stores.jobs())


def test_an_upload_job_adds_the_articles_and_builds(tmp_path: Path) -> None:
    worker, desk = _worker(tmp_path)
    job = desk.add_upload("guild:1", "note.txt", b"Lighthouse\n\nThe lighthouse is cobalt blue.")

    assert worker.run_one()
    done = ArticlesAdded.of(desk.result(desk.look(job).job))

    assert [a.title for a in done.added] == ["Lighthouse"]
    assert done.added[0].collection == "guild:1"
    assert done.build.articles == 2 and done.build.added_articles == 2


def test_a_refused_job_fails_with_the_users_message_and_changes_nothing(tmp_path: Path) -> None:
    worker, desk = _worker(tmp_path)
    job = desk.add_upload("guild:1", "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00binary")

    worker.run_one()
    failed = desk.look(job).job

    assert failed.state is JobState.FAILED
    assert failed.error is not None and failed.error.startswith("photo.txt:")
    assert worker.updater.list_articles("guild:1") == []


def test_a_stopping_worker_hands_a_reindex_back_and_the_next_one_finishes_it(
    tmp_path: Path,
) -> None:
    worker, desk = _worker(tmp_path)
    job = desk.reindex()
    worker.stop.set()

    worker.run_one()
    handed_back = desk.look(job).job
    worker.stop.clear()
    worker.run_one()

    assert handed_back.state is JobState.QUEUED and handed_back.attempts == 0
    done = ReindexDone.of(desk.result(desk.look(job).job))
    assert done.build.articles == 1
    assert worker.queue.claim("other", 60) is None
