"""`articlebot worker`: the one process that updates. It claims jobs from the queue (those
the bot submits, and the feed polls it schedules itself), runs them with the update side,
and records the headlines new feed articles make for the bot to post.

A job runs under a lease that a heartbeat thread renews; if this process dies, another worker
(or this one restarted) claims the job again when the lease has run out. On SIGINT/SIGTERM
the worker stops claiming; a build in progress is abandoned at its next progress step (the
new state is written aside, so nothing is half-published) and the job goes back to the queue
for the next start; a job that is not safe to repeat is finished first.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from config.settings import Settings
from index.answering import LiveSearcher
from index.errors import ArticlebotError, IndexMissingError, InputError
from index.jobs import build_json, headline_json, progress_json
from index.models import BuildReport, Progress
from index.store.jobs import Job, JobKind, JobQueue
from index.updating import Updater
from index.watch_match import WatchMatcher, watch_matcher

log = logging.getLogger(__name__)

# A job whose worker has not renewed its lease for this long is taken again.
LEASE_SECONDS = 60.0
# Progress is stored at most this often (the bot shows it as message edits).
PROGRESS_SECONDS = 0.2
# How often an idle worker looks for a job.
IDLE_SECONDS = 0.5
# How often an idle worker asks whether a feed is due.
FEED_CHECK_SECONDS = 30.0
# A matching round that failed is tried again this much later.
WATCH_RETRY_SECONDS = 60.0
# Stopping mid-job is safe only for these: running them again gives the same result.
REPEATABLE = frozenset(
    {JobKind.REINDEX, JobKind.POLL, JobKind.ADD_UPLOAD, JobKind.ADD_LINK, JobKind.MERGE}
)


class Abandoned(Exception):
    """Raised from a progress step when the worker is asked to stop."""


class Worker:
    def __init__(
        self,
        settings: Settings,
        updater: Updater | None = None,
        queue: JobQueue | None = None,
        *,
        lease: float = LEASE_SECONDS,
        feed_check: float = FEED_CHECK_SECONDS,
    ) -> None:
        self.settings = settings
        self.updater = updater or Updater(settings)
        self.queue = queue or self.updater.stores.jobs()
        self.name = f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease = lease
        self.feed_check = feed_check
        self.stop = threading.Event()
        # Under the learned ranker, the searcher over the live state judges the watches'
        # likely matches; it is opened at the first round that has any.
        live = LiveSearcher(settings, self.updater.models, self.updater.layout)
        self.watcher: WatchMatcher = watch_matcher(
            settings, self.updater.stores.watches(), self.updater.layout, searcher=live.get
        )
        self._watch_retry_at = 0.0

    def run(self) -> None:
        """Until `stop` is set: first-run index, then jobs and feed polls."""
        log.info("worker %s started on %s", self.name, self.settings.data_dir)
        self._first_index()
        next_feed_check = 0.0
        while not self.stop.is_set():
            ran = self.run_one()
            # After any job (and when idle, for states a command-line build published):
            # the articles it brought are matched against the watched questions.
            self.match_watches()
            if ran:
                continue
            if time.monotonic() >= next_feed_check:
                next_feed_check = time.monotonic() + self.feed_check
                self._schedule_poll()
            self.stop.wait(IDLE_SECONDS)
        log.info("worker %s stopped", self.name)

    def run_one(self) -> bool:
        """Claim and run one job; False when there was none."""
        job = self.queue.claim(self.name, self.lease)
        if job is None:
            return False
        log.info("job %d (%s) claimed, attempt %d", job.id, job.kind, job.attempts)
        beat = _Heartbeat(self.queue, job.id, self.name, self.lease)
        beat.start()
        try:
            done = self._run(job, self._progress(job, beat))
        except Abandoned:
            beat.stop()
            self.queue.release(job.id, self.name)
            log.info("job %d (%s) abandoned for the next start", job.id, job.kind)
            return True
        except (InputError, ArticlebotError) as error:
            beat.stop()
            self.queue.fail(job.id, self.name, str(error))
            log.info("job %d (%s) refused: %s", job.id, job.kind, error)
            return True
        except Exception:
            beat.stop()
            log.exception("job %d (%s) failed", job.id, job.kind)
            self.queue.fail(
                job.id, self.name, "The update failed; the operator's log has the details."
            )
            return True
        beat.stop()
        self.queue.finish(job.id, self.name, done.result)
        log.info("job %d (%s) done", job.id, job.kind)
        if done.published:
            self._published()
        return True

    def match_watches(self) -> None:
        """One matching round over whatever state is live now. A failure is logged and the
        round tried again WATCH_RETRY_SECONDS later (nothing was marked matched), not at
        every turn of the loop."""
        if time.monotonic() < self._watch_retry_at:
            return
        try:
            self.watcher.catch_up()
        except Exception:
            log.exception("matching the watched questions failed")
            self._watch_retry_at = time.monotonic() + WATCH_RETRY_SECONDS

    def _progress(self, job: Job, beat: _Heartbeat) -> Progress:
        def step(stage: str, done: int, total: int) -> None:
            if self.stop.is_set() and job.kind in REPEATABLE:
                raise Abandoned()
            beat.progress = progress_json(stage, done, total)

        return step

    def _published(self) -> None:
        """Where every kind of job (and the first-run index) ends up once it has published a
        new index state: the one place to hook what follows a publish."""
        log.info("index state %s published", self.updater.layout.current().name)

    def _run(self, job: Job, progress: Progress) -> _Done:
        handlers: dict[JobKind, Callable[[Job, Progress], _Done]] = {
            JobKind.REINDEX: self._reindex,
            JobKind.ADD_UPLOAD: self._add_upload,
            JobKind.ADD_LINK: self._add_link,
            JobKind.REMOVE_ARTICLE: self._remove_article,
            JobKind.ADD_FEED: self._add_feed,
            JobKind.REMOVE_FEED: self._remove_feed,
            JobKind.POLL: self._poll,
            JobKind.MERGE: self._merge,
        }
        return handlers[job.kind](job, progress)

    def _reindex(self, job: Job, progress: Progress) -> _Done:
        progress("reading the article sources", 0, 0)
        build = self.updater.rebuild(progress=progress)
        return _Done({"build": build_json(build)}, _built(build))

    def _add_upload(self, job: Job, progress: Progress) -> _Done:
        collection, name = job.params["collection"], job.params["name"]
        data = self.queue.payload(job.id) or b""
        parsed, problems = self.updater.read_upload(data, name, collection)
        if not parsed:
            reasons = "; ".join(p.reason for p in problems[:3])
            raise InputError(f"{name}: no article could be read ({reasons}).")
        added, build = self.updater.add_and_index(collection, parsed, progress)
        result = {
            "added": [_asdict(a) for a in added],
            "problems": [_asdict(p) for p in problems],
            "build": build_json(build),
        }
        return _Done(result, _built(build))

    def _add_link(self, job: Job, progress: Progress) -> _Done:
        s = self.settings
        collection, url = job.params["collection"], job.params["url"]
        article = self.updater.read_link(
            url,
            max_bytes=min(s.max_attachment_bytes, s.max_article_bytes),
            timeout=s.fetch_timeout,
            allow_private=s.allow_private_urls,
            collection=collection,
        )
        added, build = self.updater.add_and_index(collection, [article], progress)
        result = {"added": [_asdict(a) for a in added], "problems": [], "build": build_json(build)}
        return _Done(result, _built(build))

    def _remove_article(self, job: Job, progress: Progress) -> _Done:
        removed, build = self.updater.remove_and_index(
            job.params["collection"], job.params["article"], progress
        )
        return _Done({"removed": _asdict(removed), "build": build_json(build)}, _built(build))

    def _add_feed(self, job: Job, progress: Progress) -> _Done:
        p = job.params
        info = self.updater.add_feed(p["collection"], p["url"], p["channel_id"])
        # Its entries come in now rather than at the next scheduled check.
        self.queue.submit(JobKind.POLL, {})
        return _Done({"info": _asdict(info)})

    def _remove_feed(self, job: Job, progress: Progress) -> _Done:
        info, build = self.updater.unfollow_and_index(
            job.params["collection"], job.params["feed"], progress
        )
        result = {"info": _asdict(info), "build": build_json(build) if build else None}
        return _Done(result, _built(build))

    def _poll(self, job: Job, progress: Progress) -> _Done:
        report = self.updater.poll_feeds()
        added = 0
        for polled in report.feeds:
            added += len(polled.added)
            if polled.added and polled.feed.channel_id:
                self.queue.add_headline(polled.feed.channel_id, headline_json(polled))
        result = {
            "feeds": len(report.feeds),
            "added": added,
            "build": build_json(report.build) if report.build else None,
        }
        return _Done(result, _built(report.build))

    def _merge(self, job: Job, progress: Progress) -> _Done:
        report = self.updater.merge(bool(job.params.get("all")), progress)
        generation = report.generation.name if report.generation else None
        merged = {**_asdict(report), "generation": generation}
        return _Done({"merge": merged}, report.generation is not None)

    def _schedule_poll(self) -> None:
        try:
            due = self.updater.feeds_due()
        except ArticlebotError as error:
            log.warning("cannot check the feeds: %s", error)
            return
        if due:
            self.queue.submit(JobKind.POLL, {})

    def _first_index(self) -> None:
        """A data directory without an index gets one over the shared sources (first run);
        an index of an earlier release is upgraded in place, so the bot can answer from it."""
        try:
            self.updater.layout.current()
        except IndexMissingError:
            log.info("no index yet: building it from %s", self.settings.sources)
            if _built(self.updater.rebuild()):
                self._published()
            return
        if self.updater.upgrade() is not None:
            self._published()


@dataclasses.dataclass(frozen=True, slots=True)
class _Done:
    """A job's result as the bot reads it, and whether it published a new index state."""

    result: dict[str, Any]
    published: bool = False


