"""The durable job queue between the answering process and the worker, and the headlines
the worker found for the bot to post: the contract, and its SQLite implementation in the data
directory (`jobs.sqlite`); the PostgreSQL one is `index/store/pg/jobs.py`.

The contract (tests/unit/store/test_jobs.py runs it against both):
- `submit` stores a job as `queued` and returns it; a kind in `JOINABLE` joins a job of the
  same kind and parameters that is still queued instead of queueing a second one; a kind in
  `ONE_AT_A_TIME` is refused with `BuildBusyError` while one is queued or running.
- `claim` hands the oldest runnable job to one worker and marks it `running` under a lease:
  a queued job, or a running one whose lease ran out (its worker died). Each claim counts an
  attempt; a job claimed `MAX_ATTEMPTS` times without finishing fails.
- The worker renews the lease with `heartbeat` (which also stores progress) and ends the job
  with `finish` (a JSON result) or `fail` (a message for the user); a worker that lost its
  lease can no longer change the job.
- States only move queued → running → done | failed (running → running on a re-claim).
- Two workers claiming at once never get the same job.

Headlines are posted once by whichever bot process holds the channel's server: it claims one
with `claim_headline` (atomic: one claimant at a time, for `lease` seconds), posts it, then
`mark_posted`. A claimant that dies before marking leaves a lease that runs out, and the
headline is offered again; `unposted_headlines` lists those neither posted nor under a claim.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from index.errors import BuildBusyError
from index.store.statedb import StateDb

MAX_ATTEMPTS = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    payload BLOB,
    state TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT,
    worker TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs (state, id);
CREATE TABLE IF NOT EXISTS headlines (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    posted_at REAL,
    claimed_by TEXT,
    claim_until REAL
);
CREATE INDEX IF NOT EXISTS headlines_unposted ON headlines (posted_at, id);
"""


class JobKind(StrEnum):
    REINDEX = "reindex"
    ADD_UPLOAD = "add_upload"
    ADD_LINK = "add_link"
    REMOVE_ARTICLE = "remove_article"
    ADD_FEED = "add_feed"
    REMOVE_FEED = "remove_feed"
    POLL = "poll"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# A second poll, while one is still queued, would do the same work again: it joins it.
JOINABLE = frozenset({JobKind.POLL})
# A second /reindex is answered "busy", as it was when builds ran in the bot: the admin who
# asked sees the first one's progress is not theirs to wait for.
ONE_AT_A_TIME = frozenset({JobKind.REINDEX})


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: JobKind
    params: dict[str, Any]
    state: JobState
    progress: str
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: float

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)


@dataclass(frozen=True, slots=True)
class Headline:
    id: int
    channel_id: int
    body: dict[str, Any]


class JobQueue(Protocol):
    def submit(
        self, kind: JobKind, params: dict[str, Any], payload: bytes | None = None
    ) -> Job: ...
    def get(self, job_id: int) -> Job: ...
    def ahead_of(self, job_id: int) -> int: ...
    def busy(self) -> bool: ...
    def claim(self, worker: str, lease: float) -> Job | None: ...
    def payload(self, job_id: int) -> bytes | None: ...
    def heartbeat(self, job_id: int, worker: str, lease: float, progress: str | None) -> bool: ...
    def finish(self, job_id: int, worker: str, result: dict[str, Any]) -> bool: ...
    def fail(self, job_id: int, worker: str, error: str) -> bool: ...
    def release(self, job_id: int, worker: str) -> bool: ...
    def add_headline(self, channel_id: int, body: dict[str, Any]) -> None: ...
    def unposted_headlines(self, limit: int) -> list[Headline]: ...
    def claim_headline(self, headline_id: int, claimant: str, lease: float) -> bool: ...
    def mark_posted(self, headline_id: int) -> None: ...


