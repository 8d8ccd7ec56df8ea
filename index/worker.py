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
from index.errors import ArticlebotError, IndexMissingError, InputError
from index.jobs import build_json, headline_json, progress_json
from index.models import Progress
from index.store.jobs import Job, JobKind, JobQueue
from index.updating import Updater

log = logging.getLogger(__name__)

# A job whose worker has not renewed its lease for this long is taken again.
LEASE_SECONDS = 60.0
# Progress is stored at most this often (the bot shows it as message edits).
PROGRESS_SECONDS = 0.2
# How often an idle worker looks for a job.
IDLE_SECONDS = 0.5
# How often an idle worker asks whether a feed is due.
FEED_CHECK_SECONDS = 30.0
# Stopping mid-job is safe only for these: running them again gives the same result.
REPEATABLE = frozenset({JobKind.REINDEX, JobKind.POLL, JobKind.ADD_UPLOAD, JobKind.ADD_LINK})


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

    def run(self) -> None:
        """Until `stop` is set: first-run index, then jobs and feed polls."""
        log.info("worker %s started on %s", self.name, self.settings.data_dir)
        self._first_index()
        next_feed_check = 0.0
        while not self.stop.is_set():
            if self.run_one():
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
            result = self._run(job, self._progress(job, beat))
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
        self.queue.finish(job.id, self.name, result)
        log.info("job %d (%s) done", job.id, job.kind)
        return True

    def _progress(self, job: Job, beat: _Heartbeat) -> Progress:
        def step(stage: str, done: int, total: int) -> None:
            if self.stop.is_set() and job.kind in REPEATABLE:
                raise Abandoned()
            beat.progress = progress_json(stage, done, total)

        return step

    def _run(self, job: Job, progress: Progress) -> dict[str, Any]:
        handlers: dict[JobKind, Callable[[Job, Progress], dict[str, Any]]] = {
            JobKind.REINDEX: self._reindex,
            JobKind.ADD_UPLOAD: self._add_upload,
            JobKind.ADD_LINK: self._add_link,
            JobKind.REMOVE_ARTICLE: self._remove_article,
            JobKind.ADD_FEED: self._add_feed,
            JobKind.REMOVE_FEED: self._remove_feed,
            JobKind.POLL: self._poll,
        }
        return handlers[job.kind](job, progress)

    def _reindex(self, job: Job, progress: Progress) -> dict[str, Any]:
        progress("reading the article sources", 0, 0)
        return {"build": build_json(self.updater.rebuild(progress=progress))}

    def _add_upload(self, job: Job, progress: Progress) -> dict[str, Any]:
        collection, name = job.params["collection"], job.params["name"]
        data = self.queue.payload(job.id) or b""
        parsed, problems = self.updater.read_upload(data, name, collection)
        if not parsed:
            reasons = "; ".join(p.reason for p in problems[:3])
            raise InputError(f"{name}: no article could be read ({reasons}).")
        added = self.updater.add_articles(collection, parsed)
        build = self.updater.rebuild(progress=progress)
        return {
            "added": [_asdict(a) for a in added],
            "problems": [_asdict(p) for p in problems],
            "build": build_json(build),
        }

    def _add_link(self, job: Job, progress: Progress) -> dict[str, Any]:
        s = self.settings
        collection, url = job.params["collection"], job.params["url"]
        article = self.updater.read_link(
            url,
            max_bytes=min(s.max_attachment_bytes, s.max_article_bytes),
            timeout=s.fetch_timeout,
            allow_private=s.allow_private_urls,
            collection=collection,
        )
        added = self.updater.add_articles(collection, [article])
        build = self.updater.rebuild(progress=progress)
        return {
            "added": [_asdict(a) for a in added],
            "problems": [],
            "build": build_json(build),
        }

    def _remove_article(self, job: Job, progress: Progress) -> dict[str, Any]:
        removed = self.updater.remove_article(job.params["collection"], job.params["article"])
        build = self.updater.rebuild(progress=progress)
        return {"removed": _asdict(removed), "build": build_json(build)}

    def _add_feed(self, job: Job, progress: Progress) -> dict[str, Any]:
        p = job.params
        info = self.updater.add_feed(p["collection"], p["url"], p["channel_id"])
        # Its entries come in now rather than at the next scheduled check.
        self.queue.submit(JobKind.POLL, {})
        return {"info": _asdict(info)}

    def _remove_feed(self, job: Job, progress: Progress) -> dict[str, Any]:
        info = self.updater.remove_feed(job.params["collection"], job.params["feed"])
        build = self.updater.rebuild(progress=progress) if info.items else None
        return {"info": _asdict(info), "build": build_json(build) if build else None}

    def _poll(self, job: Job, progress: Progress) -> dict[str, Any]:
        report = self.updater.poll_feeds()
        added = 0
        for result in report.feeds:
            added += len(result.added)
            if result.added and result.feed.channel_id:
                self.queue.add_headline(result.feed.channel_id, headline_json(result))
        return {
            "feeds": len(report.feeds),
            "added": added,
            "build": build_json(report.build) if report.build else None,
        }

    def _schedule_poll(self) -> None:
        try:
            due = self.updater.feeds_due()
        except ArticlebotError as error:
            log.warning("cannot check the feeds: %s", error)
            return
        if due:
            self.queue.submit(JobKind.POLL, {})

    def _first_index(self) -> None:
        """A data directory without an index gets one over the shared sources (first run)."""
        try:
            self.updater.layout.current()
        except IndexMissingError:
            log.info("no index yet: building it from %s", self.settings.sources)
            self.updater.rebuild()


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


def _asdict(value: Any) -> dict[str, Any]:
    return dataclasses.asdict(value)
