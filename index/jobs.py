"""Updates as jobs: what the answering process asks of the worker, and the typed results it
gets back. The bot submits a job, watches it (off the event loop) for progress, and turns its
JSON result into the same reports a build in-process gave.

Light on purpose: the queue's contract and dataclasses only, so the answering process can
import it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import InputError
from index.models import (
    Article,
    ArticleRef,
    BuildReport,
    FeedInfo,
    FeedPollResult,
    Progress,
    SourceProblem,
)
from index.store.jobs import Headline, Job, JobKind, JobQueue, JobState

__all__ = [
    "ArticleRemoved",
    "ArticlesAdded",
    "FeedAdded",
    "FeedRemoved",
    "Headline",
    "Job",
    "JobDesk",
    "JobKind",
    "JobState",
    "JobView",
    "PollDone",
    "ReindexDone",
    "build_json",
    "build_of",
    "headline_json",
    "headline_of",
]


def build_json(report: BuildReport) -> dict[str, Any]:
    values = dataclasses.asdict(report)
    values["generation"] = str(report.generation) if report.generation else None
    return values


def build_of(values: dict[str, Any]) -> BuildReport:
    fields = dict(values)
    fields["generation"] = Path(fields["generation"]) if fields.get("generation") else None
    fields["problems"] = [SourceProblem(**p) for p in fields.get("problems", [])]
    return BuildReport(**fields)


def _build_or_none(values: dict[str, Any] | None) -> BuildReport | None:
    return build_of(values) if values is not None else None


def headline_json(result: FeedPollResult) -> dict[str, Any]:
    return dataclasses.asdict(result)


def headline_of(values: dict[str, Any]) -> FeedPollResult:
    return FeedPollResult(
        feed=FeedInfo(**values["feed"]),
        added=tuple(ArticleRef(**a) for a in values.get("added", ())),
        not_modified=bool(values.get("not_modified")),
        error=values.get("error"),
    )


@dataclass(frozen=True, slots=True)
class ReindexDone:
    build: BuildReport

    @classmethod
    def of(cls, values: dict[str, Any]) -> ReindexDone:
        return cls(build_of(values["build"]))


@dataclass(frozen=True, slots=True)
class ArticlesAdded:
    added: list[Article]
    problems: list[SourceProblem]
    build: BuildReport

    @classmethod
    def of(cls, values: dict[str, Any]) -> ArticlesAdded:
        return cls(
            [Article(**a) for a in values["added"]],
            [SourceProblem(**p) for p in values["problems"]],
            build_of(values["build"]),
        )


@dataclass(frozen=True, slots=True)
class ArticleRemoved:
    removed: Article
    build: BuildReport

    @classmethod
    def of(cls, values: dict[str, Any]) -> ArticleRemoved:
        return cls(Article(**values["removed"]), build_of(values["build"]))


@dataclass(frozen=True, slots=True)
class FeedAdded:
    info: FeedInfo

    @classmethod
    def of(cls, values: dict[str, Any]) -> FeedAdded:
        return cls(FeedInfo(**values["info"]))


@dataclass(frozen=True, slots=True)
class FeedRemoved:
    info: FeedInfo
    build: BuildReport | None

    @classmethod
    def of(cls, values: dict[str, Any]) -> FeedRemoved:
        return cls(FeedInfo(**values["info"]), _build_or_none(values.get("build")))


@dataclass(frozen=True, slots=True)
class PollDone:
    feeds: int
    added: int
    build: BuildReport | None

    @classmethod
    def of(cls, values: dict[str, Any]) -> PollDone:
        return cls(values["feeds"], values["added"], _build_or_none(values.get("build")))


@dataclass(frozen=True, slots=True)
class JobView:
    job: Job
    step: tuple[str, int, int] | None


class JobDesk:
    """The answering process's side of the queue: submit, watch, read the result."""

    def __init__(self, queue: JobQueue, watch_interval: float = 0.25) -> None:
        self.queue = queue
        self.watch_interval = watch_interval

    def reindex(self) -> Job:
        return self.queue.submit(JobKind.REINDEX, {})

    def add_upload(self, collection: str, name: str, data: bytes) -> Job:
        return self.queue.submit(JobKind.ADD_UPLOAD, {"collection": collection, "name": name}, data)

    def add_link(self, collection: str, url: str) -> Job:
        return self.queue.submit(JobKind.ADD_LINK, {"collection": collection, "url": url})

    def remove_article(self, collection: str, article_id: str) -> Job:
        params = {"collection": collection, "article": article_id}
        return self.queue.submit(JobKind.REMOVE_ARTICLE, params)

    def add_feed(self, collection: str, url: str, channel_id: int | None) -> Job:
        params = {"collection": collection, "url": url, "channel_id": channel_id}
        return self.queue.submit(JobKind.ADD_FEED, params)

    def remove_feed(self, collection: str, feed: str) -> Job:
        return self.queue.submit(JobKind.REMOVE_FEED, {"collection": collection, "feed": feed})

    def poll(self) -> Job:
        return self.queue.submit(JobKind.POLL, {})

    def busy(self) -> bool:
        """Whether an update is queued or running."""
        return self.queue.busy()

    def look(self, job: Job) -> JobView:
        """The job as it is now, with its latest progress step."""
        job = self.queue.get(job.id)
        return JobView(job, self._step(job))

    @staticmethod
    def result(job: Job) -> dict[str, Any]:
        """A finished job's result; a failed job raises `InputError` with the worker's
        message."""
        if job.state is JobState.FAILED:
            raise InputError(job.error or "The update failed.")
        return job.result or {}

    def wait(self, job: Job, progress: Progress | None = None) -> dict[str, Any]:
        """Blocking, for the command line: the result once the worker has finished."""
        shown: tuple[str, int, int] | None = None
        while True:
            view = self.look(job)
            if progress is not None and view.step is not None and view.step != shown:
                shown = view.step
                progress(*shown)
            if view.job.finished:
                return self.result(view.job)
            time.sleep(self.watch_interval)

    def _step(self, job: Job) -> tuple[str, int, int] | None:
        if job.state is JobState.QUEUED:
            ahead = self.queue.ahead_of(job.id)
            return (f"waiting for {ahead} update(s) ahead", 0, 0) if ahead else None
        return progress_of(job.progress)


def progress_json(stage: str, done: int, total: int) -> str:
    return json.dumps({"stage": stage, "done": done, "total": total})


def progress_of(text: str) -> tuple[str, int, int] | None:
    if not text:
        return None
    values = json.loads(text)
    return str(values["stage"]), int(values["done"]), int(values["total"])