class _Heartbeat:
    """Renews the job's lease and stores its latest progress, from its own thread, so a long
    embedding step does not lose the job; progress is written when it changes, at most every
    PROGRESS_SECONDS, the lease at least every third of its length."""

    def __init__(self, queue: JobQueue, job_id: int, worker: str, lease: float) -> None:
        self.queue = queue
        self.job_id = job_id
        self.worker = worker
        self.lease = lease
        self._progress: str | None = None
        self._changed = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    @property
    def progress(self) -> str | None:
        return self._progress

    @progress.setter
    def progress(self, value: str) -> None:
        self._progress = value
        self._changed.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._changed.set()
        self._thread.join()

    def _run(self) -> None:
        sent: str | None = None
        while not self._stopped.is_set():
            self._changed.wait(self.lease / 3)
            self._changed.clear()
            if self._stopped.is_set():
                return
            progress = self._progress
            if not self.queue.heartbeat(
                self.job_id, self.worker, self.lease, progress if progress != sent else None
            ):
                log.warning("job %d: lease lost", self.job_id)
                return
            sent = progress
            self._stopped.wait(PROGRESS_SECONDS)


def _built(build: BuildReport | None) -> bool:
    return build is not None and not build.up_to_date


def _asdict(value: Any) -> dict[str, Any]:
    return dataclasses.asdict(value)
