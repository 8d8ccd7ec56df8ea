"""The job queue and headlines (`index/store/jobs.py`'s contract) in PostgreSQL, shared by
every bot and worker process.

A claim takes the oldest runnable job with `FOR UPDATE SKIP LOCKED`, so workers claiming at
once each get a different job without waiting on one another. Submitting a kind that joins or
refuses a second job takes a transaction-scoped advisory lock for that kind first: two
processes submitting at once cannot both find none queued.
"""

from __future__ import annotations

import json
import time
import zlib
from typing import Any

from index.errors import BuildBusyError
from index.store.jobs import (
    JOB_COLUMNS,
    JOINABLE,
    MAX_ATTEMPTS,
    ONE_AT_A_TIME,
    Headline,
    Job,
    JobKind,
    JobState,
    job_of,
)
from index.store.pg.connection import PgDatabase

_QUEUED, _RUNNING = JobState.QUEUED.value, JobState.RUNNING.value


class PgJobQueue:
    def __init__(self, db: PgDatabase, clock: Any = time.time) -> None:
        self.db = db
        self._clock = clock

    def submit(self, kind: JobKind, params: dict[str, Any], payload: bytes | None = None) -> Job:
        encoded = json.dumps(params, sort_keys=True)
        now = self._clock()
        with self.db.transaction() as conn:
            if kind in ONE_AT_A_TIME or kind in JOINABLE:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_kind_key(kind),))
            if kind in ONE_AT_A_TIME:
                row = conn.execute(
                    "SELECT id FROM jobs WHERE kind = %s AND state IN (%s, %s) LIMIT 1",
                    (kind.value, _QUEUED, _RUNNING),
                ).fetchone()
                if row is not None:
                    raise BuildBusyError()
            if kind in JOINABLE:
                row = conn.execute(
                    f"SELECT {JOB_COLUMNS} FROM jobs WHERE kind = %s AND params = %s "
                    "AND state = %s ORDER BY id LIMIT 1",
                    (kind.value, encoded, _QUEUED),
                ).fetchone()
                if row is not None:
                    return job_of(row)
            row = conn.execute(
                "INSERT INTO jobs (kind, params, payload, state, created_at, updated_at) "
                f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {JOB_COLUMNS}",
                (kind.value, encoded, payload, _QUEUED, now, now),
            ).fetchone()
            return job_of(row)

    def get(self, job_id: int) -> Job:
        with self.db.transaction() as conn:
            row = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = %s", (job_id,)
            ).fetchone()
        if row is None:
            raise KeyError(job_id)
        return job_of(row)

    def ahead_of(self, job_id: int) -> int:
        """How many unfinished jobs come before this one."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM jobs WHERE id < %s AND state IN (%s, %s)",
                (job_id, _QUEUED, _RUNNING),
            ).fetchone()
        return int(row[0]) if row else 0

    def busy(self) -> bool:
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT 1 FROM jobs WHERE state IN (%s, %s) LIMIT 1", (_QUEUED, _RUNNING)
            ).fetchone()
        return row is not None

    def claim(self, worker: str, lease: float) -> Job | None:
        now = self._clock()
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'failed', error = %s, worker = NULL, updated_at = %s "
                "WHERE id IN (SELECT id FROM jobs WHERE state = %s AND lease_until < %s "
                "AND attempts >= %s FOR UPDATE SKIP LOCKED)",
                (
                    "the worker stopped during this job too many times",
                    now,
                    _RUNNING,
                    now,
                    MAX_ATTEMPTS,
                ),
            )
            row = conn.execute(
                "SELECT id FROM jobs WHERE state = %s OR (state = %s AND lease_until < %s "
                "AND attempts < %s) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
                (_QUEUED, _RUNNING, now, MAX_ATTEMPTS),
            ).fetchone()
            if row is None:
                return None
            claimed = conn.execute(
                "UPDATE jobs SET state = %s, worker = %s, lease_until = %s, "
                f"attempts = attempts + 1, updated_at = %s WHERE id = %s RETURNING {JOB_COLUMNS}",
                (_RUNNING, worker, now + lease, now, row[0]),
            ).fetchone()
            return job_of(claimed)

    def payload(self, job_id: int) -> bytes | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT payload FROM jobs WHERE id = %s", (job_id,)).fetchone()
        return bytes(row[0]) if row is not None and row[0] is not None else None

    def heartbeat(self, job_id: int, worker: str, lease: float, progress: str | None) -> bool:
        now = self._clock()
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET lease_until = %s, progress = COALESCE(%s, progress), "
                "updated_at = %s WHERE id = %s AND worker = %s AND state = %s",
                (now + lease, progress, now, job_id, worker, _RUNNING),
            )
            return cursor.rowcount == 1

    def finish(self, job_id: int, worker: str, result: dict[str, Any]) -> bool:
        return self._end(job_id, worker, JobState.DONE, json.dumps(result), None)

    def fail(self, job_id: int, worker: str, error: str) -> bool:
        return self._end(job_id, worker, JobState.FAILED, None, error)

    def release(self, job_id: int, worker: str) -> bool:
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET state = %s, worker = NULL, lease_until = NULL, "
                "attempts = attempts - 1, updated_at = %s "
                "WHERE id = %s AND worker = %s AND state = %s",
                (_QUEUED, self._clock(), job_id, worker, _RUNNING),
            )
            return cursor.rowcount == 1

    def _end(
        self, job_id: int, worker: str, state: JobState, result: str | None, error: str | None
    ) -> bool:
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET state = %s, result = %s, error = %s, payload = NULL, "
                "lease_until = NULL, updated_at = %s WHERE id = %s AND worker = %s AND state = %s",
                (state.value, result, error, self._clock(), job_id, worker, _RUNNING),
            )
            return cursor.rowcount == 1

    def add_headline(self, channel_id: int, body: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO headlines (channel_id, body, created_at) VALUES (%s, %s, %s)",
                (channel_id, json.dumps(body), self._clock()),
            )

    def unposted_headlines(self, limit: int) -> list[Headline]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, channel_id, body FROM headlines WHERE posted_at IS NULL "
                "AND (claim_until IS NULL OR claim_until < %s) ORDER BY id LIMIT %s",
                (self._clock(), limit),
            ).fetchall()
        return [Headline(int(r[0]), int(r[1]), json.loads(r[2])) for r in rows]

    def claim_headline(self, headline_id: int, claimant: str, lease: float) -> bool:
        """Whether `claimant` now holds the headline to post it: the conditional UPDATE runs
        under the row's lock, so of two processes claiming at once one gets it."""
        now = self._clock()
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE headlines SET claimed_by = %s, claim_until = %s WHERE id = %s "
                "AND posted_at IS NULL AND (claim_until IS NULL OR claim_until < %s)",
                (claimant, now + lease, headline_id, now),
            )
            return cursor.rowcount == 1

    def mark_posted(self, headline_id: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE headlines SET posted_at = %s WHERE id = %s", (self._clock(), headline_id)
            )


def _kind_key(kind: JobKind) -> int:
    # A stable key per kind, in a range no other advisory lock of articlebot uses.
    return (1 << 40) + zlib.crc32(kind.value.encode())
