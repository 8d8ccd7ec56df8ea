"""The job queue's contract, against SQLite and PostgreSQL: states, leases, busy and joined
submissions, headlines, and workers claiming at once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from index.errors import BuildBusyError
from index.store.backend import StateStores
from index.store.jobs import MAX_ATTEMPTS, JobKind, JobQueue, JobState, SqliteJobQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(stores: StateStores, clock: Clock) -> JobQueue:
    return stores.jobs(clock)


def test_a_job_goes_from_queued_to_running_to_done_with_its_progress_and_result(
    queue: JobQueue,
) -> None:
    job = queue.submit(JobKind.ADD_UPLOAD, {"collection": "guild:1", "name": "a.txt"}, b"body")

    claimed = queue.claim("w1", lease=60)
    assert claimed is not None and claimed.id == job.id
    assert queue.payload(job.id) == b"body"
    assert queue.heartbeat(job.id, "w1", 60, '{"stage": "embedding", "done": 1, "total": 2}')
    running = queue.get(job.id)
    assert queue.finish(job.id, "w1", {"added": 1})

    done = queue.get(job.id)
    assert (job.state, running.state, done.state) == (
        JobState.QUEUED,
        JobState.RUNNING,
        JobState.DONE,
    )
    assert running.progress == '{"stage": "embedding", "done": 1, "total": 2}'
    assert done.result == {"added": 1} and done.finished
    # The uploaded bytes are not kept once the job has ended.
    assert queue.payload(job.id) is None
    assert queue.claim("w1", lease=60) is None


def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(
    queue: JobQueue, clock: Clock
) -> None:
    job = queue.submit(JobKind.REINDEX, {})
    assert queue.claim("dead", lease=60) is not None
    clock.now += 30
    early = queue.claim("w2", lease=60)
    clock.now += 31

    again = queue.claim("w2", lease=60)

    assert early is None
    assert again is not None and again.id == job.id and again.attempts == 2
    # The first worker lost the job: it can no longer change it.
    assert not queue.heartbeat(job.id, "dead", 60, None)
    assert not queue.finish(job.id, "dead", {})
    assert queue.finish(job.id, "w2", {"ok": True})
    assert queue.get(job.id).result == {"ok": True}


def test_a_job_that_kills_its_worker_every_time_fails_after_the_last_attempt(
    queue: JobQueue, clock: Clock
) -> None:
    job = queue.submit(JobKind.ADD_LINK, {"collection": "guild:1", "url": "http://x"})
    for _ in range(MAX_ATTEMPTS):
        assert queue.claim("w", lease=10) is not None
        clock.now += 11

    assert queue.claim("w", lease=10) is None
    failed = queue.get(job.id)
    assert failed.state is JobState.FAILED
    assert failed.error is not None and "too many times" in failed.error


def test_a_released_job_is_claimed_again_at_once_without_counting_an_attempt(
    queue: JobQueue,
) -> None:
    job = queue.submit(JobKind.POLL, {})
    assert queue.claim("w1", lease=60) is not None

    assert queue.release(job.id, "w1")
    again = queue.claim("w2", lease=60)

    assert again is not None and again.id == job.id and again.attempts == 1


def test_a_second_reindex_is_busy_while_one_is_queued_or_running(queue: JobQueue) -> None:
    first = queue.submit(JobKind.REINDEX, {})
    with pytest.raises(BuildBusyError):
        queue.submit(JobKind.REINDEX, {})
    assert queue.claim("w", lease=60) is not None
    with pytest.raises(BuildBusyError):
        queue.submit(JobKind.REINDEX, {})
    queue.finish(first.id, "w", {})

    assert queue.submit(JobKind.REINDEX, {}).id != first.id


def test_a_poll_joins_a_queued_poll_and_jobs_wait_in_order(queue: JobQueue) -> None:
    upload = queue.submit(JobKind.ADD_UPLOAD, {"collection": "c", "name": "n"}, b"x")
    poll = queue.submit(JobKind.POLL, {})

    joined = queue.submit(JobKind.POLL, {})

    assert joined.id == poll.id
    assert queue.ahead_of(poll.id) == 1 and queue.ahead_of(upload.id) == 0
    claimed = queue.claim("w", lease=60)
    assert claimed is not None and claimed.id == upload.id


def test_headlines_are_handed_out_until_marked_posted(queue: JobQueue) -> None:
    queue.add_headline(42, {"feed": {"url": "http://a"}, "added": []})
    queue.add_headline(43, {"feed": {"url": "http://b"}, "added": []})

    first = queue.unposted_headlines(10)
    queue.mark_posted(first[0].id)
    rest = queue.unposted_headlines(10)

    assert [h.channel_id for h in first] == [42, 43]
    assert [h.channel_id for h in rest] == [43]
    assert rest[0].body == {"feed": {"url": "http://b"}, "added": []}


def test_two_workers_claiming_at_once_never_get_the_same_job(
    stores: StateStores, clock: Clock
) -> None:
    # Two queue objects, as two worker processes would hold.
    submitted = {stores.jobs(clock).submit(JobKind.ADD_LINK, {"url": str(n)}).id for n in range(40)}
    claimed: dict[str, list[int]] = {"w1": [], "w2": []}
    start = threading.Barrier(2)

    def work(name: str) -> None:
        queue = stores.jobs(clock)
        start.wait()
        while (job := queue.claim(name, lease=60)) is not None:
            claimed[name].append(job.id)

    threads = [threading.Thread(target=work, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claimed["w1"] + claimed["w2"]) == sorted(submitted)
    assert not set(claimed["w1"]) & set(claimed["w2"])


def test_a_worker_takes_over_the_job_of_another_whose_lease_ran_out(
    stores: StateStores, clock: Clock
) -> None:
    first, second = stores.jobs(clock), stores.jobs(clock)
    job = first.submit(JobKind.POLL, {})
    assert first.claim("w1", lease=60) is not None
    assert second.claim("w2", lease=60) is None
    clock.now += 61

    taken = second.claim("w2", lease=60)

    assert taken is not None and taken.id == job.id
    assert not first.finish(job.id, "w1", {})
    assert second.finish(job.id, "w2", {"feeds": 0})
    assert first.get(job.id).result == {"feeds": 0}
    assert not first.busy()


def test_one_poster_holds_a_headline_until_posted_or_its_claim_runs_out(
    stores: StateStores, clock: Clock
) -> None:
    # Two queue objects (connections of their own), as two bot processes hold.
    mine, theirs = stores.jobs(clock), stores.jobs(clock)
    mine.add_headline(42, {"feed": {"url": "http://a"}, "added": []})
    [headline] = mine.unposted_headlines(10)

    assert mine.claim_headline(headline.id, "a", lease=60)
    assert not theirs.claim_headline(headline.id, "b", lease=60)
    assert theirs.unposted_headlines(10) == []
    clock.now += 61  # "a" died before posting: its claim lapses and the headline comes back
    assert [h.id for h in theirs.unposted_headlines(10)] == [headline.id]
    assert theirs.claim_headline(headline.id, "b", lease=60)
    theirs.mark_posted(headline.id)
    clock.now += 61

    assert not mine.claim_headline(headline.id, "a", lease=60)
    assert mine.unposted_headlines(10) == []


def test_a_queue_from_before_claims_gains_the_claim_columns(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "jobs.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE headlines (id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL, "
            "body TEXT NOT NULL, created_at REAL NOT NULL, posted_at REAL)"
        )
        conn.execute("INSERT INTO headlines (channel_id, body, created_at) VALUES (7, '{}', 1.0)")
    conn.close()

    queue = SqliteJobQueue(path, clock)

    [old] = queue.unposted_headlines(10)
    assert queue.claim_headline(old.id, "a", lease=60)


def test_posters_claiming_at_once_each_get_different_headlines(
    stores: StateStores, clock: Clock
) -> None:
    for channel in range(40):
        stores.jobs(clock).add_headline(channel, {"n": channel})
    got: dict[str, list[int]] = {"bot-1": [], "bot-2": []}
    start = threading.Barrier(2)

    def post(name: str) -> None:
        queue = stores.jobs(clock)
        start.wait()
        for headline in queue.unposted_headlines(100):
            if queue.claim_headline(headline.id, name, lease=60):
                got[name].append(headline.channel_id)

    threads = [threading.Thread(target=post, args=(name,)) for name in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(got["bot-1"] + got["bot-2"]) == list(range(40))