class SqliteJobQueue:
    def __init__(self, path: Path, clock: Any = time.time) -> None:
        self.db = StateDb(path, SCHEMA)
        self._clock = clock
        self._add_claim_columns()

    def _add_claim_columns(self) -> None:
        """A queue written before headlines were claimed gets the claim's columns."""
        columns = {str(row[1]) for row in self.db.query("PRAGMA table_info(headlines)")}
        with self.db.transaction() as conn:
            for name, kind in (("claimed_by", "TEXT"), ("claim_until", "REAL")):
                if name not in columns:
                    conn.execute(f"ALTER TABLE headlines ADD COLUMN {name} {kind}")

    def submit(self, kind: JobKind, params: dict[str, Any], payload: bytes | None = None) -> Job:
        encoded = json.dumps(params, sort_keys=True)
        now = self._clock()
        with self.db.transaction() as conn:
            if kind in ONE_AT_A_TIME:
                row = conn.execute(
                    "SELECT id FROM jobs WHERE kind = ? AND state IN (?, ?) LIMIT 1",
                    (kind.value, JobState.QUEUED.value, JobState.RUNNING.value),
                ).fetchone()
                if row is not None:
                    raise BuildBusyError()
            if kind in JOINABLE:
                row = conn.execute(
                    "SELECT id FROM jobs WHERE kind = ? AND params = ? AND state = ? "
                    "ORDER BY id LIMIT 1",
                    (kind.value, encoded, JobState.QUEUED.value),
                ).fetchone()
                if row is not None:
                    job_id = int(row[0])
                    return self._get(conn, job_id)
            cursor = conn.execute(
                "INSERT INTO jobs (kind, params, payload, state, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (kind.value, encoded, payload, JobState.QUEUED.value, now, now),
            )
            return self._get(conn, int(cursor.lastrowid or 0))

    def get(self, job_id: int) -> Job:
        rows = self.db.query(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise KeyError(job_id)
        return job_of(rows[0])

    def ahead_of(self, job_id: int) -> int:
        """How many unfinished jobs come before this one."""
        rows = self.db.query(
            "SELECT COUNT(*) FROM jobs WHERE id < ? AND state IN (?, ?)",
            (job_id, JobState.QUEUED.value, JobState.RUNNING.value),
        )
        return int(rows[0][0])  # type: ignore[call-overload]

    def busy(self) -> bool:
        """Whether an update is queued or running."""
        return bool(
            self.db.query(
                "SELECT 1 FROM jobs WHERE state IN (?, ?) LIMIT 1",
                (JobState.QUEUED.value, JobState.RUNNING.value),
            )
        )

    def claim(self, worker: str, lease: float) -> Job | None:
        now = self._clock()
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET state = ?, error = ?, worker = NULL, updated_at = ? "
                "WHERE state = ? AND lease_until < ? AND attempts >= ?",
                (
                    JobState.FAILED.value,
                    "the worker stopped during this job too many times",
                    now,
                    JobState.RUNNING.value,
                    now,
                    MAX_ATTEMPTS,
                ),
            )
            row = conn.execute(
                "SELECT id FROM jobs WHERE state = ? OR (state = ? AND lease_until < ?) "
                "ORDER BY id LIMIT 1",
                (JobState.QUEUED.value, JobState.RUNNING.value, now),
            ).fetchone()
            if row is None:
                return None
            job_id = int(row[0])
            conn.execute(
                "UPDATE jobs SET state = ?, worker = ?, lease_until = ?, "
                "attempts = attempts + 1, updated_at = ? WHERE id = ?",
                (JobState.RUNNING.value, worker, now + lease, now, job_id),
            )
            return self._get(conn, job_id)

    def payload(self, job_id: int) -> bytes | None:
        rows = self.db.query("SELECT payload FROM jobs WHERE id = ?", (job_id,))
        value = rows[0][0] if rows else None
        return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None

    def heartbeat(self, job_id: int, worker: str, lease: float, progress: str | None) -> bool:
        now = self._clock()
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET lease_until = ?, progress = COALESCE(?, progress), "
                "updated_at = ? WHERE id = ? AND worker = ? AND state = ?",
                (now + lease, progress, now, job_id, worker, JobState.RUNNING.value),
            )
            return cursor.rowcount == 1

    def finish(self, job_id: int, worker: str, result: dict[str, Any]) -> bool:
        return self._end(job_id, worker, JobState.DONE, json.dumps(result), None)

    def fail(self, job_id: int, worker: str, error: str) -> bool:
        return self._end(job_id, worker, JobState.FAILED, None, error)

    def release(self, job_id: int, worker: str) -> bool:
        """Give a job back (a worker stopping mid-job): it is claimed again at once, and
        the attempt does not count."""
        now = self._clock()
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET state = ?, worker = NULL, lease_until = NULL, "
                "attempts = attempts - 1, updated_at = ? WHERE id = ? AND worker = ? AND state = ?",
                (JobState.QUEUED.value, now, job_id, worker, JobState.RUNNING.value),
            )
            return cursor.rowcount == 1

    def _end(
        self, job_id: int, worker: str, state: JobState, result: str | None, error: str | None
    ) -> bool:
        now = self._clock()
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET state = ?, result = ?, error = ?, payload = NULL, "
                "lease_until = NULL, updated_at = ? WHERE id = ? AND worker = ? AND state = ?",
                (state.value, result, error, now, job_id, worker, JobState.RUNNING.value),
            )
            return cursor.rowcount == 1

    def add_headline(self, channel_id: int, body: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO headlines (channel_id, body, created_at) VALUES (?, ?, ?)",
                (channel_id, json.dumps(body), self._clock()),
            )

    def unposted_headlines(self, limit: int) -> list[Headline]:
        rows = self.db.query(
            "SELECT id, channel_id, body FROM headlines WHERE posted_at IS NULL "
            "AND (claim_until IS NULL OR claim_until < ?) ORDER BY id LIMIT ?",
            (self._clock(), limit),
        )
        return [Headline(int(r[0]), int(r[1]), json.loads(str(r[2]))) for r in rows]  # type: ignore[call-overload]

    def claim_headline(self, headline_id: int, claimant: str, lease: float) -> bool:
        """Whether `claimant` now holds the headline to post it: not posted, and no one
        else's claim is running."""
        now = self._clock()
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE headlines SET claimed_by = ?, claim_until = ? WHERE id = ? "
                "AND posted_at IS NULL AND (claim_until IS NULL OR claim_until < ?)",
                (claimant, now + lease, headline_id, now),
            )
            return cursor.rowcount == 1

    def mark_posted(self, headline_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE headlines SET posted_at = ? WHERE id = ?", (self._clock(), headline_id)
            )

    @staticmethod
    def _get(conn: Any, job_id: int) -> Job:
        row = conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return job_of(row)


JOB_COLUMNS = "id, kind, params, state, progress, result, error, attempts, created_at"


def job_of(row: Any) -> Job:
    return Job(
        id=int(row[0]),
        kind=JobKind(row[1]),
        params=json.loads(row[2]),
        state=JobState(row[3]),
        progress=str(row[4]),
        result=json.loads(row[5]) if row[5] is not None else None,
        error=row[6],
        attempts=int(row[7]),
        created_at=float(row[8]),
    )
