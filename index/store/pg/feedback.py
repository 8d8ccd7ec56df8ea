"""Votes and the "no match" log (`index/store/feedback.py`'s contract) in PostgreSQL, shared
by every bot process, so the down-vote rule counts every member's vote wherever it was
pressed."""

from __future__ import annotations

import time

from index.models import NoMatchQuestion, PassageFeedback, ShownHit, VoteOutcome
from index.store.feedback import NO_MATCH_KEPT
from index.store.pg.connection import PgDatabase


class PgFeedbackStore:
    def __init__(self, db: PgDatabase) -> None:
        self.db = db

    def close(self) -> None:
        """The pool belongs to the process's stores, which close it."""

    def vote(
        self, scope: str, answer_id: str, hit: ShownHit, member: str, value: int, threshold: int
    ) -> VoteOutcome:
        with self.db.transaction() as conn:
            # The row lock makes a member's two quick presses replace one another in order.
            row = conn.execute(
                "SELECT value FROM votes WHERE answer_id = %s AND member = %s FOR UPDATE",
                (answer_id, member),
            ).fetchone()
            conn.execute(
                "INSERT INTO votes VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (answer_id, member) DO UPDATE SET scope = EXCLUDED.scope, "
                "passage_id = EXCLUDED.passage_id, article_id = EXCLUDED.article_id, "
                "title = EXCLUDED.title, quote = EXCLUDED.quote, value = EXCLUDED.value, "
                "voted_at = EXCLUDED.voted_at",
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
            counted = conn.execute(
                "SELECT count(DISTINCT member) FROM votes "
                "WHERE scope = %s AND passage_id = %s AND value = -1",
                (scope, hit.passage_id),
            ).fetchone()
        down = int(counted[0]) if counted else 0
        return VoteOutcome(
            hit.passage_id, value, None if row is None else int(row[0]), down, down >= threshold
        )

    def demoted(self, scope: str, threshold: int) -> frozenset[str]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT passage_id FROM votes WHERE scope = %s AND value = -1 "
                "GROUP BY passage_id HAVING count(DISTINCT member) >= %s",
                (scope, threshold),
            ).fetchall()
        return frozenset(str(r[0]) for r in rows)

    def passages(self, scope: str, threshold: int, limit: int) -> list[PassageFeedback]:
        """The passages with down-votes, most distinct down-voters first."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT passage_id, max(article_id), max(title), max(quote), "
                "count(DISTINCT CASE WHEN value = -1 THEN member END) AS down, "
                "count(DISTINCT CASE WHEN value = 1 THEN member END) AS up "
                "FROM votes WHERE scope = %s GROUP BY passage_id "
                "HAVING count(DISTINCT CASE WHEN value = -1 THEN member END) > 0 "
                "ORDER BY down DESC, up ASC, passage_id LIMIT %s",
                (scope, limit),
            ).fetchall()
        return [
            PassageFeedback(p, a, t, q, int(d), int(u), int(d) >= threshold)
            for p, a, t, q, d, u in rows
        ]

    def clear(self, scope: str, passage_id: str) -> int:
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM votes WHERE scope = %s AND passage_id = %s", (scope, passage_id)
            ).rowcount

    def log_no_match(self, scope: str, question: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO no_match (scope, question, asked_at) VALUES (%s,%s,%s)",
                (scope, question, time.time()),
            )
            conn.execute(
                "DELETE FROM no_match WHERE scope = %s AND id NOT IN "
                "(SELECT id FROM no_match WHERE scope = %s ORDER BY id DESC LIMIT %s)",
                (scope, scope, NO_MATCH_KEPT),
            )

    def no_match(self, scope: str, limit: int) -> list[NoMatchQuestion]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT question, asked_at FROM no_match WHERE scope = %s "
                "ORDER BY id DESC LIMIT %s",
                (scope, limit),
            ).fetchall()
        return [NoMatchQuestion(q, t) for q, t in rows]

    def scopes(self) -> list[str]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT scope FROM votes UNION SELECT scope FROM no_match ORDER BY scope"
            ).fetchall()
        return [str(r[0]) for r in rows]
