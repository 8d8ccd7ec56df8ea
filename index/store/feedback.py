"""Votes on answered passages and the questions that got "no match", kept per scope (a
server) in `feedback.sqlite` in the data directory.

A member has one vote per answer, which a later press replaces. The demotion rule counts
distinct members of the scope whose current vote on any answer quoting the passage is down.

The contract, and its SQLite implementation; the PostgreSQL one is
`index/store/pg/feedback.py`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from index.models import NoMatchQuestion, PassageFeedback, ShownHit, VoteOutcome
from index.store.statedb import StateDb

FEEDBACK_NAME = "feedback.sqlite"
# The log of "no match" questions keeps this many per scope.
NO_MATCH_KEPT = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    scope TEXT NOT NULL,
    answer_id TEXT NOT NULL,
    member TEXT NOT NULL,
    passage_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    title TEXT NOT NULL,
    quote TEXT NOT NULL,
    value INTEGER NOT NULL CHECK (value IN (-1, 1)),
    voted_at REAL NOT NULL,
    PRIMARY KEY (answer_id, member)
);
CREATE INDEX IF NOT EXISTS votes_by_passage ON votes(scope, passage_id);
CREATE TABLE IF NOT EXISTS no_match (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    question TEXT NOT NULL,
    asked_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS no_match_by_scope ON no_match(scope, id);
"""


class FeedbackStore(Protocol):
    def vote(
        self, scope: str, answer_id: str, hit: ShownHit, member: str, value: int, threshold: int
    ) -> VoteOutcome: ...
    def demoted(self, scope: str, threshold: int) -> frozenset[str]: ...
    def passages(self, scope: str, threshold: int, limit: int) -> list[PassageFeedback]: ...
    def clear(self, scope: str, passage_id: str) -> int: ...
    def log_no_match(self, scope: str, question: str) -> None: ...
    def no_match(self, scope: str, limit: int) -> list[NoMatchQuestion]: ...
    def scopes(self) -> list[str]: ...
    def close(self) -> None: ...


class SqliteFeedbackStore:
    def __init__(self, data_dir: Path) -> None:
        self._db = StateDb(data_dir / FEEDBACK_NAME, _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def vote(
        self, scope: str, answer_id: str, hit: ShownHit, member: str, value: int, threshold: int
    ) -> VoteOutcome:
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT value FROM votes WHERE answer_id = ? AND member = ?", (answer_id, member)
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO votes VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    scope,
                    answer_id,
                    member,
                    hit.passage_id,
                    hit.article_id,
                    hit.title,
                    hit.quote,
                    value,
                    time.time(),
                ),
            )
            (down,) = conn.execute(
                "SELECT count(DISTINCT member) FROM votes "
                "WHERE scope = ? AND passage_id = ? AND value = -1",
                (scope, hit.passage_id),
            ).fetchone()
        return VoteOutcome(
            hit.passage_id, value, None if row is None else int(row[0]), down, down >= threshold
        )

    def demoted(self, scope: str, threshold: int) -> frozenset[str]:
        rows = self._db.query(
            "SELECT passage_id FROM votes WHERE scope = ? AND value = -1 "
            "GROUP BY passage_id HAVING count(DISTINCT member) >= ?",
            (scope, threshold),
        )
        return frozenset(str(r[0]) for r in rows)

    def passages(self, scope: str, threshold: int, limit: int) -> list[PassageFeedback]:
        """The passages with down-votes, most distinct down-voters first."""
        rows = self._db.query(
            "SELECT passage_id, max(article_id), max(title), max(quote), "
            "count(DISTINCT CASE WHEN value = -1 THEN member END) AS down, "
            "count(DISTINCT CASE WHEN value = 1 THEN member END) AS up "
            "FROM votes WHERE scope = ? GROUP BY passage_id HAVING down > 0 "
            "ORDER BY down DESC, up ASC, passage_id LIMIT ?",
            (scope, limit),
        )
        return [
            PassageFeedback(
                str(p), str(a), str(t), str(q), int(str(d)), int(str(u)), int(str(d)) >= threshold
            )
            for p, a, t, q, d, u in rows
        ]

    def clear(self, scope: str, passage_id: str) -> int:
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM votes WHERE scope = ? AND passage_id = ?", (scope, passage_id)
            ).rowcount

    def log_no_match(self, scope: str, question: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO no_match (scope, question, asked_at) VALUES (?,?,?)",
                (scope, question, time.time()),
            )
            conn.execute(
                "DELETE FROM no_match WHERE scope = ? AND id NOT IN "
                "(SELECT id FROM no_match WHERE scope = ? ORDER BY id DESC LIMIT ?)",
                (scope, scope, NO_MATCH_KEPT),
            )

    def no_match(self, scope: str, limit: int) -> list[NoMatchQuestion]:
        rows = self._db.query(
            "SELECT question, asked_at FROM no_match WHERE scope = ? ORDER BY id DESC LIMIT ?",
            (scope, limit),
        )
        return [NoMatchQuestion(str(q), float(str(t))) for q, t in rows]

    def scopes(self) -> list[str]:
        rows = self._db.query(
            "SELECT scope FROM votes UNION SELECT scope FROM no_match ORDER BY scope"
        )
        return [str(r[0]) for r in rows]
