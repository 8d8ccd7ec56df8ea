"""The worker's jobs give the index exactly what changed (no source is read again), and a run
of them leaves the same live articles and the same answers as a fresh build of the same data
directory; when the live state cannot take an update, a full build does it instead."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from config import load_settings
from config.settings import Settings
from index.build import NotReusable, article_digest, build_index, update_index
from index.encode.slot import EmbedderSlot
from index.jobs import JobDesk
from index.models import ReadReport
from index.store.database import Store
from index.store.jobs import JobState
from index.store.layout import STORE_NAME, DataDir
from index.store.segments import read_state, segment_folder
from index.updating import Updater
from index.worker import Worker
from tests.feed_site import FeedSite, rss20, stories
from tests.unit.conftest import HashEmbedder
from tests.unit.store.test_segments import PLAN, answers, article

GUILD, OTHER = "guild:1", "guild:2"


class ReadCountingUpdater(Updater):
    """The real update side, counting the full reads of every source (what a rebuild does)."""

    reads = 0

    def read(self, sources: Sequence[str] | None = None) -> ReadReport:
        self.reads += 1
        return super().read(sources)


def _settings(tmp_path: Path, data_dir: Path) -> Settings:
    shared = tmp_path / "shared"
    shared.mkdir(exist_ok=True)
    (shared / "note.txt").write_text(
        "Harbour news\n\nThe harbour council paid for the new ladders. The ferry was late.\n",
        encoding="utf-8",
    )
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "sources": [str(shared)],
        "model": "hash-test-model",
        "allow_private_urls": True,
        "fetch_timeout": 5.0,
        "feed_max_articles": 3,
        # Every poll finds the feeds due.
        "feed_poll_minutes": 0.0001,
    }
    return load_settings(environ={}, env_file=None, **values)


def _worker(settings: Settings) -> tuple[Worker, ReadCountingUpdater, JobDesk]:
    updater = ReadCountingUpdater(settings, EmbedderSlot(settings.model, HashEmbedder()))
    return Worker(settings, updater), updater, JobDesk(updater.stores.jobs())


def _run(worker: Worker, desk: JobDesk, job: Any) -> dict[str, Any]:
    while worker.run_one():
        pass
    view = desk.look(job).job
    assert view.state is JobState.DONE, view.error
    return desk.result(view)


def _live(data_dir: Path) -> dict[str, str]:
    """Index id -> digest of every live article."""
    out: dict[str, str] = {}
    state = read_state(DataDir(data_dir).current())
    for ref in state.segments:
        store = Store(segment_folder(data_dir, ref.name) / STORE_NAME)
        try:
            for row, article_id, digest, _ in store.article_index():
                if row not in ref.deleted:
                    out[article_id] = digest
        finally:
            store.close()
    return out


def _assert_same(got: list[Any], expected: list[Any]) -> None:
    """The same top-10 scores (within 1e-6), and the same passages above the 10th score:
    passages tied at the cut (generated stories share many) may be cut in either order."""
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert [h[3] for h in g] == pytest.approx([h[3] for h in e], abs=1e-6)
        cut = e[-1][3] + 1e-6 if e else 0.0
        assert sorted(h[:3] for h in g if h[3] > cut) == sorted(h[:3] for h in e if h[3] > cut)


def _fresh_copy(tmp_path: Path, data_dir: Path) -> Path:
    """The same stores (library, feeds, caches) without any index."""
    copy = tmp_path / "fresh"
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns("gen-*", "segments", "CURRENT"))
    return copy


def test_a_run_of_jobs_answers_like_a_fresh_build_and_reads_no_source(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    settings = _settings(tmp_path, tmp_path / "data")
    worker, updater, desk = _worker(settings)
    _run(worker, desk, desk.reindex())
    assert updater.reads == 1

    (linked,) = stories("link", 1, first_seed=40)
    link = feed_site.put_story(linked)
    news = list(stories("news", 7))

    def publish(count: int) -> str:
        for story in news[:count]:
            feed_site.put_story(story)
        body = rss20("Gazette", feed_site.base, news[:count], feed_site.base)
        # No validators: the next poll fetches the new feed rather than a 304.
        return feed_site.put("/rss", "application/rss+xml", body, validators=False)

    feed = publish(2)
    uploads = (
        b'{"id": "u1", "title": "Museum", "text": "The museum opens a ferry wing. It is blue."}\n'
        b'{"id": "u2", "title": "Budget", "text": "The council vote on the budget was late."}\n'
    )
    _run(worker, desk, desk.add_upload(GUILD, "notes.jsonl", uploads))
    _run(worker, desk, desk.add_upload(OTHER, "tide.txt", b"Tides\n\nThe tide reached the wall."))
    _run(worker, desk, desk.add_link(GUILD, link))
    _run(worker, desk, desk.add_feed(GUILD, feed, None))
    _run(worker, desk, desk.add_feed(OTHER, feed, None))
    assert len(updater.feeds.articles(GUILD)) == 2
    # Same id again: the upload replaces its article.
    edited = b'{"id": "u2", "title": "Budget", "text": "The mayor vetoed the budget vote."}\n'
    _run(worker, desk, desk.add_upload(GUILD, "notes.jsonl", edited))
    _run(worker, desk, desk.remove_article(GUILD, "u1"))
    publish(5)
    polled = _run(worker, desk, desk.poll())
    # Three new stories, and retention keeps three per server: the oldest two go.
    assert polled["added"] == 6 and polled["build"]["removed_articles"] == 4
    publish(7)
    _run(worker, desk, desk.poll())
    (follow,) = updater.feeds.feeds(OTHER)
    _run(worker, desk, desk.remove_feed(OTHER, str(follow.id)))

    assert updater.reads == 1
    assert (tmp_path / "data" / ".update-pending").exists() is False
    live = _live(settings.data_dir)
    assert f"{GUILD}/u2" in live and f"{GUILD}/u1" not in live
    assert sum(1 for a in live if a.startswith(f"{OTHER}/")) == 1
    assert sum(1 for a in live if a.startswith(f"{GUILD}/http")) == 4

    fresh = _settings(tmp_path, _fresh_copy(tmp_path, settings.data_dir))
    fresh_updater = Updater(fresh, EmbedderSlot(fresh.model, HashEmbedder()))
    fresh_updater.rebuild()
    assert _live(fresh.data_dir) == live
    embedder = HashEmbedder()
    _assert_same(answers(settings.data_dir, embedder), answers(fresh.data_dir, embedder))
    # The data directory itself is up to date with its stores and sources.
    assert updater.rebuild().up_to_date


def test_a_change_left_unbuilt_by_a_crash_is_built_whole_by_the_next_job(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, tmp_path / "data")
    worker, updater, desk = _worker(settings)
    _run(worker, desk, desk.reindex())
    # What a worker killed between storing an upload and publishing its build leaves.
    (settings.data_dir / ".update-pending").touch()
    stray = article(1, collection=GUILD)
    updater.library.add(GUILD, [stray])

    _run(worker, desk, desk.add_upload(GUILD, "a.txt", b"Lamps\n\nThe lamps are new."))

    assert updater.reads == 2
    assert f"{GUILD}/a1" in _live(settings.data_dir)
    assert not (settings.data_dir / ".update-pending").exists()


def test_a_reindex_after_a_crash_clears_what_the_crash_left_pending(tmp_path: Path) -> None:
    settings = _settings(tmp_path, tmp_path / "data")
    worker, updater, desk = _worker(settings)
    _run(worker, desk, desk.reindex())
    (settings.data_dir / ".update-pending").touch()
    updater.library.add(GUILD, [article(1, collection=GUILD)])

    _run(worker, desk, desk.reindex())
    _run(worker, desk, desk.add_upload(GUILD, "a.txt", b"Lamps\n\nThe lamps are new."))

    assert not (settings.data_dir / ".update-pending").exists()
    assert f"{GUILD}/a1" in _live(settings.data_dir)
    # The reindex built the stray article; the upload after it was an update, not a build.
    assert updater.reads == 2
    assert not updater.feeds_due()


def test_a_refused_removal_leaves_nothing_pending(tmp_path: Path) -> None:
    settings = _settings(tmp_path, tmp_path / "data")
    worker, _, desk = _worker(settings)
    _run(worker, desk, desk.reindex())

    job = desk.remove_article(GUILD, "nothing")
    worker.run_one()

    assert desk.look(job).job.state is JobState.FAILED
    assert not (settings.data_dir / ".update-pending").exists()


def test_a_job_over_another_models_index_builds_whole(tmp_path: Path) -> None:
    settings = _settings(tmp_path, tmp_path / "data")
    other = Updater(settings, EmbedderSlot(settings.model, HashEmbedder("other-model", 32)))
    other.rebuild()
    worker, updater, desk = _worker(settings)

    _run(worker, desk, desk.add_upload(GUILD, "a.txt", b"Lamps\n\nThe lamps are new."))

    assert updater.reads == 1
    manifest_model = DataDir(settings.data_dir).current() / "manifest.json"
    assert "hash-test-model" in manifest_model.read_text(encoding="utf-8")
    assert len(_live(settings.data_dir)) == 2


@pytest.mark.parametrize("damage", ["model", "state", "none"])
def test_update_index_publishes_nothing_over_a_state_it_cannot_reuse(
    tmp_path: Path, hash_embedder: HashEmbedder, damage: str
) -> None:
    data_dir = tmp_path / "data"
    if damage == "model":
        build_index(data_dir, [article(n) for n in range(4)], HashEmbedder("other", 32), PLAN)
    elif damage == "state":
        build_index(data_dir, [article(n) for n in range(4)], hash_embedder, PLAN)
        (DataDir(data_dir).current() / "state.json").write_text("{", encoding="utf-8")
    before = DataDir(data_dir).current_or_none()

    with pytest.raises(NotReusable):
        update_index(data_dir, hash_embedder, PLAN, add=[article(9)])

    assert DataDir(data_dir).current_or_none() == before


def test_a_hand_added_copy_of_a_feed_article_wins_as_in_a_full_build(
    tmp_path: Path, feed_site: FeedSite
) -> None:
    settings = _settings(tmp_path, tmp_path / "data")
    worker, updater, desk = _worker(settings)
    _run(worker, desk, desk.reindex())
    news = list(stories("news", 5))
    for story in news:
        feed_site.put_story(story)

    def publish(count: int) -> str:
        body = rss20("Gazette", feed_site.base, news[:count], feed_site.base)
        return feed_site.put("/rss", "application/rss+xml", body, validators=False)

    _run(worker, desk, desk.add_feed(GUILD, publish(2), None))
    (first, *_) = updater.feeds.articles(GUILD)
    _run(worker, desk, desk.add_link(GUILD, feed_site.url(news[0].path)))
    (hand,) = updater.library.articles(GUILD)
    # The same index id from both stores: a full build keeps the library's.
    assert hand.article.id == first.article.id

    def same_as_fresh(name: str) -> None:
        copy = tmp_path / name
        shutil.copytree(
            settings.data_dir,
            copy,
            ignore=shutil.ignore_patterns("gen-*", "segments", "CURRENT"),
        )
        fresh = _settings(tmp_path, copy)
        Updater(fresh, EmbedderSlot(fresh.model, HashEmbedder())).rebuild()
        assert _live(fresh.data_dir) == _live(settings.data_dir)

    same_as_fresh("fresh-1")
    # Removing the hand-added copy brings the feed's back.
    _run(worker, desk, desk.remove_article(GUILD, hand.article.id))
    assert _live(settings.data_dir)[first.article.id] == article_digest(first)
    same_as_fresh("fresh-2")
    _run(worker, desk, desk.add_link(GUILD, feed_site.url(news[0].path)))
    # Retention (three a server) drops the feed's copy: the hand-added one stays.
    publish(5)
    _run(worker, desk, desk.poll())
    assert first.article.id not in {p.article.id for p in updater.feeds.articles(GUILD)}
    assert first.article.id in _live(settings.data_dir)
    same_as_fresh("fresh-3")
    assert updater.reads == 1
