"""What the shared state costs per operation: SQLite files against PostgreSQL.

    python -m bench.state_bench [--server postgresql://postgres@127.0.0.1:5432/postgres]
        [--repeats 500]

The operations the bot and the worker do per question or per job, each timed `--repeats`
times in one thread (median and p99, in ms): reading the index pointer (before every
question), storing an answer and reading it back (every answer, every button), a vote, one
job submitted, claimed and finished, and a headline claimed and marked posted. The PostgreSQL
side runs in a database of its own, created on `--server` and dropped afterwards.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from index.models import AnswerRecord, ShownHit
from index.store.backend import StateStores
from index.store.jobs import JobKind
from index.store.pg.connection import PgDatabase
from index.store.pg.migrate import upgrade

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
HIT = ShownHit("a#0-40", "a", "Harbour council", "https://x.example/a", "The wall held.", 3, 17)


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    name = f"articlebot_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    parts = urlsplit(server)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def timed(step: Callable[[int], object], repeats: int) -> tuple[float, float]:
    times = []
    for n in range(repeats):
        started = time.perf_counter()
        step(n)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def operations(stores: StateStores) -> dict[str, Callable[[int], object]]:
    pointer, answers, feedback = stores.pointer(), stores.answers(30), stores.feedback()
    queue = stores.jobs()
    pointer.write("gen-bench")

    def answer(n: int) -> None:
        record = AnswerRecord(
            f"bench-{n}", "guild:1", "When?", None, 3, "m", False, time.time(), True, ((HIT,),)
        )
        answers.add(record)
        answers.get(record.id)

    def job(n: int) -> None:
        queue.submit(JobKind.ADD_LINK, {"url": str(n)})
        claimed = queue.claim("bench", 60)
        assert claimed is not None
        queue.finish(claimed.id, "bench", {})

    def headline(n: int) -> None:
        queue.add_headline(n, {"n": n})
        (pending,) = queue.unposted_headlines(10)
        assert queue.claim_headline(pending.id, "bench", 60)
        queue.mark_posted(pending.id)

    return {
        "pointer read": lambda n: pointer.read(),
        "answer stored + read": answer,
        "vote": lambda n: feedback.vote("guild:1", f"bench-{n}", HIT, f"m{n}", -1, 3),
        "job submit + claim + finish": job,
        "headline add + list + claim + posted": headline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--repeats", type=int, default=500)
    args = parser.parse_args()
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="articlebot-state-bench-") as tmp:
        sqlite = StateStores(Path(tmp))
        results["sqlite"] = {k: timed(op, args.repeats) for k, op in operations(sqlite).items()}
        with scratch_database(args.server) as url:
            upgrade(url)
            db = PgDatabase(url).open()
            try:
                postgres = StateStores(Path(tmp) / "pg", db)
                results["postgresql"] = {
                    k: timed(op, args.repeats) for k, op in operations(postgres).items()
                }
            finally:
                db.close()
    print(f"{'operation':32} {'sqlite p50/p99 ms':>20} {'postgresql p50/p99 ms':>24}")
    for name in results["sqlite"]:
        s, p = results["sqlite"][name], results["postgresql"][name]
        print(f"{name:32} {s[0]:>9.2f} / {s[1]:<8.2f} {p[0]:>11.2f} / {p[1]:<8.2f}")


if __name__ == "__main__":
    main()
